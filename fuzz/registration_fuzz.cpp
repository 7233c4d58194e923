// The controller's internal API bodies: a worker's registration and heartbeat JSON
// (cluster::parse_registration, cluster::parse_heartbeat), and what the parsed values reach:
// cluster::WorkerRegistry (register, heartbeat, draining, pick, sweep, list) and
// net::Endpoint::parse of the worker's URL.
//
// Each input is used as a registration body and then as a heartbeat body. Checks: no crash,
// sanitizer report or exception; a registration that is accepted is listed as sent, under its
// model ("reg_listed"); the URL's endpoint has a host, a port and a Host header and base path
// that are safe to put in a request head ("reg_endpoint"); a healthy worker's id is not taken
// from another URL ("reg_id_taken"); a heartbeat for a registered worker is taken
// ("reg_heartbeat"). The input is also read as a worker's checked-usage header
// (cluster::parse_checked_usage): what it takes are counts from 0 to kMaxTokenCount that write
// back as text it reads the same ("checked_usage").

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "gw/cluster/registry.hpp"
#include "gw/cluster/worker_messages.hpp"
#include "gw/net/endpoint.hpp"

namespace {

using namespace gw::fuzz;
using gw::cluster::Clock;

bool safe_in_head(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

void check_usage_header(std::string_view input) {
  const auto usage = gw::cluster::parse_checked_usage(input);
  if (!usage) {
    return;
  }
  const auto again = gw::cluster::parse_checked_usage(gw::cluster::checked_usage_value(*usage));
  GW_FUZZ_CHECK(usage->prompt_tokens >= 0 && usage->prompt_tokens <= gw::api::kMaxTokenCount &&
                    usage->completion_tokens >= 0 &&
                    usage->completion_tokens <= gw::api::kMaxTokenCount && again &&
                    again->prompt_tokens == usage->prompt_tokens &&
                    again->completion_tokens == usage->completion_tokens,
                "checked_usage", "checked usage of " + printable(input));
}

void run(std::string_view input) {
  check_usage_header(input);
  gw::cluster::WorkerRegistry registry({}, 1);
  const Clock::time_point start{std::chrono::hours(1000)};
  const auto parsed = gw::cluster::parse_registration(input);
  const auto registration =
      parsed ? std::optional<gw::cluster::Registration>(*parsed) : std::nullopt;
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
  const auto heartbeat = gw::cluster::parse_heartbeat(input);
  if (!heartbeat) {
    return;
  }
  const auto later = start + std::chrono::seconds(5);
  const bool known = registry.heartbeat(heartbeat->worker_id, heartbeat->current_load, later);
  GW_FUZZ_CHECK(known == (registration && registry.list(std::nullopt, later).size() == 1 &&
                          heartbeat->worker_id == registration->worker_id),
                "reg_heartbeat", "heartbeat for " + printable(heartbeat->worker_id));
  if (heartbeat->draining) {
    registry.set_draining(heartbeat->worker_id, *heartbeat->draining);
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
