#include "gw/app/controller/controller_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/completion_json.hpp"
#include "gw/app/controller/controller_metrics.hpp"
#include "gw/app/server/gateway_handler.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/background.hpp"
#include "gw/net/key_check.hpp"
#include "gw/providers/common/model_list.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::app {

using proxy::serve_metrics;
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using net::Exchange;
using net::Response;
using net::Task;

std::chrono::milliseconds probe_timeout(const ControllerConfig& config) {
  return std::min<std::chrono::milliseconds>(std::chrono::milliseconds(2000),
                                             config.check_interval);
}

net::UpstreamTimeouts probe_timeouts(const ControllerConfig& config) {
  const auto limit = probe_timeout(config);
  return {limit, limit, limit};
}

json::object model_object(const std::string& id, int64_t created) {
  return {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "llm-gateway"}};
}

Task<void> send_json(Exchange& exchange, int status, const json::value& value) {
  net::Response response{status, "application/json", {}, json::serialize(value)};
  co_await net::respond(exchange.writer, std::move(response));
}

}  // namespace

ControllerState::ControllerState(ControllerConfig c)
    : config(std::move(c)),
      worker_authorization(config.internal_api_key.empty() ? std::string()
                                                           : "Bearer " + config.internal_api_key),
      registry(config.registry),
      started_at(api::unix_now()) {
  add_worker_metrics(metrics, registry, queued);
  set_table(config.table);
}

void ControllerState::capacity_freed(const std::string& model, bool one_slot) {
  if (queued.load(std::memory_order_relaxed) == 0 || !serving.load(std::memory_order_acquire)) {
    return;
  }
  for (ControllerHandler* handler : handlers) {
    if (!handler->wait_queue().empty()) {
      asio::post(handler->io(),
                 [handler, model, one_slot] { handler->wait_queue().wake(model, !one_slot); });
    }
  }
}

ControllerHandler::ControllerHandler(std::shared_ptr<ControllerState> state,
                                     boost::asio::io_context& io)
    : ObservedHandler(state->metrics, state->config.access_log, state->dashboard.get()),
      state_(std::move(state)),
      io_(io),
      client_(io.get_executor(), {}, state_->config.timeouts),
      probe_client_(io.get_executor(), {}, probe_timeouts(state_->config)) {
  forward_options_.resend_unanswered = state_->config.max_attempts > 1;
}

// Not coroutines, dispatch() and public_api(): each route's task is returned for the session to
// await (two coroutine frames fewer per request). What the tasks refer to outlives them: the
// exchange, this handler, owned arguments.
Task<void> ControllerHandler::dispatch(Exchange& exchange) {
  const std::string_view path = exchange.request.path();
  if (path == "/metrics") {
    return serve_metrics(exchange, state_->metrics);
  }
  if (path == "/health") {
    return health(exchange);
  }
  if (path.starts_with("/internal/")) {
    return internal_api(exchange);
  }
  return public_api(exchange);
}

Task<void> ControllerHandler::health(Exchange& exchange) {
  if (!exchange.request.is_get()) {
    co_return co_await net::respond_method_not_allowed(exchange.writer, exchange.request,
                                                       "GET, HEAD");
  }
  const auto now = cluster::Clock::now();
  const auto workers = state_->registry.list(std::nullopt, now);
  const auto healthy = std::count_if(workers.begin(), workers.end(), [](const auto& w) {
    return w.health == cluster::Health::kHealthy;
  });
  json::array models;
  for (const auto& id : state_->registry.models_with_healthy_workers(now)) {
    models.emplace_back(id);
  }
  const json::value status{{"status", "ok"},
                           {"workers", workers.size()},
                           {"healthy_workers", healthy},
                           {"models", std::move(models)}};
  co_await send_json(exchange, 200, status);
}

Task<void> ControllerHandler::public_api(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  if (!path.starts_with("/v1/")) {
    return net::respond_error(
        exchange.writer,
        {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", request.method, path)});
  }
  const auto& keys = state_->config.api_keys;
  if (!keys.empty() && !net::client_key_matches(request, keys)) {
    return net::respond_error(exchange.writer, {core::Errc::kUnauthorized,
                                                std::string(net::client_key_refusal(request))});
  }
  if (auto api = proxy::model_api_at(path)) {
    return model_request(exchange, *api, path);
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    return models_api(exchange);
  }
  return net::respond_error(
      exchange.writer,
      {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", request.method, path)});
}

std::vector<std::string> ControllerHandler::listed_models() const {
  // The table's names first, then the workers' models it does not name.
  std::vector<std::string> models;
  const auto table = state_->table();
  models.reserve(table->size());
  for (const auto& model : *table) {
    models.push_back(model.name);
  }
  for (auto& id : state_->registry.models_with_healthy_workers(cluster::Clock::now())) {
    if (std::find(models.begin(), models.end(), id) == models.end()) {
      models.push_back(std::move(id));
    }
  }
  return models;
}

Task<void> ControllerHandler::models_api(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  if (!request.is_get()) {
    co_return co_await net::respond_method_not_allowed(exchange.writer, exchange.request,
                                                       "GET, HEAD");
  }
  const std::vector<std::string> models = listed_models();
  // Anthropic's clients (which send anthropic-version with every request) read its shapes.
  const bool anthropic = !request.header("anthropic-version").empty();
  if (path == "/v1/models" && anthropic) {
    std::vector<providers::ModelEntry> entries;
    entries.reserve(models.size());
    for (const auto& id : models) {
      entries.push_back({id, state_->started_at});
    }
    auto page = providers::anthropic_model_page(entries, request.query());
    if (!page) {
      co_return co_await net::respond_error(exchange.writer, page.error());
    }
    co_return co_await net::respond(exchange.writer,
                                    net::Response{200, "application/json", {}, std::move(*page)});
  }
  if (path == "/v1/models") {
    json::array data;
    for (const auto& id : models) {
      data.push_back(model_object(id, state_->started_at));
    }
    const json::value list{{"object", "list"}, {"data", std::move(data)}};
    co_return co_await send_json(exchange, 200, list);
  }
  const std::string_view raw = path.substr(std::string_view("/v1/models/").size());
  const std::string id = net::percent_decode(raw);
  if (std::find(models.begin(), models.end(), id) != models.end()) {
    if (anthropic) {
      co_return co_await net::respond(
          exchange.writer,
          net::Response{200,
                        "application/json",
                        {},
                        providers::anthropic_model_json({id, state_->started_at})});
    }
    const json::value model = model_object(id, state_->started_at);
    co_return co_await send_json(exchange, 200, model);
  }
  co_return co_await net::respond_error(
      exchange.writer,
      {core::Errc::kModelNotFound,
       fmt::format("The model '{}' does not exist", core::bounded_text(id)), "model"});
}

Task<void> ControllerHandler::check_health() {
  auto& registry = state_->registry;
  for (;;) {
    net::SteadyTimer timer(io_, state_->config.check_interval);
    co_await timer.async_wait(net::kUseTask);
    const auto now = cluster::Clock::now();
    for (const auto& id : registry.sweep(now)) {
      spdlog::warn(
          "worker {} removed: no heartbeat for {} s", id,
          2 * std::chrono::duration<double>(state_->config.registry.heartbeat_timeout).count());
    }
    // Concurrently, so that a few dead workers cannot stretch a cycle past its interval (each of a
    // probe's connect, first byte and read is bounded by the probe timeout, at most 2 s).
    for (auto& target : registry.probe_targets(now)) {
      net::spawn_background(
          io_.get_executor(), "probe", [this, target = std::move(target)] { return probe(target); },
          [this] { state_->metrics.background_failure("probe"); });
    }
  }
}

Task<void> ControllerHandler::probe(cluster::ProbeTarget target) {
  net::OutboundRequest request;
  request.method = "GET";
  request.path = target.endpoint->base_path + "/health";
  request.headers.push_back({"accept", "application/json"});
  auto sent = co_await probe_client_.send(*target.endpoint, request);
  if (!sent) {
    spdlog::debug("probe of worker {} failed: {}", target.worker_id, sent.error().message);
    co_return;
  }
  auto body = co_await (*sent)->read_all(64u << 10);
  if ((*sent)->status() != 200 || !body) {
    spdlog::debug("probe of worker {}: HTTP {}", target.worker_id, (*sent)->status());
    co_return;
  }
  int64_t load = 0;
  boost::system::error_code ec;
  auto parsed = json::parse(*body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* value = parsed.get_object().if_contains("current_load");
        value != nullptr && value->is_int64()) {
      load = value->get_int64();
    }
  }
  spdlog::info("probe: worker {} answers again", target.worker_id);
  state_->registry.probe_succeeded(target, load, cluster::Clock::now());
}

}  // namespace gw::app
