#pragma once

#include <chrono>
#include <memory>

#include "gw/app/routing/model_table.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/proxy/model_api.hpp"

namespace gw::app {

struct RoutingSettings {
  // From the request's arrival to the start of its answer, every attempt included.
  std::chrono::milliseconds request_timeout{600'000};
  net::UpstreamLimits limits;
};

// Serves a request for a table model: a deployment picked by pool (least loaded per weight,
// skipping open circuits and cooldowns); on a 429, a 5xx, a connect error, a reset or a timeout
// before the answer started, another deployment (the same one once more, after a short backoff,
// when it is the only one), then the model's fallbacks in order when the cause is one the model
// falls back on; all within RoutingSettings::request_timeout, each attempt's first byte within
// what is left of it. A 429 cools its deployment down for its Retry-After. A verdict on the
// request itself (another 4xx) is the client's answer at once. Nothing is replayed once an
// answer has started: a stream cut later ends with its final error event. `table` is kept alive
// until the request ends.
net::Task<void> serve_table_model(net::Exchange& exchange, const proxy::ModelRequest& request,
                                  std::shared_ptr<const ModelTable> table, const TableModel& model,
                                  net::UpstreamClient& client, metrics::Metrics& metrics,
                                  const RoutingSettings& settings);

}  // namespace gw::app
