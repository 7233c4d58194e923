// The controller's internal API, used by workers: register, heartbeat, list, deregister.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/app/controller/controller_handler.hpp"
#include "gw/app/server/gateway_handler.hpp"
#include "gw/cluster/worker_messages.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/key_check.hpp"

namespace gw::app {
namespace {

namespace json = boost::json;
using net::Exchange;
using net::Task;

constexpr std::string_view kWorkersPath = "/internal/workers";
Task<void> send_json(Exchange& exchange, const json::value& value) {
  net::Response response{200, "application/json", {}, json::serialize(value)};
  co_await net::respond(exchange.writer, std::move(response));
}

json::object worker_json(const cluster::WorkerView& view) {
  const auto& r = view.registration;
  return {{"worker_id", r.worker_id},
          {"model_id", r.model_id},
          {"url", r.url},
          {"capacity", r.capacity},
          {"current_load", r.current_load},
          {"in_flight", view.in_flight},
          {"health", cluster::to_string(view.health)},
          {"circuit_state", cluster::to_string(view.circuit)},
          {"draining", view.draining},
          {"last_heartbeat_age", std::chrono::duration<double>(view.heartbeat_age).count()}};
}

}  // namespace

core::Error unknown_worker(std::string_view id) {
  return {core::Errc::kNotFound, fmt::format("Unknown worker '{}'", core::bounded_text(id)),
          "worker_id"};
}

Task<void> register_worker(Exchange& exchange, cluster::WorkerRegistry& registry) {
  auto registration = cluster::parse_registration(exchange.request.body);
  if (!registration) {
    co_return co_await net::respond_error(exchange.writer, registration.error());
  }
  if (auto added = registry.register_worker(*registration, cluster::Clock::now()); !added) {
    if (added.error().id_taken) {
      spdlog::warn("refused a registration of worker {} from {} at {}: {}",
                   core::log_text(registration->worker_id), exchange.request.remote_address,
                   core::log_text(registration->url), added.error().message);
      co_return co_await net::respond_error(
          exchange.writer, {core::Errc::kConflict,
                            fmt::format("Worker '{}' is registered and healthy at another URL; "
                                        "deregister it first or use another worker_id",
                                        registration->worker_id),
                            "worker_id"});
    }
    co_return co_await net::respond_error(
        exchange.writer,
        core::invalid_request(
            fmt::format("'url' is not a usable worker URL: {}", added.error().message), "url"));
  }
  spdlog::info("worker {} registered: model {}, {} (capacity {})", registration->worker_id,
               registration->model_id, registration->url, registration->capacity);
  const json::value answer{{"status", "registered"}, {"worker_id", registration->worker_id}};
  co_await send_json(exchange, answer);
}

Task<void> deregister_worker(Exchange& exchange, cluster::WorkerRegistry& registry,
                             std::string_view raw_id) {
  const std::string id = net::percent_decode(raw_id);
  if (!registry.remove(id)) {
    co_return co_await net::respond_error(exchange.writer, unknown_worker(id));
  }
  spdlog::info("worker {} deregistered", core::log_text(id));
  const json::value answer{{"status", "deregistered"}, {"worker_id", id}};
  co_await send_json(exchange, answer);
}

namespace {

Task<void> heartbeat_worker(Exchange& exchange, cluster::WorkerRegistry& registry) {
  auto heartbeat = cluster::parse_heartbeat(exchange.request.body);
  if (!heartbeat) {
    co_return co_await net::respond_error(exchange.writer, heartbeat.error());
  }
  if (!registry.heartbeat(heartbeat->worker_id, heartbeat->current_load, cluster::Clock::now())) {
    co_return co_await net::respond_error(
        exchange.writer,
        {core::Errc::kNotFound,
         fmt::format("Unknown worker '{}': register again", heartbeat->worker_id), "worker_id"});
  }
  if (heartbeat->draining) {
    registry.set_draining(heartbeat->worker_id, *heartbeat->draining);
  }
  const json::value answer{{"status", "ok"}};
  co_await send_json(exchange, answer);
}

Task<void> list_workers(Exchange& exchange, const cluster::WorkerRegistry& registry) {
  json::array data;
  for (const auto& view : registry.list(net::query_parameter(exchange.request.target, "model_id"),
                                        cluster::Clock::now())) {
    data.push_back(worker_json(view));
  }
  const json::value list{{"object", "list"}, {"data", std::move(data)}};
  co_await send_json(exchange, list);
}

// Why `request` may not use the internal API, or nullopt. Whoever registers a worker receives
// clients' prompts: without a key, only this host may.
std::optional<core::Error> internal_api_refusal(const net::Request& request,
                                                const ControllerConfig& config) {
  const auto& key = config.internal_api_key;
  if (key.empty() && !config.internal_api_open &&
      !net::is_loopback_address(request.remote_address)) {
    return core::Error{
        core::Errc::kForbidden,
        "The internal API answers only loopback clients while INTERNAL_API_KEY is not set; set "
        "INTERNAL_API_KEY on the controller and its workers."};
  }
  if (!key.empty() && !net::service_key_matches(request, key, "x-internal-api-key")) {
    return core::Error{core::Errc::kUnauthorized,
                       "The internal API needs INTERNAL_API_KEY as 'Authorization: Bearer <key>' "
                       "or 'X-Internal-API-Key: <key>'."};
  }
  return std::nullopt;
}

}  // namespace

Task<void> ControllerHandler::internal_api(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  const std::string_view method = request.method;
  if (auto refusal = internal_api_refusal(request, state_->config)) {
    co_return co_await net::respond_error(exchange.writer, *refusal);
  }
  auto& registry = state_->registry;
  if (path == "/internal/workers/register" || path == "/internal/workers/heartbeat") {
    if (method != "POST") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
    }
    if (path.ends_with("/register")) {
      co_return co_await register_worker(exchange, registry);
    }
    co_return co_await heartbeat_worker(exchange, registry);
  }
  if (path == kWorkersPath) {
    if (!request.is_get()) {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "GET, HEAD");
    }
    co_return co_await list_workers(exchange, registry);
  }
  if (path.starts_with(kWorkersPath) && path.size() > kWorkersPath.size() + 1 &&
      path[kWorkersPath.size()] == '/') {
    if (method != "DELETE") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "DELETE");
    }
    co_return co_await deregister_worker(exchange, registry, path.substr(kWorkersPath.size() + 1));
  }
  co_await net::respond_error(
      exchange.writer, {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", method, path)});
}

}  // namespace gw::app
