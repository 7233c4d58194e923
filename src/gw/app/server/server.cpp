#include "gw/app/server/server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "gw/app/config/provider_factory.hpp"
#include "gw/app/metrics_listener.hpp"
#include "gw/app/server/gateway_handler.hpp"
#include "gw/app/server/model_refresh.hpp"
#include "gw/net/background.hpp"

namespace gw::app {
namespace {

std::shared_ptr<providers::ModelCatalog> build_catalog(const ServerConfig& config) {
  std::vector<std::unique_ptr<providers::Provider>> list;
  for (const auto& p : config.providers) {
    list.push_back(make_provider(p));
    spdlog::info("provider {}: {}{}", p.name, p.base_url, p.api_key.empty() ? "" : " (with key)");
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  auto catalog = std::make_shared<providers::ModelCatalog>(
      std::move(list), config.echo_enabled,
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  for (const auto& provider : catalog->providers()) {
    if (auto models = provider->configured_models(); !models.empty()) {
      catalog->set_models(*provider, std::move(models));
    }
  }
  return catalog;
}

}  // namespace

int run_server(const ServerConfig& config) {
  auto context = std::make_shared<GatewayContext>();
  context->catalog = build_catalog(config);
  context->api_keys = config.api_keys;
  context->limits = config.limits;
  if (config.providers.empty()) {
    spdlog::info("no provider configured: serving the built-in 'echo' model");
  } else if (config.echo_enabled) {
    spdlog::info("the built-in 'echo' model is enabled");
  }
  if (config.api_keys.empty()) {
    spdlog::warn("GATEWAY_API_KEYS is not set: the API is open to every client");
  } else {
    spdlog::info("client authentication on: {} key(s)", config.api_keys.size());
  }

  MetricsListener metrics_listener;
  net::HttpServer server(config.http);
  const auto port = bind_listeners(server, config.http.host, config.metrics_port, metrics_listener,
                                   *context->metrics);
  if (!port) {
    return 1;
  }
  server.run([&](boost::asio::io_context& io, size_t shard) -> std::shared_ptr<net::HttpHandler> {
    auto handler = std::make_shared<GatewayHandler>(context, io, config.proxies, config.timeouts);
    if (shard == 0 && !context->catalog->providers().empty()) {
      net::spawn_background(
          io.get_executor(), "model-refresh",
          [catalog = context->catalog, client = &handler->client(), &config] {
            return keep_models_current(catalog, client, config.models_refresh);
          },
          [metrics = context->metrics] { metrics->background_failure("model-refresh"); });
    }
    if (shard == 0) {
      spdlog::info("llm-gateway {} listening on http://{}:{} ({} thread(s))", GW_VERSION,
                   config.http.host, *port, server.shard_count());
    }
    return handler;
  });
  spdlog::info("stopped");
  return 0;
}

}  // namespace gw::app
