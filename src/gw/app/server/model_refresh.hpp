#pragma once

#include <chrono>
#include <memory>

#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/catalog.hpp"

namespace gw::app {

// Lists every provider's models once (providers whose models come from configuration are
// skipped) and updates the catalog; a provider that cannot be listed keeps its previous list.
// Returns whether every listing succeeded. Runs on `client`'s executor.
net::Task<bool> refresh_models_once(providers::ModelCatalog& catalog, net::UpstreamClient& client);

// Keeps the catalog current: at start-up, then every `interval`. After a failed listing (a
// provider started after the gateway), again after 1, 2, 4 ... seconds, up to `interval`.
// `client` must outlive the task (it is the shard handler's, torn down after the task's frame).
net::Task<void> keep_models_current(std::shared_ptr<providers::ModelCatalog> catalog,
                                    net::UpstreamClient* client,
                                    std::chrono::milliseconds interval);

}  // namespace gw::app
