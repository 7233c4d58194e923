#include "gw/app/worker/worker_handler.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/app/server/gateway_handler.hpp"
#include "gw/cluster/worker_messages.hpp"
#include "gw/core/scoped_count.hpp"
#include "gw/net/key_check.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::app {

using proxy::loop_error;
using proxy::serve_metrics;
namespace {

namespace json = boost::json;
using net::Exchange;
using net::Task;

constexpr std::chrono::milliseconds kHealthTimeout{2000};
constexpr net::UpstreamTimeouts kControlTimeouts{std::chrono::milliseconds(3000),
                                                 std::chrono::milliseconds(5000),
                                                 std::chrono::milliseconds(5000)};

}  // namespace

proxy::DashboardSource worker_dashboard_source(const WorkerState& state) {
  auto models = [&state] {
    proxy::DashboardBackend backend{std::string(state.backend->name()), "provider"};
    backend.in_flight = state.load.load();
    backend.capacity = state.config.capacity;
    backend.draining = state.draining.load();
    return std::vector<proxy::DashboardModel>{{state.config.model_id, {std::move(backend)}}};
  };
  auto controllers = [&state] {
    std::vector<proxy::ControllerLink> links;
    for (auto& [label, registered] : state.links.snapshot()) {
      links.push_back({label, registered});
    }
    return links;
  };
  return {"worker", std::move(models), std::move(controllers), {}};
}

WorkerHandler::WorkerHandler(std::shared_ptr<WorkerState> state, boost::asio::io_context& io)
    : ObservedHandler(state->metrics, state->config.access_log, state->dashboard.get()),
      state_(std::move(state)),
      io_(io),
      client_(io.get_executor(), state_->config.proxies, state_->config.timeouts),
      health_client_(io.get_executor(), state_->config.proxies,
                     {kHealthTimeout, kHealthTimeout, kHealthTimeout}),
      control_client_(io.get_executor(), {}, kControlTimeouts) {}

// Not a coroutine: each route's task is returned for the session to await (one coroutine frame
// fewer per request); what the tasks refer to outlives them.
Task<void> WorkerHandler::dispatch(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  if (path == "/metrics") {
    return serve_metrics(exchange, state_->metrics);
  }
  if (path == "/health" && request.is_get()) {
    return health(exchange);
  }
  const auto& key = state_->config.internal_api_key;
  if (path.starts_with("/v1/") && !key.empty() &&
      !net::service_key_matches(request, key, "x-internal-api-key")) {
    return net::respond_error(
        exchange.writer, {core::Errc::kUnauthorized,
                          "This worker is reached through its controller: send INTERNAL_API_KEY as "
                          "'Authorization: Bearer <key>'."});
  }
  if (auto api = proxy::model_api_at(path); api && request.method == "POST") {
    return model_request(exchange, *api);
  }
  if (path == "/v1/models" && request.is_get()) {
    json::object model{{"id", state_->config.model_id},
                       {"object", "model"},
                       {"created", 0},
                       {"owned_by", state_->config.worker_id}};
    net::Response response{
        200,
        "application/json",
        {},
        json::serialize(json::object{{"object", "list"}, {"data", json::array{model}}})};
    return net::respond(exchange.writer, std::move(response));
  }
  return net::respond_error(
      exchange.writer,
      {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", request.method, path)});
}

Task<void> WorkerHandler::model_request(Exchange& exchange, proxy::ModelApi api) {
  if (auto loop = loop_error(exchange.request)) {
    co_return co_await net::respond_error(exchange.writer, *loop);
  }
  const auto& config = state_->config;
  core::ScopedCount load_slot(state_->load);  // in the worker's load however the request ends
  if (state_->load.load(std::memory_order_relaxed) > config.capacity) {
    core::Error full(core::Errc::kRateLimited,
                     fmt::format("Worker {} is at its capacity of {} concurrent requests",
                                 config.worker_id, config.capacity));
    full.retry_after = "1";
    auto response = net::error_response(full, exchange.writer.error_format);
    response.headers.push_back({std::string(cluster::kWorkerFullHeader), "1"});
    co_await exchange.writer.send(std::move(response));
    co_return;
  }
  auto request = proxy::inspect_model_request(api, exchange.request.body);
  if (!request) {
    co_return co_await net::respond_error(exchange.writer, request.error());
  }
  if (auto refused = accept_model(exchange, request->model())) {
    co_return co_await net::respond_error(exchange.writer, *refused);
  }
  proxy::log_of(exchange).report_checked_usage =
      exchange.request.header(cluster::kCheckedUsageHeader) == "1";
  if (auto* chat = std::get_if<api::ChatRequestInfo>(&request->info)) {
    chat->usage_for_controller = exchange.request.header(cluster::kStreamUsageHeader) == "1";
  }
  co_await proxy::proxy_model_request(exchange, *request, *state_->backend, config.backend_model,
                                      client_, state_->metrics, config.limits);
}

std::optional<core::Error> WorkerHandler::accept_model(Exchange& exchange,
                                                       const std::string& model) const {
  const auto& config = state_->config;
  proxy::log_of(exchange).model = model;
  if (model != config.model_id && model != config.backend_model) {
    return core::Error{core::Errc::kModelNotFound,
                       fmt::format("This worker serves '{}', not '{}'", config.model_id, model),
                       "model"};
  }
  proxy::log_of(exchange).provider = config.backend.name;
  proxy::log_of(exchange).model_known = true;
  return std::nullopt;
}

Task<void> WorkerHandler::health(Exchange& exchange) {
  const auto& config = state_->config;
  // Whether the backend answers: its model listing, when it has one.
  std::string backend = "not_checked";
  auto request = state_->backend->models_request();
  if (!request.path.empty()) {
    auto sent = co_await health_client_.send(state_->backend->endpoint(), request);
    if (!sent) {
      backend = "unreachable";
    } else {
      auto body = co_await (*sent)->read_all(8u << 20);
      backend = (*sent)->status() == 200 && body ? "ok" : fmt::format("http_{}", (*sent)->status());
    }
  }
  const bool ok = backend == "ok" || backend == "not_checked";
  json::object status{{"status", ok ? "ok" : "unavailable"},
                      {"worker_id", config.worker_id},
                      {"model_id", config.model_id},
                      {"backend", backend},
                      {"current_load", state_->load.load(std::memory_order_relaxed)},
                      {"capacity", config.capacity},
                      {"draining", state_->draining.load()}};
  net::Response response{ok ? 200 : 503, "application/json", {}, json::serialize(status)};
  co_await net::respond(exchange.writer, std::move(response));
}

}  // namespace gw::app
