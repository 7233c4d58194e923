#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gw/app/config/cluster_config.hpp"
#include "gw/app/worker/controller_targets.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http1_parser.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"
#include "gw/proxy/dashboard.hpp"
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
  std::vector<net::Endpoint> controllers;  // config.controller_urls, parsed
  // Some controller has accepted this worker: a controller that cannot be reached is then tried
  // for as long as the worker runs, instead of ending it after REGISTRY_RETRY_COUNT attempts.
  std::atomic<bool> registered_somewhere{false};
  // Controllers still within their first REGISTRY_RETRY_COUNT attempts: the worker gives up only
  // once none is left trying and none has accepted it.
  std::atomic<int64_t> first_attempts{0};
  std::atomic<int64_t> load{0};  // chat requests in progress, all shards
  std::atomic<bool> draining{false};
  std::function<void()> give_up;  // registration failed for good: stop with exit code 1
  ControllerLinks links;          // for the dashboard
  metrics::Metrics metrics;
  std::unique_ptr<const proxy::Dashboard> dashboard;  // /ui
};

// The dashboard's view of the worker: its model, its backend, its controllers; `state` outlives
// its use.
proxy::DashboardSource worker_dashboard_source(const WorkerState& state);

// A worker's HTTP API on one shard (chat completions through the backend's adapter, /health,
// /v1/models) and, on shard 0, its registration with the controller.
class WorkerHandler final : public proxy::ObservedHandler {
 public:
  WorkerHandler(std::shared_ptr<WorkerState> state, boost::asio::io_context& io);

  // Keeps this worker registered with the controllers of CONTROLLER_URL entry `index`: the URL's
  // controller, or, when its host name resolves to several addresses, the controller at each
  // (resolved again every heartbeat interval: controllers come and go). Shard 0 only, one per
  // entry; ends when the worker drains.
  net::Task<void> follow_controllers(size_t index);  // worker_registration.cpp
  // Deregisters from every controller, all at once (on SIGTERM, before draining).
  net::Task<void> deregister();  // worker_registration.cpp

 private:
  net::Task<void> dispatch(net::Exchange& exchange) override;
  // A model API's POST within the worker's capacity (a 429 marked as the worker's own beyond
  // it): checked and forwarded to the backend.
  net::Task<void> model_request(net::Exchange& exchange, proxy::ModelApi api);
  // Null when this worker serves `model` (noted in the exchange's log); else the 404.
  std::optional<core::Error> accept_model(net::Exchange& exchange, const std::string& model) const;
  net::Task<void> health(net::Exchange& exchange);
  // Registers with `target` (retrying with backoff), then heartbeats; re-registers when the
  // controller does not know this worker (it restarted). Ends when the worker drains or the
  // target is retired.
  net::Task<void> stay_registered(std::shared_ptr<ControllerTarget> target);
  // stay_registered's two phases: the first registration with its retries (false: stop here),
  // then a heartbeat each interval, registering again when the controller forgot the worker.
  net::Task<bool> register_first(const std::shared_ptr<ControllerTarget>& target);
  net::Task<void> keep_beating(const std::shared_ptr<ControllerTarget>& target);
  // Starts stay_registered for a new target (in the background, supervised).
  void add_target(const std::shared_ptr<ControllerTarget>& target);
  // One registration attempt: 1 registered, 0 try again, -1 refused for good (bad key or body).
  net::Task<int> register_once(const ControllerTarget& target);  // worker_registration.cpp
  net::Task<void> deregister_from(std::shared_ptr<ControllerTarget> target, std::string path);
  // A call to a controller's internal API; the status (0: no answer) and body.
  net::Task<std::pair<int, std::string>> call_controller(const ControllerTarget& target,
                                                         std::string_view method, std::string path,
                                                         std::string body);

  std::shared_ptr<WorkerState> state_;
  boost::asio::io_context& io_;
  net::UpstreamClient client_;                              // to the backend
  net::UpstreamClient health_client_;                       // to the backend, short timeouts
  net::UpstreamClient control_client_;                      // to the controllers
  std::vector<std::shared_ptr<ControllerTarget>> targets_;  // shard 0: the controllers followed
};

}  // namespace gw::app
