#include "gw/app/controller/controller.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gw/app/config/file_watch.hpp"
#include "gw/app/controller/controller_handler.hpp"
#include "gw/app/metrics_listener.hpp"
#include "gw/net/background.hpp"
#include "gw/net/http_server.hpp"

namespace gw::app {
namespace {

// SIGHUP, or the file changed: a valid file replaces the table for new requests (those in flight
// keep theirs); an invalid one is refused and the table in use stays.
void reload_table(const ControllerConfig& config, ControllerState& state) {
  auto read = config.read_table();
  if (!read) {
    spdlog::error("model table not reloaded, the previous one stays in use: {}", read.error());
    return;
  }
  spdlog::info("model table reloaded from {}: {} model(s)", config.table_path, read->models.size());
  state.set_table(std::move(read->models));
}

// What an operator should know before the first request: how the internal API is guarded, client
// authentication, and each table model's workers and fallbacks.
void log_start_up(const ControllerConfig& config) {
  if (config.internal_api_key.empty() && config.internal_api_open) {
    spdlog::warn(
        "INTERNAL_API_KEY is not set and INTERNAL_API_OPEN=1: ANY client that reaches this port "
        "can register a worker, receive client prompts and answer them");
  } else if (config.internal_api_key.empty()) {
    spdlog::warn(
        "INTERNAL_API_KEY is not set: the internal API (/internal/*) answers loopback clients "
        "only; set INTERNAL_API_KEY for workers on other hosts");
  }
  if (!config.api_keys.empty()) {
    spdlog::info("client authentication on: {} key(s)", config.api_keys.size());
  }
  for (const auto& model : config.table) {
    spdlog::info("model {}: workers of {}{}", model.name, worker_model_of(model),
                 model.fallbacks.empty()
                     ? std::string()
                     : fmt::format("; falls back to {}", fmt::join(model.fallbacks, ", ")));
  }
}

// One I/O thread's handler; the first thread also watches the table file and runs the health
// check.
std::shared_ptr<ControllerHandler> start_shard(const ControllerConfig& config,
                                               const std::shared_ptr<ControllerState>& state,
                                               boost::asio::io_context& io, size_t shard,
                                               const net::HttpServer& server, uint16_t port) {
  auto handler = std::make_shared<ControllerHandler>(state, io);
  state->handlers.push_back(handler.get());
  if (shard != 0) {
    return handler;
  }
  if (config.read_table) {
    watch_file(io.get_executor(), config.table_path,
               [&config, &state = *state] { reload_table(config, state); });
  }
  net::spawn_background(
      io.get_executor(), "health-check", [raw = handler.get()] { return raw->check_health(); },
      [&state = *state] { state.metrics.background_failure("health-check"); });
  spdlog::info("llm-gateway {} controller listening on {}://{}:{} ({} thread(s))", GW_VERSION,
               config.http.tls_cert_file.empty() ? "http" : "https", config.http.host, port,
               server.shard_count());
  state->dashboard->log_access();
  return handler;
}

}  // namespace

int run_controller(const ControllerConfig& config) {
  auto state = std::make_shared<ControllerState>(config);
  log_start_up(config);
  state->dashboard = std::make_unique<proxy::Dashboard>(controller_dashboard_source(*state),
                                                        config.admin_api_key, state->metrics);
  state->registry.set_capacity_listener(
      [raw = state.get()](const std::string& model, bool one_slot) {
        raw->capacity_freed(model, one_slot);
      });

  MetricsListener metrics_listener;
  net::HttpServer server(config.http);
  if (config.read_table) {
    // SIGHUP: a valid file replaces the table for new requests; an invalid one is refused.
    server.set_reload_hook([&config, &state = *state] { reload_table(config, state); });
  }
  const auto port = bind_listeners(server, config.http.host, config.metrics_port, metrics_listener,
                                   state->metrics);
  if (!port) {
    return 1;
  }
  server.run([&](boost::asio::io_context& io, size_t shard) -> std::shared_ptr<net::HttpHandler> {
    return start_shard(config, state, io, shard, server, *port);
  });
  // Leases still held by requests cut off by the drain timeout end while the server is
  // destroyed; by then no shard may be woken.
  state->serving.store(false, std::memory_order_release);
  spdlog::info("stopped");
  return 0;
}

}  // namespace gw::app
