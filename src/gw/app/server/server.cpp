#include "gw/app/server/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "gw/app/config/file_watch.hpp"
#include "gw/app/config/provider_factory.hpp"
#include "gw/app/metrics_listener.hpp"
#include "gw/app/routing/table_metrics.hpp"
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

// The table built from `models`, logged (endpoints, never keys), and its names listed.
std::shared_ptr<const ModelTable> build_table(const std::string& path,
                                              const std::vector<TableModelConfig>& models,
                                              const ServerConfig& config, GatewayContext& context) {
  auto table = std::make_shared<const ModelTable>(ModelTableConfig{path, models}, config.breaker,
                                                  context.metrics.get());
  std::vector<std::string> names;
  for (const auto& model : models) {
    names.push_back(model.name);
    std::vector<std::string> deployments;
    for (const auto& deployment : model.deployments) {
      deployments.push_back(fmt::format("{} ({}, weight {})", deployment.name,
                                        deployment.provider.base_url, deployment.weight));
    }
    spdlog::info("model {}: {}{}", model.name, fmt::join(deployments, ", "),
                 model.fallbacks.empty()
                     ? std::string()
                     : fmt::format("; falls back to {}", fmt::join(model.fallbacks, ", ")));
  }
  context.catalog->set_table_models(std::move(names));
  return table;
}

// SIGHUP: the file read again; a valid table replaces the old one for new requests (those in
// flight finish on theirs), an invalid one is refused and the old table stays.
void reload_table(const ServerConfig& config, GatewayContext& context) {
  auto read = config.read_table();
  if (!read) {
    spdlog::error("model table not reloaded, the previous one stays in use: {}", read.error());
    return;
  }
  context.table.publish(build_table(config.table_path, read->models, config, context));
  spdlog::info("model table reloaded from {}: {} model(s)", config.table_path, read->models.size());
}

}  // namespace

int run_server(const ServerConfig& config) {
  auto context = std::make_shared<GatewayContext>();
  context->catalog = build_catalog(config);
  context->api_keys = config.api_keys;
  context->access_log = config.access_log;
  context->routing.limits = config.limits;
  context->routing.request_timeout = config.request_timeout;
  if (!config.table_path.empty()) {
    context->table.publish(build_table(config.table_path, config.table, config, *context));
    add_table_metrics(*context->metrics, context->table);
  }
  context->dashboard = std::make_unique<proxy::Dashboard>(gateway_dashboard_source(*context),
                                                          config.admin_api_key, *context->metrics);
  if (config.providers.empty() && config.table.empty()) {
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
  if (config.read_table) {
    server.set_reload_hook([&config, &context = *context] { reload_table(config, context); });
  }
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
    if (shard == 0 && config.read_table) {
      watch_file(io.get_executor(), config.table_path,
                 [&config, &context = *context] { reload_table(config, context); });
    }
    if (shard == 0) {
      spdlog::info("llm-gateway {} listening on {}://{}:{} ({} thread(s))", GW_VERSION,
                   config.http.tls_cert_file.empty() ? "http" : "https", config.http.host, *port,
                   server.shard_count());
      context->dashboard->log_access();
    }
    return handler;
  });
  spdlog::info("stopped");
  return 0;
}

}  // namespace gw::app
