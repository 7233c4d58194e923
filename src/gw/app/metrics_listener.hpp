#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "gw/metrics/metrics.hpp"
#include "gw/net/http_server.hpp"

namespace gw::app {

// A separate port serving only GET /metrics (and /health), on a thread of its own, for
// deployments that keep metrics off the public port (--metrics-port). It stops on SIGTERM with
// the main server, or when destroyed.
class MetricsListener {
 public:
  MetricsListener() = default;
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds and starts serving; returns the port, or a message. Logs "metrics on http://...".
  tl::expected<uint16_t, std::string> start(const std::string& host, uint16_t port,
                                            const metrics::Metrics& metrics);

 private:
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

// Binds `server` and, when `metrics_port` is set, starts `listener` there. Logs why and returns
// nothing on failure (the command then exits 1).
std::optional<uint16_t> bind_listeners(net::HttpServer& server, const std::string& host,
                                       const std::optional<uint16_t>& metrics_port,
                                       MetricsListener& listener, const metrics::Metrics& metrics);

}  // namespace gw::app
