#include "gw/proxy/request_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iterator>

#include "gw/core/logging.hpp"

namespace gw::proxy {

void RequestLog::clear() {
  model.clear();
  provider.clear();
  model_known = false;
  outcome.clear();
  stream = false;
  first_token_at = {};
  upstream_time = {};
  prompt_tokens = completion_tokens = -1;
  attempts = 0;
  upstream_error = {};
  report_checked_usage = false;
}

std::string_view stream_outcome(const RequestLog& log, bool client_gone) {
  if (!log.outcome.empty()) {
    return log.outcome;
  }
  return client_gone ? "client_cancelled" : "";
}

namespace {

// What one access-log line says besides the exchange's own fields.
struct AccessLine {
  int status = 0;
  double elapsed_ms = 0;
  double ttft_ms = -1;  // none: negative
  std::string_view outcome;
};

void log_json_line(const net::Exchange& exchange, const RequestLog& log, const AccessLine& at) {
  std::string line = R"({"msg":"request","request_id":")";
  core::append_json_escaped(line, exchange.request_id);
  line += R"(","method":")";
  core::append_json_escaped(line, exchange.request.method);
  line += R"(","path":")";
  core::append_json_escaped(line, core::bounded_text(exchange.request.path()));
  fmt::format_to(std::back_inserter(line), R"(","status":{},"duration_ms":{:.3f},"model":")",
                 at.status, at.elapsed_ms);
  core::append_json_escaped(line, core::bounded_text(log.model));
  line += R"(","provider":")";
  core::append_json_escaped(line, log.provider);
  line += R"(","outcome":")";
  core::append_json_escaped(line, at.outcome);
  line += '"';
  if (at.ttft_ms >= 0) {
    fmt::format_to(std::back_inserter(line), R"(,"ttft_ms":{:.3f})", at.ttft_ms);
  }
  if (log.prompt_tokens >= 0) {
    fmt::format_to(std::back_inserter(line), R"(,"prompt_tokens":{})", log.prompt_tokens);
  }
  if (log.completion_tokens >= 0) {
    fmt::format_to(std::back_inserter(line), R"(,"completion_tokens":{})", log.completion_tokens);
  }
  if (log.attempts > 0) {
    fmt::format_to(std::back_inserter(line), R"(,"attempts":{})", log.attempts);
  }
  line += R"(,"client":")";
  core::append_json_escaped(line, exchange.request.remote_address);
  line += "\"}";
  spdlog::info("{}", line);
}

void log_text_line(const net::Exchange& exchange, const RequestLog& log, const AccessLine& at) {
  std::string tokens = "-";
  if (log.prompt_tokens >= 0 || log.completion_tokens >= 0) {
    tokens = fmt::format("{}/{}", log.prompt_tokens, log.completion_tokens);
  }
  // A table route's attempts (no allocation: the access log is on every request's path).
  const fmt::format_int attempts(log.attempts);
  const std::string_view attempts_label = log.attempts > 0 ? " attempts=" : "";
  const std::string_view attempts_count =
      log.attempts > 0 ? std::string_view(attempts.data(), attempts.size()) : std::string_view();
  // Client text is escaped and bounded: no forged lines, no huge ones.
  spdlog::info(
      "{} {} {} {:.3f}ms request_id={} model={} provider={} outcome={} ttft={} tokens={} "
      "client={}{}{}",
      exchange.request.method, core::log_text(exchange.request.path()), at.status, at.elapsed_ms,
      exchange.request_id, log.model.empty() ? "-" : core::log_text(log.model),
      log.provider.empty() ? "-" : core::log_text(log.provider),
      at.outcome.empty() ? "-" : at.outcome,
      at.ttft_ms >= 0 ? fmt::format("{:.3f}ms", at.ttft_ms) : std::string("-"), tokens,
      exchange.request.remote_address, attempts_label, attempts_count);
}

}  // namespace

void write_access_log(const net::Exchange& exchange, int status, bool client_gone) {
  if (!spdlog::should_log(spdlog::level::info)) {
    return;
  }
  const RequestLog& log = log_of(exchange);
  using Ms = std::chrono::duration<double, std::milli>;
  AccessLine line;
  line.status = status;
  line.elapsed_ms = Ms(std::chrono::steady_clock::now() - exchange.started_at).count();
  line.outcome = stream_outcome(log, client_gone);
  if (log.first_token_at != std::chrono::steady_clock::time_point{}) {
    line.ttft_ms = Ms(log.first_token_at - exchange.started_at).count();
  }
  if (core::log_format() == core::LogFormat::kJson) {
    log_json_line(exchange, log, line);
  } else {
    log_text_line(exchange, log, line);
  }
}

}  // namespace gw::proxy
