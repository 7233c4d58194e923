#pragma once

#include <string_view>

#include "gw/core/error.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"

namespace gw::proxy {

// Starts counting a request in flight (the handlers call it first thing).
void observe_start(metrics::Metrics& metrics, const net::Exchange& exchange);
// Records a finished request: counters, histograms, tokens, stream outcome (HttpHandler::finished).
void observe_end(metrics::Metrics& metrics, const net::Exchange& exchange, int status,
                 bool client_gone);

// The upstream error kind of a failed upstream call: connect, timeout, reset or protocol.
std::string_view upstream_error_kind(const core::Error& error);

// GET /metrics.
net::Task<void> serve_metrics(net::Exchange& exchange, const metrics::Metrics& metrics);

}  // namespace gw::proxy
