// The controller's internal API, used by workers: register, heartbeat, list, deregister.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include "gw/app/controller_handler.hpp"
#include "gw/app/gateway_handler.hpp"
#include "gw/core/logging.hpp"

namespace gw::app {
namespace {

namespace json = boost::json;
using net::Exchange;
using net::Task;

constexpr std::string_view kWorkersPath = "/internal/workers";
constexpr size_t kMaxIdLength = 256;

core::Error bad_request(std::string message, std::string param = {}) {
  return {core::Errc::kInvalidRequest, std::move(message), std::move(param)};
}

Task<void> send_json(Exchange& exchange, const json::value& value) {
  net::Response response{200, "application/json", {}, json::serialize(value)};
  co_await net::respond(exchange.writer, std::move(response));
}

// Reads the JSON object body of an internal request; fields we do not know are ignored.
tl::expected<json::object, core::Error> object_body(const std::string& body) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return tl::unexpected(bad_request("The request body must be a JSON object."));
  }
  return std::move(value.get_object());
}

tl::expected<std::string, core::Error> required_string(const json::object& body,
                                                       std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string() || value->get_string().empty()) {
    return tl::unexpected(bad_request(
        fmt::format("'{}' is required and must be a non-empty string", name), std::string(name)));
  }
  // Ids and URLs end up in log lines, metric labels and error messages: no control characters
  // (a newline would forge a log line) and a bounded length.
  const std::string_view text = value->get_string();
  const bool has_control = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (has_control || text.size() > kMaxIdLength) {
    return tl::unexpected(bad_request(
        fmt::format("'{}' must be at most {} bytes without control characters", name, kMaxIdLength),
        std::string(name)));
  }
  return std::string(text);
}

tl::expected<int64_t, core::Error> optional_integer(const json::object& body, std::string_view name,
                                                    int64_t fallback, int64_t min) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) {
    return fallback;
  }
  if (!value->is_int64() || value->get_int64() < min) {
    return tl::unexpected(bad_request(
        fmt::format("'{}' must be an integer of at least {}", name, min), std::string(name)));
  }
  return value->get_int64();
}

tl::expected<cluster::Registration, core::Error> parse_registration(const std::string& text) {
  auto body = object_body(text);
  if (!body) {
    return tl::unexpected(body.error());
  }
  cluster::Registration registration;
  auto worker_id = required_string(*body, "worker_id");
  auto model_id = required_string(*body, "model_id");
  auto url = required_string(*body, "url");
  auto capacity = optional_integer(*body, "capacity", 10, 1);
  auto load = optional_integer(*body, "current_load", 0, 0);
  for (const auto* failed : {&worker_id, &model_id, &url}) {
    if (!*failed) {
      return tl::unexpected(failed->error());
    }
  }
  for (const auto* failed : {&capacity, &load}) {
    if (!*failed) {
      return tl::unexpected(failed->error());
    }
  }
  return cluster::Registration{*worker_id, *model_id, *url, *capacity, *load};
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

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return std::nullopt;
  }
  auto params = url->params();
  auto it = params.find(name);
  if (it == params.end()) {
    return std::nullopt;
  }
  return std::string((*it).value);
}

}  // namespace

Task<void> ControllerHandler::internal_api(Exchange& exchange) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  const std::string_view method = request.method;
  const auto& key = state_->config.internal_api_key;
  // Whoever registers a worker receives clients' prompts: without a key, only this host may.
  if (key.empty() && !state_->config.internal_api_open &&
      !net::is_loopback_address(request.remote_address)) {
    co_return co_await net::respond_error(
        exchange.writer,
        {core::Errc::kForbidden,
         "The internal API answers only loopback clients while INTERNAL_API_KEY is not set; set "
         "INTERNAL_API_KEY on the controller and its workers."});
  }
  if (!key.empty() && !internal_key_matches(request, key)) {
    co_return co_await net::respond_error(
        exchange.writer,
        {core::Errc::kUnauthorized,
         "The internal API needs INTERNAL_API_KEY as 'Authorization: Bearer <key>' or "
         "'X-Internal-API-Key: <key>'."});
  }
  auto& registry = state_->registry;
  const auto now = cluster::Clock::now();

  if (path == "/internal/workers/register") {
    if (method != "POST") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
    }
    auto registration = parse_registration(request.body);
    if (!registration) {
      co_return co_await net::respond_error(exchange.writer, registration.error());
    }
    if (auto added = registry.register_worker(*registration, now); !added) {
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
          bad_request(fmt::format("'url' is not a usable worker URL: {}", added.error().message),
                      "url"));
    }
    spdlog::info("worker {} registered: model {}, {} (capacity {})", registration->worker_id,
                 registration->model_id, registration->url, registration->capacity);
    const json::value answer{{"status", "registered"}, {"worker_id", registration->worker_id}};
    co_return co_await send_json(exchange, answer);
  }
  if (path == "/internal/workers/heartbeat") {
    if (method != "POST") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
    }
    auto body = object_body(request.body);
    if (!body) {
      co_return co_await net::respond_error(exchange.writer, body.error());
    }
    auto worker_id = required_string(*body, "worker_id");
    auto load = optional_integer(*body, "current_load", 0, 0);
    if (!worker_id || !load) {
      co_return co_await net::respond_error(exchange.writer,
                                            !worker_id ? worker_id.error() : load.error());
    }
    if (!registry.heartbeat(*worker_id, *load, now)) {
      co_return co_await net::respond_error(
          exchange.writer,
          {core::Errc::kNotFound, fmt::format("Unknown worker '{}': register again", *worker_id),
           "worker_id"});
    }
    if (const auto* draining = body->if_contains("draining");
        draining != nullptr && draining->is_bool()) {
      registry.set_draining(*worker_id, draining->get_bool());
    }
    const json::value answer{{"status", "ok"}};
    co_return co_await send_json(exchange, answer);
  }
  if (path == kWorkersPath) {
    if (!request.is_get()) {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "GET, HEAD");
    }
    json::array data;
    for (const auto& view : registry.list(query_parameter(request.target, "model_id"), now)) {
      data.push_back(worker_json(view));
    }
    const json::value list{{"object", "list"}, {"data", std::move(data)}};
    co_return co_await send_json(exchange, list);
  }
  if (path.starts_with(kWorkersPath) && path.size() > kWorkersPath.size() + 1 &&
      path[kWorkersPath.size()] == '/') {
    if (method != "DELETE") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "DELETE");
    }
    const std::string_view raw = path.substr(kWorkersPath.size() + 1);
    const std::string id = net::percent_decode(raw);
    if (!registry.remove(id)) {
      co_return co_await net::respond_error(
          exchange.writer,
          {core::Errc::kNotFound, fmt::format("Unknown worker '{}'", core::bounded_text(id)),
           "worker_id"});
    }
    spdlog::info("worker {} deregistered", core::log_text(id));
    const json::value answer{{"status", "deregistered"}, {"worker_id", id}};
    co_return co_await send_json(exchange, answer);
  }
  co_await net::respond_error(
      exchange.writer, {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", method, path)});
}

}  // namespace gw::app
