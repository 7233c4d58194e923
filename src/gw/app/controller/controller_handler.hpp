#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "gw/api/chat_request.hpp"
#include "gw/app/config/cluster_config.hpp"
#include "gw/app/controller/queue_place.hpp"
#include "gw/cluster/registry.hpp"
#include "gw/core/published.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http1_parser.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/io.hpp"
#include "gw/net/upstream.hpp"
#include "gw/proxy/dashboard.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"

namespace gw::app {

class ControllerHandler;

// What every shard of the controller shares.
struct ControllerState {
  explicit ControllerState(ControllerConfig c);

  ControllerConfig config;
  std::string worker_authorization;  // "Bearer <INTERNAL_API_KEY>", or empty
  cluster::WorkerRegistry registry;
  int64_t started_at;  // unix seconds, the "created" of /v1/models entries
  // Requests waiting for a worker below capacity, across shards (bounded by queue_size).
  std::atomic<size_t> queued{0};
  // Filled before serving starts; cleared (under the registry's listener) when serving ends.
  std::vector<ControllerHandler*> handlers;
  std::atomic<bool> serving{true};
  metrics::Metrics metrics;
  std::unique_ptr<const proxy::Dashboard> dashboard;  // /ui

  // Wakes waiting requests for `model` on every shard that has some: the oldest one
  // (`one_slot`: a request finished) or all of them. Called whenever capacity may have been freed.
  void capacity_freed(const std::string& model, bool one_slot);

  // The model table's models (aliases and fallbacks), swapped by a reload. Valid until this
  // thread's next read (core::Published::read): a request copies the pointer to keep the table
  // it started with.
  const std::shared_ptr<const std::vector<TableModelConfig>>& table() const {
    return table_.read();
  }
  void set_table(std::vector<TableModelConfig> models) {
    table_.publish(std::make_shared<const std::vector<TableModelConfig>>(std::move(models)));
  }

 private:
  core::Published<std::vector<TableModelConfig>> table_;
};

// The internal API's operations on workers, shared with the dashboard's worker actions
// (controller_internal.cpp): POST /internal/workers/register, DELETE /internal/workers/{id}.
net::Task<void> register_worker(net::Exchange& exchange, cluster::WorkerRegistry& registry);
net::Task<void> deregister_worker(net::Exchange& exchange, cluster::WorkerRegistry& registry,
                                  std::string_view raw_id);
// The 404 both give for an id the registry does not hold.
core::Error unknown_worker(std::string_view id);

// The dashboard's view of the controller's workers and its worker actions
// (controller_dashboard.cpp); `state` outlives its use.
proxy::DashboardSource controller_dashboard_source(ControllerState& state);

// A model request on its way to a worker: the worker's endpoint and what the controller read.
struct ForwardedCall {
  const std::string& model;
  std::string_view path;  // the worker's endpoint, e.g. "/v1/chat/completions"
  bool stream = false;
  // Chat and legacy completions: a stream's usage is asked for (cluster::kStreamUsageHeader; the
  // usage chunk is then kept from a client that did not ask); null for the other APIs.
  const api::ChatRequestInfo* chat = nullptr;
  // The model's JSON string token in the body, renamed for an alias's or a fallback's workers.
  size_t model_begin = 0;
  size_t model_end = 0;
};

// The controller's HTTP API on one shard: the public OpenAI API (forwarded to workers with
// failover), the internal worker API, and (on shard 0) the health checker.
class ControllerHandler final : public proxy::ObservedHandler {
 public:
  ControllerHandler(std::shared_ptr<ControllerState> state, boost::asio::io_context& io);

  // Sweeps silent workers and probes suspect ones every HEARTBEAT_CHECK_INTERVAL. Shard 0 only.
  net::Task<void> check_health();
  // This shard's queued requests; wake() them on this shard's thread.
  WaitQueue& wait_queue() { return wait_queue_; }
  boost::asio::io_context& io() { return io_; }

 private:
  net::Task<void> dispatch(net::Exchange& exchange) override;
  // GET /health: the workers known, healthy, and the models they serve.
  net::Task<void> health(net::Exchange& exchange);
  net::Task<void> public_api(net::Exchange& exchange);
  // GET /v1/models and /v1/models/{id}: the table's models and the healthy workers'.
  net::Task<void> models_api(net::Exchange& exchange);
  // The models GET /v1/models lists: the table's, then those of healthy workers.
  std::vector<std::string> listed_models() const;
  net::Task<void> internal_api(net::Exchange& exchange);  // controller_internal.cpp
  // A model API's POST (at `path`): checked, then forwarded to a worker of its model
  // (controller_forward.cpp).
  net::Task<void> model_request(net::Exchange& exchange, proxy::ModelApi api,
                                std::string_view path);
  net::Task<void> probe(cluster::ProbeTarget target);

  friend class ModelForwarding;  // controller_forward.cpp: uses the client and the wait queue

  std::shared_ptr<ControllerState> state_;
  boost::asio::io_context& io_;
  net::UpstreamClient client_;
  // A model request's send to a worker: one that nothing answered is sent again when failover
  // may send it to another worker anyway.
  net::SendOptions forward_options_;
  net::UpstreamClient probe_client_;
  WaitQueue wait_queue_;
};

}  // namespace gw::app
