#include "gw/proxy/observe.hpp"

#include "gw/net/http1_parser.hpp"
#include "gw/proxy/dashboard.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::proxy {

namespace {

// Records a finished request: counters, histograms, tokens, stream outcome.
void record(metrics::Metrics& metrics, const net::Exchange& exchange, int status,
            bool client_gone) {
  using Seconds = std::chrono::duration<double>;
  const RequestLog& log = log_of(exchange);
  const auto now = std::chrono::steady_clock::now();
  metrics::RequestSample sample;
  sample.endpoint = metrics::endpoint_label(exchange.request.path());
  // Labels must stay bounded: the model only when it is a configured one (a rejected request's
  // model is whatever the client typed).
  sample.provider = log.provider;
  if (log.model_known) {
    sample.model = log.model;
  }
  sample.status = status;
  sample.request_id = exchange.request_id;
  sample.duration = Seconds(now - exchange.started_at).count();
  if (log.upstream_time.count() > 0) {
    sample.overhead = std::max(0.0, sample.duration - Seconds(log.upstream_time).count());
  }
  if (log.stream) {
    sample.stream_outcome = stream_outcome(log, client_gone);
    if (log.first_token_at != std::chrono::steady_clock::time_point{}) {
      sample.ttft = Seconds(log.first_token_at - exchange.started_at).count();
      if (log.completion_tokens > 1) {
        sample.time_per_token = Seconds(now - log.first_token_at).count() /
                                static_cast<double>(log.completion_tokens - 1);
      }
    }
  }
  sample.prompt_tokens = log.prompt_tokens;
  sample.completion_tokens = log.completion_tokens;
  if (!log.upstream_error.empty()) {
    metrics.upstream_error(log.provider, log.upstream_error);
  }
  metrics.record(sample);  // last: it ends the request's in-flight count
}

}  // namespace

net::Task<void> ObservedHandler::handle(net::Exchange& exchange) {
  log_of(exchange).clear();  // the connection's previous request's
  const std::string_view path = exchange.request.path();
  metrics_.request_started(metrics::endpoint_label(path));
  if (dashboard_ != nullptr && Dashboard::handles(path)) {
    return dashboard_->serve(exchange);
  }
  return dispatch(exchange);
}

void ObservedHandler::finished(const net::Exchange& exchange, int status, bool client_gone) {
  if (access_log_) {
    write_access_log(exchange, status, client_gone);
  }
  record(metrics_, exchange, status, client_gone);
}

std::unique_ptr<net::ExchangeNotes> ObservedHandler::make_notes() {
  return std::make_unique<RequestLog>();
}

net::ErrorFormat ObservedHandler::error_format(std::string_view path,
                                               const net::MessageHead& head) const {
  return error_format_for(path, head.find("anthropic-version"));
}

std::string_view upstream_error_kind(const core::Error& error) {
  switch (error.errc) {
    case core::Errc::kUpstreamUnreachable:
      return "connect";
    case core::Errc::kUpstreamTimeout:
      return "timeout";
    case core::Errc::kUpstreamError:
      return "reset";
    default:
      return "protocol";
  }
}

net::Task<void> serve_metrics(net::Exchange& exchange, const metrics::Metrics& metrics) {
  if (!exchange.request.is_get()) {
    co_return co_await net::respond_method_not_allowed(exchange.writer, exchange.request,
                                                       "GET, HEAD");
  }
  net::Response response{200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics.serialize()};
  co_await net::respond(exchange.writer, std::move(response));
}

}  // namespace gw::proxy
