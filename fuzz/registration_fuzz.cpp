// The controller's internal API bodies: a worker's registration and heartbeat JSON, as far as
// they can be reached without the HTTP handler.
//
// The body parsing itself is not callable alone: parse_registration() sits in an anonymous
// namespace of src/gw/app/controller_internal.cpp, and the heartbeat body is read inline in
// ControllerHandler::internal_api() (same file). Until they are extracted (say as
// `cluster::parse_registration(std::string_view)` and `cluster::parse_heartbeat(std::string_view)`
// next to the registry, which would let this target link gw_cluster alone and call them),
// this target carries a copy of that reading (marked below: keep it in step) and fuzzes what the
// parsed values reach: cluster::WorkerRegistry (register, heartbeat, draining, pick, sweep, list)
// and net::Endpoint::parse of the worker's URL.
//
// Each input is used as a registration body and then as a heartbeat body. Checks: no crash,
// sanitizer report or exception; a registration that is accepted is listed as sent, under its
// model ("reg_listed"); the URL's endpoint has a host, a port and a Host header and base path
// that are safe to put in a request head ("reg_endpoint"); a heartbeat for a registered worker is
// taken ("reg_heartbeat").

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "gw/cluster/registry.hpp"
#include "gw/net/endpoint.hpp"

namespace {

using namespace gw::fuzz;
namespace json = boost::json;
using gw::cluster::Clock;

// ---- A copy of src/gw/app/controller_internal.cpp's body reading: keep it in step. ----
std::optional<json::object> object_body(std::string_view body) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.get_object());
}

constexpr size_t kMaxIdLength = 256;

std::optional<std::string> required_string(const json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || !value->is_string() || value->get_string().empty()) {
    return std::nullopt;
  }
  const std::string_view text = value->get_string();
  const bool has_control = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (has_control || text.size() > kMaxIdLength) {
    return std::nullopt;
  }
  return std::string(text);
}

// nullopt: invalid; the fallback when absent or null.
std::optional<int64_t> optional_integer(const json::object& body, std::string_view name,
                                        int64_t fallback, int64_t min) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) {
    return fallback;
  }
  if (!value->is_int64() || value->get_int64() < min) {
    return std::nullopt;
  }
  return value->get_int64();
}

std::optional<gw::cluster::Registration> parse_registration(std::string_view text) {
  auto body = object_body(text);
  if (!body) {
    return std::nullopt;
  }
  auto worker_id = required_string(*body, "worker_id");
  auto model_id = required_string(*body, "model_id");
  auto url = required_string(*body, "url");
  auto capacity = optional_integer(*body, "capacity", 10, 1);
  auto load = optional_integer(*body, "current_load", 0, 0);
  if (!worker_id || !model_id || !url || !capacity || !load) {
    return std::nullopt;
  }
  return gw::cluster::Registration{*worker_id, *model_id, *url, *capacity, *load};
}
// ---- End of the copy. ----

bool safe_in_head(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

void run(std::string_view input) {
  gw::cluster::WorkerRegistry registry({}, 1);
  const Clock::time_point start{std::chrono::hours(1000)};
  auto registration = parse_registration(input);
  if (registration) {
    const auto endpoint = gw::net::Endpoint::parse(registration->url);
    if (endpoint) {
      GW_FUZZ_CHECK(
          !endpoint->host.empty() && endpoint->port != 0 && safe_in_head(endpoint->host_header) &&
              (endpoint->base_path.empty() ||
               (endpoint->base_path.front() == '/' && endpoint->base_path.back() != '/' &&
                safe_in_head(endpoint->base_path))),
          "reg_endpoint",
          "endpoint of " + printable(registration->url) + ": host " + printable(endpoint->host) +
              " port " + std::to_string(endpoint->port) + " host header " +
              printable(endpoint->host_header) + " path " + printable(endpoint->base_path));
    }
    const auto added = registry.register_worker(*registration, start);
    GW_FUZZ_CHECK(added.has_value() == endpoint.has_value() && (added || !added.error().id_taken),
                  "reg_endpoint",
                  "registration and Endpoint::parse disagree on " + printable(registration->url));
    if (added) {
      const auto listed = registry.list(registration->model_id, start);
      GW_FUZZ_CHECK(listed.size() == 1 &&
                        listed[0].registration.worker_id == registration->worker_id &&
                        listed[0].registration.url == registration->url &&
                        listed[0].registration.capacity == registration->capacity &&
                        listed[0].registration.current_load == registration->current_load &&
                        registry.knows_model(registration->model_id),
                    "reg_listed", "registered worker not listed as sent");
      auto picked = registry.pick(registration->model_id, start);
      if (auto* lease = std::get_if<gw::cluster::Lease>(&picked)) {
        lease->failed(start);
      }
      // A healthy worker's id cannot be taken from another URL; its own URL may register again.
      auto other = *registration;
      other.url = "http://other.test:1";
      const auto taken = registry.register_worker(other, start + std::chrono::seconds(1));
      GW_FUZZ_CHECK(other.url == registration->url || (!taken && taken.error().id_taken),
                    "reg_id_taken", "a healthy worker's id was taken from another URL");
      GW_FUZZ_CHECK(registry.register_worker(*registration, start).has_value(), "reg_listed",
                    "a worker could not register again at its own URL");
    }
  }

  // The same body as a heartbeat.
  const auto body = object_body(input);
  if (!body) {
    return;
  }
  const auto worker_id = required_string(*body, "worker_id");
  const auto load = optional_integer(*body, "current_load", 0, 0);
  if (!worker_id || !load) {
    return;
  }
  const auto later = start + std::chrono::seconds(5);
  const bool known = registry.heartbeat(*worker_id, *load, later);
  GW_FUZZ_CHECK(known == (registration && registry.list(std::nullopt, later).size() == 1 &&
                          *worker_id == registration->worker_id),
                "reg_heartbeat", "heartbeat for " + printable(*worker_id));
  if (const auto* draining = body->if_contains("draining");
      draining != nullptr && draining->is_bool()) {
    registry.set_draining(*worker_id, draining->get_bool());
  }
  if (registration) {
    auto picked = registry.pick(registration->model_id, later);
    if (auto* lease = std::get_if<gw::cluster::Lease>(&picked)) {
      lease->succeeded();
    }
    (void)registry.probe_targets(later + std::chrono::seconds(90));
    (void)registry.sweep(later + std::chrono::seconds(90));
    (void)registry.models_with_healthy_workers(later + std::chrono::seconds(90));
    (void)registry.sweep(later + std::chrono::seconds(1000));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(as_view(data, size));
  } catch (const std::exception& e) {
    GW_FUZZ_CHECK(false, "exception", std::string("threw: ") + e.what());
  }
  return 0;
}
