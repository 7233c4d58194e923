#pragma once

#include <memory>

#include "gw/app/config/server_config.hpp"
#include "gw/providers/provider.hpp"

namespace gw::app {

// The adapter for a configured provider (its base URL already validated).
std::unique_ptr<providers::Provider> make_provider(const ProviderConfig& config);

}  // namespace gw::app
