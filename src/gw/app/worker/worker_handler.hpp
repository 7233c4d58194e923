#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gw/app/config/cluster_config.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http1_parser.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"

namespace gw::app {

// What every shard of a worker shares.
struct WorkerState {
  WorkerState(WorkerConfig c, std::unique_ptr<providers::Provider> b)
      : config(std::move(c)), backend(std::move(b)) {}

  WorkerConfig config;
  std::unique_ptr<providers::Provider> backend;
  std::string advertise_url;
  net::Endpoint controller;
  std::atomic<int64_t> load{0};  // chat requests in progress, all shards
  std::atomic<bool> draining{false};
  std::function<void()> give_up;  // registration failed for good: stop with exit code 1
  metrics::Metrics metrics;
};

// A worker's HTTP API on one shard (chat completions through the backend's adapter, /health,
// /v1/models) and, on shard 0, its registration with the controller.
class WorkerHandler final : public proxy::ObservedHandler {
 public:
  WorkerHandler(std::shared_ptr<WorkerState> state, boost::asio::io_context& io);

  // Registers (retrying with backoff), then heartbeats; re-registers when the controller does
  // not know this worker. Shard 0 only; ends when the worker drains.
  net::Task<void> stay_registered();  // worker_registration.cpp
  // Deregisters from the controller (on SIGTERM, before draining).
  net::Task<void> deregister();  // worker_registration.cpp

 private:
  net::Task<void> dispatch(net::Exchange& exchange) override;
  // A model API's POST within the worker's capacity (a 429 marked as the worker's own beyond
  // it): checked and forwarded to the backend.
  net::Task<void> model_request(net::Exchange& exchange, proxy::ModelApi api);
  // Null when this worker serves `model` (noted in the exchange's log); else the 404.
  std::optional<core::Error> accept_model(net::Exchange& exchange, const std::string& model) const;
  net::Task<void> health(net::Exchange& exchange);
  // One registration attempt: 1 registered, 0 try again, -1 refused for good (bad key or body).
  net::Task<int> register_once();  // worker_registration.cpp
  // POST to the controller's internal API; the status (0: no answer) and body.
  net::Task<std::pair<int, std::string>> call_controller(std::string_view method, std::string path,
                                                         std::string body);

  std::shared_ptr<WorkerState> state_;
  boost::asio::io_context& io_;
  net::UpstreamClient client_;          // to the backend
  net::UpstreamClient health_client_;   // to the backend, short timeouts
  net::UpstreamClient control_client_;  // to the controller
};

}  // namespace gw::app
