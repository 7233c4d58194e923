#include "gw/proxy/dashboard.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <map>

#include "gw/net/endpoint.hpp"
#include "gw/net/key_check.hpp"

namespace gw::proxy {
namespace {

namespace json = boost::json;
using metrics::Activity;

constexpr int64_t kHistorySeconds = int64_t{Activity::kSlots} * Activity::kSlotSeconds;
constexpr int64_t kDefaultRequests = 200;
constexpr int64_t kMaxRequests = 500;

double unix_seconds(Activity::WallClock::time_point at) {
  return std::chrono::duration<double>(at.time_since_epoch()).count();
}

template <typename T>
json::value or_null(const std::optional<T>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::object backend_json(const DashboardBackend& backend) {
  return {{"name", backend.name},
          {"kind", backend.kind},
          {"url", or_null(backend.url)},
          {"health", or_null(backend.health)},
          {"circuit_state", or_null(backend.circuit_state)},
          {"in_flight", or_null(backend.in_flight)},
          {"capacity", or_null(backend.capacity)},
          {"heartbeat_age_seconds", or_null(backend.heartbeat_age_seconds)},
          {"draining", or_null(backend.draining)},
          {"cooldown_seconds", or_null(backend.cooldown_seconds)}};
}

json::object totals_json(const metrics::ModelTotals& totals) {
  return {{"requests", totals.requests},
          {"errors", totals.errors},
          {"prompt_tokens", totals.prompt_tokens},
          {"completion_tokens", totals.completion_tokens}};
}

json::object point_json(const metrics::HistoryPoint& point) {
  return {{"t", point.start},
          {"requests", point.requests},
          {"errors_4xx", point.errors_4xx},
          {"errors_429", point.errors_429},
          {"errors_5xx", point.errors_5xx},
          {"latency_p50", or_null(point.latency_p50)},
          {"latency_p95", or_null(point.latency_p95)},
          {"ttft_p50", or_null(point.ttft_p50)},
          {"ttft_p95", or_null(point.ttft_p95)},
          {"prompt_tokens", point.prompt_tokens},
          {"completion_tokens", point.completion_tokens},
          {"queue_waits", point.queue_waits},
          {"queue_wait_p95", or_null(point.queue_wait_p95)},
          {"queue_rejections", point.queue_rejections}};
}

// A token count, or null when the upstream reported none (a negative count).
json::value known_count(int64_t count) {
  return count >= 0 ? json::value(count) : json::value(nullptr);
}

json::object recent_json(const metrics::RecentRequest& entry) {
  return {{"time", entry.time},
          {"request_id", entry.request_id},
          {"endpoint", entry.endpoint},
          {"model", entry.model},
          {"backend", entry.backend},
          {"status", entry.status},
          {"duration_seconds", entry.duration},
          {"ttft_seconds", or_null(entry.ttft)},
          {"prompt_tokens", known_count(entry.prompt_tokens)},
          {"completion_tokens", known_count(entry.completion_tokens)},
          {"stream_outcome", entry.stream_outcome.empty() ? json::value(nullptr)
                                                          : json::value(entry.stream_outcome)}};
}

// A positive integer query parameter, at most `max`; `fallback` when absent.
tl::expected<int64_t, core::Error> bounded_parameter(std::string_view target, std::string_view name,
                                                     int64_t fallback, int64_t max) {
  const auto text = net::query_parameter(target, name);
  if (!text) {
    return fallback;
  }
  int64_t value = 0;
  const auto* end = text->data() + text->size();
  if (auto [at, ec] = std::from_chars(text->data(), end, value);
      ec != std::errc() || at != end || value < 1) {
    return tl::unexpected(core::Error(
        core::Errc::kInvalidRequest,
        fmt::format("'{}' must be a positive integer (at most {})", name, max), std::string(name)));
  }
  return std::min(value, max);
}

net::Task<void> send_json(net::Exchange& exchange, const json::value& value) {
  net::Response response{
      200, "application/json", {{"cache-control", "no-store"}}, json::serialize(value)};
  co_await net::respond(exchange.writer, std::move(response));
}

}  // namespace

Dashboard::Dashboard(DashboardSource source, std::string admin_key, const metrics::Metrics& metrics)
    : source_(std::move(source)),
      admin_key_(std::move(admin_key)),
      metrics_(metrics),
      started_at_(unix_seconds(Activity::WallClock::now())) {}

std::optional<core::Error> Dashboard::refusal(const net::Request& request, bool api) const {
  if (admin_key_.empty()) {
    if (net::is_loopback_address(request.remote_address)) {
      return std::nullopt;
    }
    return core::Error(core::Errc::kForbidden,
                       "The dashboard answers only loopback clients while ADMIN_API_KEY is not "
                       "set; set ADMIN_API_KEY to open it to others.");
  }
  // The page holds no data: it asks for the key and sends it with its API calls.
  if (!api || net::service_key_matches(request, admin_key_, "x-admin-api-key")) {
    return std::nullopt;
  }
  return core::Error(core::Errc::kUnauthorized,
                     "The dashboard's API needs ADMIN_API_KEY as 'Authorization: Bearer <key>' "
                     "or 'X-Admin-API-Key: <key>'.");
}

void Dashboard::log_access() const {
  if (admin_key_.empty()) {
    spdlog::warn(
        "ADMIN_API_KEY is not set: the dashboard (/ui) answers loopback clients only; set "
        "ADMIN_API_KEY to open it to others");
  } else {
    spdlog::info("dashboard at /ui: its API needs ADMIN_API_KEY");
  }
}

net::Task<void> Dashboard::serve(net::Exchange& exchange) const {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  const bool api = path.starts_with("/ui/api/");
  if (auto refused = refusal(request, api)) {
    co_return co_await net::respond_error(exchange.writer, *refused);
  }
  if (source_.worker_actions && path.starts_with("/ui/api/workers")) {
    co_return co_await source_.worker_actions(exchange);
  }
  if (!request.is_get()) {
    co_return co_await net::respond_method_not_allowed(exchange.writer, request, "GET, HEAD");
  }
  if (path == "/ui" || path == "/ui/") {
    // Inline script and styles only; nothing from elsewhere, and no framing by other sites.
    net::Response page{200,
                       "text/html; charset=utf-8",
                       {{"cache-control", "no-store"},
                        {"content-security-policy",
                         "default-src 'none'; script-src 'unsafe-inline'; style-src "
                         "'unsafe-inline'; connect-src 'self'; img-src data:; "
                         "frame-ancestors 'none'"},
                        {"x-content-type-options", "nosniff"},
                        {"referrer-policy", "no-referrer"}},
                       std::string(dashboard_page())};
    co_return co_await net::respond(exchange.writer, std::move(page));
  }
  if (path == "/ui/api/summary") {
    const json::value answer = summary();
    co_return co_await send_json(exchange, answer);
  }
  if (path == "/ui/api/history") {
    auto seconds = bounded_parameter(request.target, "seconds", kHistorySeconds, kHistorySeconds);
    if (!seconds) {
      co_return co_await net::respond_error(exchange.writer, seconds.error());
    }
    const json::value answer = history(std::chrono::seconds(*seconds));
    co_return co_await send_json(exchange, answer);
  }
  if (path == "/ui/api/requests") {
    auto limit = bounded_parameter(request.target, "limit", kDefaultRequests, kMaxRequests);
    if (!limit) {
      co_return co_await net::respond_error(exchange.writer, limit.error());
    }
    json::array data;
    for (const auto& entry : metrics_.activity().recent(static_cast<size_t>(*limit))) {
      data.push_back(recent_json(entry));
    }
    const json::value answer{{"data", std::move(data)}};
    co_return co_await send_json(exchange, answer);
  }
  const core::Error unknown(core::Errc::kNotFound,
                            fmt::format("Invalid URL ({} {})", request.method, path));
  co_await net::respond_error(exchange.writer, unknown);
}

json::value Dashboard::summary() const {
  const auto now = Activity::WallClock::now();
  // Configured models first, then any other model that served requests; sorted by id.
  std::map<std::string, json::object, std::less<>> models;
  for (const auto& model : source_.models()) {
    json::array backends;
    for (const auto& backend : model.backends) {
      backends.push_back(backend_json(backend));
    }
    models[model.id] = {
        {"id", model.id}, {"totals", totals_json({})}, {"backends", std::move(backends)}};
  }
  for (const auto& activity : metrics_.activity().models(std::chrono::seconds(0), now)) {
    auto [it, added] = models.try_emplace(activity.model);
    if (added) {
      it->second = {{"id", activity.model}, {"backends", json::array()}};
    }
    it->second["totals"] = totals_json(activity.totals);
  }
  json::array listed;
  for (auto& [id, model] : models) {
    listed.push_back(std::move(model));
  }
  json::value controllers = nullptr;
  if (source_.controllers) {
    json::array links;
    for (const auto& link : source_.controllers()) {
      links.push_back(json::object{{"url", link.url}, {"registered", link.registered}});
    }
    controllers = std::move(links);
  }
  return json::object{{"role", source_.role},
                      {"version", GW_VERSION},
                      {"started_at", started_at_},
                      {"now", unix_seconds(now)},
                      {"in_flight", metrics_.model_requests_in_flight()},
                      {"models", std::move(listed)},
                      {"controllers", std::move(controllers)}};
}

json::value Dashboard::history(std::chrono::seconds window) const {
  const auto now = Activity::WallClock::now();
  const int64_t slot = Activity::kSlotSeconds;
  const int64_t end = (static_cast<int64_t>(unix_seconds(now)) / slot + 1) * slot;
  json::array models;
  for (const auto& activity : metrics_.activity().models(window, now)) {
    json::array points;
    for (const auto& point : activity.points) {
      points.push_back(point_json(point));
    }
    models.push_back(json::object{{"id", activity.model}, {"points", std::move(points)}});
  }
  return json::object{{"resolution_seconds", slot},
                      {"start", end - (window.count() + slot - 1) / slot * slot},
                      {"end", end},
                      {"models", std::move(models)}};
}

}  // namespace gw::proxy
