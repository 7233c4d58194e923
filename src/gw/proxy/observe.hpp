#pragma once

#include <memory>
#include <string_view>

#include "gw/core/error.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"

namespace gw::proxy {

class Dashboard;

// The base of the three commands' handlers (server, controller, worker): each request gets a
// RequestLog, is counted in flight from its head, and once its response is over is written to the
// access log and recorded in the metrics (counters, histograms, tokens, stream outcome); errors are
// written in the shape of the API a path belongs to. The dashboard (/ui) is answered here; the
// command's own routes are dispatch()'s.
class ObservedHandler : public net::HttpHandler {
 public:
  // `metrics` and `dashboard` (which may be null: no /ui) outlive the handler.
  ObservedHandler(metrics::Metrics& metrics, bool access_log, const Dashboard* dashboard)
      : metrics_(metrics), access_log_(access_log), dashboard_(dashboard) {}

  net::Task<void> handle(net::Exchange& exchange) final;
  void finished(const net::Exchange& exchange, int status, bool client_gone) final;
  std::unique_ptr<net::ExchangeNotes> make_notes() final;
  net::ErrorFormat error_format(std::string_view path, const net::MessageHead& head) const final;

 protected:
  virtual net::Task<void> dispatch(net::Exchange& exchange) = 0;

 private:
  metrics::Metrics& metrics_;
  bool access_log_;
  const Dashboard* dashboard_;
};

// The upstream error kind of a failed upstream call: connect, timeout, reset or protocol.
std::string_view upstream_error_kind(const core::Error& error);

// GET /metrics.
net::Task<void> serve_metrics(net::Exchange& exchange, const metrics::Metrics& metrics);

}  // namespace gw::proxy
