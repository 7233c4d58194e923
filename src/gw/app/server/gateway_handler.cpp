#include "gw/app/server/gateway_handler.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>

#include "gw/app/server/model_refresh.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/key_check.hpp"
#include "gw/providers/common/model_list.hpp"
#include "gw/proxy/echo.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::app {

using proxy::loop_error;
using proxy::reply_echo;
using proxy::serve_metrics;
namespace {

using net::Exchange;
using net::Response;
using net::Task;

core::Error unknown_path(const net::Request& request) {
  return {core::Errc::kNotFound,
          fmt::format("Invalid URL ({} {})", request.method, request.path())};
}

Task<void> send_error(Exchange& exchange, core::Error error) {
  return net::respond_error(exchange.writer, std::move(error));
}

}  // namespace

GatewayHandler::GatewayHandler(std::shared_ptr<const GatewayContext> context,
                               boost::asio::io_context& io, net::ProxySettings proxies,
                               net::UpstreamTimeouts timeouts)
    : ObservedHandler(*context->metrics, context->access_log, context->dashboard.get()),
      context_(std::move(context)),
      client_(io.get_executor(), std::move(proxies), timeouts) {}

// Not a coroutine: each route's task is returned for the session to await (one coroutine frame
// fewer per request). What the tasks refer to outlives them: the exchange, this handler, owned
// arguments.
Task<void> GatewayHandler::dispatch(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  const std::string_view method = request.method;

  if (path == "/health") {
    if (!request.is_get()) {
      return net::respond_method_not_allowed(exchange.writer, exchange.request, "GET, HEAD");
    }
    return net::respond(exchange.writer,
                        Response{200, "application/json", {}, R"({"status":"ok"})"});
  }
  if (path == "/metrics") {
    return serve_metrics(exchange, *context_->metrics);
  }
  if (!path.starts_with("/v1/")) {
    return send_error(exchange, unknown_path(request));
  }
  if (!context_->api_keys.empty() && !net::client_key_matches(request, context_->api_keys)) {
    return send_error(exchange, core::Error(core::Errc::kUnauthorized,
                                            std::string(net::client_key_refusal(request))));
  }
  if (auto api = proxy::model_api_at(path)) {
    if (method != "POST") {
      return net::respond_method_not_allowed(exchange.writer, exchange.request, "POST");
    }
    return model_request(exchange, *api);
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    return models_request(exchange);
  }
  return send_error(exchange, unknown_path(request));
}

Task<void> GatewayHandler::models_request(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  if (!request.is_get()) {
    co_return co_await net::respond_method_not_allowed(exchange.writer, exchange.request,
                                                       "GET, HEAD");
  }
  const auto& catalog = *context_->catalog;
  // Anthropic's clients (which send anthropic-version with every request) read its shapes.
  const bool anthropic = !request.header("anthropic-version").empty();
  if (path == "/v1/models") {
    if (!anthropic) {
      co_return co_await net::respond(exchange.writer,
                                      Response{200, "application/json", {}, catalog.list_json()});
    }
    std::vector<providers::ModelEntry> models;
    for (auto& model : catalog.public_models()) {
      models.push_back(std::move(model.entry));
    }
    auto page = providers::anthropic_model_page(models, request.query());
    if (!page) {
      co_return co_await send_error(exchange, page.error());
    }
    co_return co_await net::respond(exchange.writer,
                                    Response{200, "application/json", {}, std::move(*page)});
  }
  const std::string id = net::percent_decode(path.substr(std::string_view("/v1/models/").size()));
  if (auto model = catalog.public_model(id)) {
    std::string body =
        anthropic ? providers::anthropic_model_json(model->entry) : *catalog.model_json(id);
    co_return co_await net::respond(exchange.writer,
                                    Response{200, "application/json", {}, std::move(body)});
  }
  core::Error error(core::Errc::kModelNotFound,
                    fmt::format("The model '{}' does not exist", core::bounded_text(id)), "model");
  co_return co_await send_error(exchange, error);
}

bool GatewayContext::claim_listing_on_demand() const {
  constexpr int64_t kOnDemandListingInterval = 5000;  // ms
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t last = last_listing_on_demand.load(std::memory_order_relaxed);
  return now - last >= kOnDemandListingInterval &&
         last_listing_on_demand.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

tl::expected<providers::Route, core::Error> GatewayHandler::route_for(Exchange& exchange,
                                                                      const std::string& model) {
  proxy::log_of(exchange).model = model;
  auto route = context_->catalog->resolve(model);
  if (route) {
    proxy::log_of(exchange).model_known = route->listed;
    proxy::log_of(exchange).provider =
        route->provider == nullptr ? "echo" : route->provider->name();
  }
  return route;
}

bool GatewayHandler::relist_for(const tl::expected<providers::Route, core::Error>& route) const {
  return !route && route.error().errc == core::Errc::kModelNotFound &&
         !context_->catalog->providers().empty() && context_->claim_listing_on_demand();
}

Task<void> GatewayHandler::model_request(Exchange& exchange, proxy::ModelApi api) {
  if (auto loop = loop_error(exchange.request)) {
    co_return co_await send_error(exchange, *loop);
  }
  auto request = proxy::inspect_model_request(api, exchange.request.body);
  if (!request) {
    co_return co_await send_error(exchange, request.error());
  }
  // The model table first: its names win over the providers' own.
  if (const auto& table = context_->table.read()) {
    if (const TableModel* model = table->find(request->model())) {
      proxy::log_of(exchange).model = request->model();
      // `table` (this thread's reference) is copied into the routing's frame: the request keeps
      // the table it started with across its suspensions.
      co_return co_await serve_table_model(exchange, *request, table, *model, client_,
                                           *context_->metrics, context_->routing);
    }
  }
  auto route = route_for(exchange, request->model());
  if (relist_for(route)) {
    co_await refresh_models_once(*context_->catalog, client_);
    route = route_for(exchange, request->model());
  }
  if (!route) {
    co_return co_await send_error(exchange, route.error());
  }
  if (route->provider == nullptr && api == proxy::ModelApi::kChat) {
    co_return co_await reply_echo(exchange, *request->chat());
  }
  if (route->provider == nullptr) {
    co_return co_await send_error(exchange, proxy::echo_refusal(api));
  }
  co_await proxy::proxy_model_request(exchange, *request, *route->provider, route->upstream_model,
                                      client_, *context_->metrics, context_->routing.limits);
}

}  // namespace gw::app
