#include "gw/app/worker/worker.hpp"

#include <spdlog/spdlog.h>

#include "gw/app/config/provider_factory.hpp"
#include "gw/app/metrics_listener.hpp"
#include "gw/app/worker/worker_handler.hpp"
#include "gw/net/background.hpp"
#include "gw/net/http_server.hpp"

namespace gw::app {

int run_worker(const WorkerConfig& config) {
  auto state = std::make_shared<WorkerState>(config, make_provider(config.backend));
  for (const auto& url : config.controller_urls) {
    state->controllers.push_back(*net::Endpoint::parse(url));  // validated by the config
  }
  state->dashboard = std::make_unique<proxy::Dashboard>(worker_dashboard_source(*state),
                                                        config.admin_api_key, state->metrics);
  spdlog::info("worker {}: model {} on {} backend {} (as '{}'), capacity {}", config.worker_id,
               config.model_id, config.backend.name, config.backend.base_url, config.backend_model,
               config.capacity);

  MetricsListener metrics_listener;
  net::HttpServer server(config.http);
  const auto port = bind_listeners(server, config.http.host, config.metrics_port, metrics_listener,
                                   state->metrics);
  if (!port) {
    return 1;
  }
  state->advertise_url =
      config.advertise_url.empty()
          ? default_advertise_url(config.http.host, *port, !config.http.tls_cert_file.empty())
          : config.advertise_url;
  bool gave_up = false;
  state->give_up = [&] {
    gave_up = true;
    server.stop();
  };
  WorkerHandler* first = nullptr;
  server.set_shutdown_hook([&]() { return first->deregister(); });
  server.run([&](boost::asio::io_context& io, size_t shard) -> std::shared_ptr<net::HttpHandler> {
    auto handler = std::make_shared<WorkerHandler>(state, io);
    if (shard == 0) {
      first = handler.get();
      for (size_t i = 0; i < state->controllers.size(); ++i) {
        net::spawn_background(
            io.get_executor(), "registration",
            [raw = handler.get(), i] { return raw->follow_controllers(i); },
            [&state] { state->metrics.background_failure("registration"); });
      }
      spdlog::info("llm-gateway {} worker listening on {}://{}:{} ({} thread(s))", GW_VERSION,
                   config.http.tls_cert_file.empty() ? "http" : "https", config.http.host, *port,
                   server.shard_count());
      state->dashboard->log_access();
    }
    return handler;
  });
  spdlog::info("stopped");
  return gave_up ? 1 : 0;
}

}  // namespace gw::app
