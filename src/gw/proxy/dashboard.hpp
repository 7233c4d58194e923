#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gw/core/error.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"

namespace gw::proxy {

// What a command knows of where a model's requests go: a provider, a table deployment or a
// worker. Fields a kind does not have stay empty (null in the API; see docs/dashboard.md).
struct DashboardBackend {
  std::string name;
  std::string_view kind;  // "provider", "deployment", "worker"
  std::optional<std::string> url;
  std::optional<std::string_view> health;
  std::optional<std::string_view> circuit_state;
  std::optional<int64_t> in_flight;
  std::optional<int64_t> capacity;
  std::optional<double> heartbeat_age_seconds;
  std::optional<bool> draining;
  std::optional<double> cooldown_seconds;
};

struct DashboardModel {
  std::string id;
  std::vector<DashboardBackend> backends;
};

// A worker's view of one controller it registers with.
struct ControllerLink {
  std::string url;
  bool registered = false;
};

// The command's side of the dashboard: its models' backends now (and a worker's controllers).
struct DashboardSource {
  std::string_view role;  // "server", "controller", "worker"
  std::function<std::vector<DashboardModel>()> models;
  std::function<std::vector<ControllerLink>()> controllers;  // worker only
  // Controller only: POST /ui/api/workers, POST /ui/api/workers/{id}/drain, DELETE
  // /ui/api/workers/{id} (called once access is checked).
  std::function<net::Task<void>(net::Exchange&)> worker_actions;
};

// The live dashboard: GET /ui (a page built into the binary) and its JSON API /ui/api/summary,
// /history and /requests (docs/dashboard.md). With an admin key, the API needs it; without one,
// only loopback clients may use the page or the API.
class Dashboard {
 public:
  // `metrics` outlives the dashboard.
  Dashboard(DashboardSource source, std::string admin_key, const metrics::Metrics& metrics);

  static bool handles(std::string_view path) { return path == "/ui" || path.starts_with("/ui/"); }
  // Why this request may not use the dashboard (and its API, when `api`), if it may not.
  std::optional<core::Error> refusal(const net::Request& request, bool api) const;
  // Answers a request for which handles() holds, access checked.
  net::Task<void> serve(net::Exchange& exchange) const;
  // Logs who may open the dashboard, once at start-up.
  void log_access() const;

 private:
  boost::json::value summary() const;
  boost::json::value history(std::chrono::seconds window) const;

  DashboardSource source_;
  std::string admin_key_;
  const metrics::Metrics& metrics_;
  double started_at_;  // unix seconds
};

// The page, embedded at build time from assets/dashboard.html.
std::string_view dashboard_page();

}  // namespace gw::proxy
