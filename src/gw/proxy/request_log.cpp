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
}

std::string_view stream_outcome(const RequestLog& log, bool client_gone) {
  if (!log.outcome.empty()) {
    return log.outcome;
  }
  return client_gone ? "client_cancelled" : "";
}

void write_access_log(const net::Exchange& exchange, int status, bool client_gone) {
  const RequestLog& log = log_of(exchange);
  constexpr auto kLevel = spdlog::level::info;
  if (!spdlog::should_log(kLevel)) {
    return;
  }
  using Ms = std::chrono::duration<double, std::milli>;
  const double elapsed = Ms(std::chrono::steady_clock::now() - exchange.started_at).count();
  const std::string_view outcome = stream_outcome(log, client_gone);
  const double ttft = log.first_token_at == std::chrono::steady_clock::time_point{}
                          ? -1
                          : Ms(log.first_token_at - exchange.started_at).count();
  if (core::log_format() == core::LogFormat::kJson) {
    std::string line = R"({"msg":"request","request_id":")";
    core::append_json_escaped(line, exchange.request_id);
    line += R"(","method":")";
    core::append_json_escaped(line, exchange.request.method);
    line += R"(","path":")";
    core::append_json_escaped(line, core::bounded_text(exchange.request.path()));
    fmt::format_to(std::back_inserter(line), R"(","status":{},"duration_ms":{:.3f},"model":")",
                   status, elapsed);
    core::append_json_escaped(line, core::bounded_text(log.model));
    line += R"(","provider":")";
    core::append_json_escaped(line, log.provider);
    line += R"(","outcome":")";
    core::append_json_escaped(line, outcome);
    line += '"';
    if (ttft >= 0) {
      fmt::format_to(std::back_inserter(line), R"(,"ttft_ms":{:.3f})", ttft);
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
    spdlog::log(kLevel, "{}", line);
    return;
  }
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
  spdlog::log(kLevel,
              "{} {} {} {:.3f}ms request_id={} model={} provider={} outcome={} ttft={} "
              "tokens={} client={}{}{}",
              exchange.request.method, core::log_text(exchange.request.path()), status, elapsed,
              exchange.request_id, log.model.empty() ? "-" : core::log_text(log.model),
              log.provider.empty() ? "-" : core::log_text(log.provider),
              outcome.empty() ? "-" : outcome,
              ttft >= 0 ? fmt::format("{:.3f}ms", ttft) : std::string("-"), tokens,
              exchange.request.remote_address, attempts_label, attempts_count);
}

}  // namespace gw::proxy
