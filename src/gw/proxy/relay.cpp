// Relaying an upstream's success response to the client: the data path every command shares.

#include "gw/proxy/relay.hpp"

#include <fmt/format.h>

#include "gw/cluster/worker_messages.hpp"
#include "gw/core/logging.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::proxy {

using net::Exchange;
using net::Task;

std::string_view outcome_of(const core::Error& error) {
  return error.errc == core::Errc::kUpstreamTimeout ? "timeout" : "upstream_error";
}

bool interrupted(Exchange& exchange) {
  switch (exchange.interrupted()) {
    case net::Interruption::kNone:
      return false;
    case net::Interruption::kClientGone:
      log_of(exchange).outcome = "client_cancelled";
      return true;
    case net::Interruption::kShutdown:
      log_of(exchange).outcome = "shutdown";
      return true;
  }
  return false;
}

namespace {

// Ends a stream that cannot complete: one final error event, then the end of the response.
// `before`: whole events the translator made before the failure, sent first (a Responses
// stream's are numbered: none may go missing).
Task<RelayEnd> fail_stream(Exchange& exchange, providers::ResponseTranslator& translator,
                           const core::Error& error, std::string_view outcome,
                           std::string_view before = {}) {
  log_of(exchange).outcome = std::string(outcome);
  std::string last(before);
  last += translator.final_error_event(error);
  co_await exchange.writer.fail_stream(last);
  co_return RelayEnd::kUpstreamFailed;
}

// A 2xx the gateway cannot relay as a completion: no body at all, a body in an encoding it does
// not decode (it asks for identity), or, not streamed, a body that is not JSON.
std::optional<core::Error> unusable_success(const net::UpstreamResponse& upstream, bool stream,
                                            std::string_view upstream_name) {
  const int status = upstream.status();
  if (status == 204 || status == 205) {
    return core::Error{
        core::Errc::kUpstreamError,
        fmt::format("upstream {} answered HTTP {} with no body", upstream_name, status)};
  }
  const std::string_view encoding = upstream.header("content-encoding");
  if (!encoding.empty() && !net::iequals(encoding, "identity")) {
    return core::Error{core::Errc::kUpstreamError,
                       fmt::format("upstream {} sent a body with content-encoding '{}' although "
                                   "the gateway asked for identity",
                                   upstream_name, core::bounded_text(encoding, 64))};
  }
  const std::string_view type = upstream.header("content-type");
  if (!stream && !type.empty() && type.find("json") == std::string_view::npos) {
    return core::Error{core::Errc::kUpstreamError,
                       fmt::format("upstream {} answered with content-type '{}', not JSON",
                                   upstream_name, core::bounded_text(type, 64))};
  }
  return std::nullopt;
}

// Upstream response headers a client of the provider's own API would see and may rely on: rate
// limits and the provider's processing metadata. Hop-by-hop and framing headers never pass.
bool is_relayed_header(std::string_view name) {
  auto starts_with = [&](std::string_view prefix) {
    return name.size() >= prefix.size() && net::iequals(name.substr(0, prefix.size()), prefix);
  };
  // Dispatch on the first letter: most headers are then ruled out by one comparison.
  switch (name.empty() ? '\0' : static_cast<char>(name[0] | 0x20)) {
    case 'x':
      return starts_with("x-ratelimit-");
    case 'o':
      return starts_with("openai-");
    case 'a':
      return starts_with("anthropic-ratelimit-");
    case 'r':  // Anthropic's request-id, which its clients report to support
      return net::iequals(name, "retry-after") || net::iequals(name, "request-id");
    default:
      return false;
  }
}

// Views of the upstream response's head: valid while `upstream` is.
net::HeaderViews relayed_headers(const net::UpstreamResponse& upstream) {
  net::HeaderViews out;
  for (size_t i = 0; i < upstream.header_count(); ++i) {
    const auto [name, value] = upstream.header_at(i);
    if (!is_relayed_header(name)) {
      continue;
    }
    if (out.empty()) {
      out.reserve(8);  // providers send a handful (OpenAI: six rate-limit headers and more)
    }
    // Names pass as the provider spelled them, as a plain proxy's do (case does not matter).
    out.push_back(net::HeaderView{name, value});
  }
  return out;
}

// Notes in the exchange's log what the metrics and the access log need of an upstream exchange:
// the time it took, the first event relayed, the token counts (also when the relay fails).
class UpstreamAccounting {
 public:
  UpstreamAccounting(Exchange& exchange, const providers::ResponseTranslator& translator,
                     bool stream, std::chrono::steady_clock::time_point sent_at)
      : log_(log_of(exchange)), translator_(translator), stream_(stream), sent_at_(sent_at) {
    log_.stream = stream;
  }
  ~UpstreamAccounting() {
    log_.upstream_time += std::chrono::steady_clock::now() - sent_at_;
    if (stream_) {
      const auto counts = translator_.usage();
      log_.prompt_tokens = counts.prompt_tokens;
      log_.completion_tokens = counts.completion_tokens;
    }
  }
  UpstreamAccounting(const UpstreamAccounting&) = delete;
  UpstreamAccounting& operator=(const UpstreamAccounting&) = delete;

  void first_write() {
    if (log_.first_token_at == std::chrono::steady_clock::time_point{}) {
      log_.first_token_at = std::chrono::steady_clock::now();
    }
  }
  void read_usage(std::string_view completion) {
    if (auto counts = api::read_usage(completion)) {
      set_usage(*counts);
    }
  }
  void set_usage(const api::Usage& counts) {
    log_.prompt_tokens = counts.prompt_tokens;
    log_.completion_tokens = counts.completion_tokens;
  }

 private:
  RequestLog& log_;
  const providers::ResponseTranslator& translator_;
  bool stream_;
  std::chrono::steady_clock::time_point sent_at_;
};

Task<RelayEnd> relay_completion(Exchange& exchange, net::UpstreamResponse& upstream,
                                providers::ResponseTranslator& translator,
                                const net::UpstreamLimits& limits, UpstreamAccounting& accounting,
                                std::optional<api::Usage> checked) {
  auto body = co_await upstream.read_all(limits.body);
  if (!body) {
    if (interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;  // the session answers a shutdown's 503
    }
    // Never replayed elsewhere, even with `may_retry`: the upstream answered 2xx, so the
    // generation ran (and is billed) whether or not its body arrived.
    log_of(exchange).upstream_error = upstream_error_kind(body.error());
    log_of(exchange).outcome = std::string(outcome_of(body.error()));
    co_await net::respond_error(exchange.writer, body.error());
    co_return RelayEnd::kUpstreamFailed;
  }
  if (interrupted(exchange)) {
    co_return RelayEnd::kInterrupted;
  }
  if (checked) {
    accounting.set_usage(*checked);
  } else {
    auto translated = translator.complete(std::move(*body));
    if (!translated) {
      log_of(exchange).upstream_error = "protocol";
      co_await net::respond_error(exchange.writer, translated.error());
      co_return RelayEnd::kUpstreamFailed;
    }
    body = std::move(*translated);
    if (auto usage = translator.completion_usage()) {
      accounting.set_usage(*usage);
    } else {
      accounting.read_usage(*body);
    }
  }
  net::Response response{200, "application/json", {}, std::move(*body)};
  const RequestLog& log = log_of(exchange);
  if (log.report_checked_usage && log.prompt_tokens >= 0 && log.completion_tokens >= 0) {
    response.headers.push_back(
        {std::string(cluster::kCheckedUsageHeader),
         cluster::checked_usage_value({log.prompt_tokens, log.completion_tokens})});
  }
  response.relayed = relayed_headers(upstream);
  const bool sent = co_await exchange.writer.send(std::move(response));
  co_return sent ? RelayEnd::kCompleted : RelayEnd::kInterrupted;
}

// One read of a stream, through the translator: `piece` as read (empty: the body ended), `out`
// what to relay of it. A failure is noted in the log as the upstream's error kind.
struct StreamStep {
  tl::expected<std::string_view, core::Error> piece;
  tl::expected<std::string_view, core::Error> out;
  std::string_view made;  // what the translator made of a piece whose event was too long
  bool failed() const { return !piece || piece->empty() || !out; }
};

StreamStep translate_step(Exchange& exchange, providers::ResponseTranslator& translator,
                          tl::expected<std::string_view, core::Error> piece,
                          std::string_view upstream_name, const net::UpstreamLimits& limits) {
  StreamStep step{std::move(piece), std::string_view()};
  if (step.piece && !step.piece->empty()) {
    step.out = translator.feed(*step.piece);
    if (step.out && translator.buffered() > limits.event) {
      step.made = *step.out;
      step.out = tl::unexpected(core::Error{
          core::Errc::kUpstreamError,
          fmt::format(
              "upstream {} sent a stream event longer than {} bytes (MAX_STREAM_EVENT_BYTES)",
              upstream_name, limits.event)});
    }
    if (!step.out) {
      log_of(exchange).upstream_error = "protocol";
    }
  } else {
    // An empty piece is the end of the body: before the translator finished, the upstream broke
    // off (or ended after relaying an error event).
    log_of(exchange).upstream_error =
        !step.piece ? upstream_error_kind(step.piece.error())
                    : (translator.relayed_error() ? std::string_view("status") : "reset");
  }
  return step;
}

// A stream that failed before its first event, or whose first event is the upstream's error:
// answered with the error's own status, not a 200 and an error event; or (`may_retry`: the caller
// can try elsewhere) left unanswered.
Task<RelayEnd> fail_before_start(Exchange& exchange, const StreamStep& step,
                                 const providers::ResponseTranslator& translator,
                                 std::string_view upstream_name, bool may_retry) {
  if (may_retry) {
    co_return RelayEnd::kFailedBeforeResponse;
  }
  const core::Error* first_error = step.failed() ? nullptr : translator.stream_error();
  core::Error error;
  if (first_error != nullptr) {
    log_of(exchange).upstream_error = "status";
    log_of(exchange).outcome = "upstream_error";
    error = *first_error;
  } else if (!step.piece) {
    log_of(exchange).outcome = std::string(outcome_of(step.piece.error()));
    error = step.piece.error();
  } else if (step.piece->empty()) {
    log_of(exchange).outcome = "truncated";
    error = {core::Errc::kUpstreamError,
             fmt::format("upstream {} ended the stream before its first event", upstream_name)};
  } else {
    log_of(exchange).outcome = "upstream_error";
    error = step.out.error();
  }
  co_await net::respond_error(exchange.writer, error);
  co_return RelayEnd::kUpstreamFailed;
}

// After the response has started: how a failed or finished step ends it.
Task<RelayEnd> end_stream(Exchange& exchange, net::UpstreamResponse& upstream,
                          providers::ResponseTranslator& translator, const StreamStep& step,
                          std::string_view upstream_name, UpstreamAccounting& accounting) {
  if (!step.piece) {
    co_return co_await fail_stream(exchange, translator, step.piece.error(),
                                   outcome_of(step.piece.error()));
  }
  if (step.piece->empty() && translator.relayed_error()) {
    log_of(exchange).outcome = "upstream_error";
    co_await exchange.writer.finish_stream();
    co_return RelayEnd::kUpstreamFailed;
  }
  if (step.piece->empty()) {
    co_return co_await fail_stream(
        exchange, translator,
        {core::Errc::kUpstreamError,
         fmt::format("upstream {} ended the stream before its terminator", upstream_name)},
        "truncated");
  }
  if (!step.out) {
    co_return co_await fail_stream(exchange, translator, step.out.error(), "upstream_error",
                                   step.made);
  }
  // Finished: by the upstream's own error event (its final event, relayed as ours) or by its
  // terminator.
  const bool failed_upstream = translator.stream_error() != nullptr;
  if (failed_upstream) {
    log_of(exchange).upstream_error = "status";
  }
  log_of(exchange).outcome = failed_upstream ? "upstream_error" : "completed";
  accounting.first_write();
  if (exchange.writer.started()) {
    co_await exchange.writer.finish_stream(*step.out);
  } else {
    // The whole stream came before anything was sent: head, events and end in one write.
    co_await exchange.writer.send_stream(200, "text/event-stream", {}, relayed_headers(upstream),
                                         *step.out);
  }
  // The connection is pooled if the upstream's end of body has already arrived (it usually
  // comes with the terminator), else closed: nobody waits for an upstream that lingers.
  upstream.finish_without_waiting();
  co_return failed_upstream ? RelayEnd::kUpstreamFailed : RelayEnd::kCompleted;
}

// While the upstream leaves a started stream silent: the client dialect's keep-alive event each
// `interval`, so that the client (and any proxy between) does not give the stream up. False when
// the request was interrupted or the client is gone.
Task<bool> keep_alive_until_body(Exchange& exchange, net::UpstreamResponse& upstream,
                                 std::string_view event, std::chrono::milliseconds interval) {
  for (;;) {
    const bool body = co_await upstream.await_body(interval);
    if (interrupted(exchange)) {
      co_return false;
    }
    if (body) {
      co_return true;
    }
    const bool written = co_await exchange.writer.write(event);
    if (!written) {
      log_of(exchange).outcome = "client_cancelled";
      co_return false;
    }
  }
}

enum class UpstreamWait : uint8_t { kBodyReady, kHeadCommitted, kInterrupted };

// Waits for the upstream's next bytes, keeping the stream alive: once its head went out, with a
// keep-alive event every `interval`; before, a whole interval without a first event (a model
// thinking) commits the head with a keep-alive event, so that no proxy between gives the client
// up (a failure from then on is the stream's final error event, no longer retried elsewhere).
Task<UpstreamWait> wait_for_upstream(Exchange& exchange, net::UpstreamResponse& upstream,
                                     std::string_view keepalive, std::chrono::milliseconds interval,
                                     bool started) {
  if (started) {
    const bool alive = co_await keep_alive_until_body(exchange, upstream, keepalive, interval);
    co_return alive ? UpstreamWait::kBodyReady : UpstreamWait::kInterrupted;
  }
  const bool body = co_await upstream.await_body(interval);
  if (interrupted(exchange)) {
    co_return UpstreamWait::kInterrupted;
  }
  if (body) {
    co_return UpstreamWait::kBodyReady;
  }
  const bool ok = co_await exchange.writer.start_stream(200, "text/event-stream", {},
                                                        relayed_headers(upstream), keepalive);
  co_return ok ? UpstreamWait::kHeadCommitted : UpstreamWait::kInterrupted;
}

// The response starts only once the upstream has sent something to relay: a failure before
// that, or an error as the stream's first event (an overloaded Anthropic), still gets a proper
// status (with Retry-After) instead of a 200 and an error event, and, when the caller can try
// elsewhere, leaves the client untouched. It costs no time to the first token: the head goes out
// with it, in one write. An upstream silent for a whole keep-alive interval commits the head
// early, with a keep-alive event; one silent that long later gets another.
Task<RelayEnd> relay_stream(Exchange& exchange, net::UpstreamResponse& upstream,
                            providers::ResponseTranslator& translator,
                            std::string_view upstream_name, const net::UpstreamLimits& limits,
                            bool may_retry, UpstreamAccounting& accounting) {
  bool started = exchange.writer.started();  // the head committed while the upstream's was awaited
  const std::string_view keepalive =
      limits.keepalive.count() > 0 ? translator.keepalive_event() : std::string_view();
  for (;;) {
    // Checked before each read too, not only when one fails: an interruption that came while
    // this coroutine was queued to resume cancelled nothing.
    if (interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;
    }
    // Only a read that would wait may need keep-alive events (the test itself waits for nothing).
    if (!keepalive.empty() && !upstream.body_ready()) {
      const UpstreamWait waited =
          co_await wait_for_upstream(exchange, upstream, keepalive, limits.keepalive, started);
      if (waited == UpstreamWait::kInterrupted) {
        co_return RelayEnd::kInterrupted;
      }
      if (waited == UpstreamWait::kHeadCommitted) {
        started = true;
        continue;
      }
    }
    auto piece = co_await upstream.read_some();
    if (!piece && interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;  // after a shutdown's cut, the session ends the stream
    }
    const StreamStep step =
        translate_step(exchange, translator, std::move(piece), upstream_name, limits);
    if (!started && (step.failed() || translator.stream_error() != nullptr)) {
      co_return co_await fail_before_start(exchange, step, translator, upstream_name, may_retry);
    }
    if (step.failed() || translator.finished()) {  // (if not started: all in end_stream's write)
      co_return co_await end_stream(exchange, upstream, translator, step, upstream_name,
                                    accounting);
    }
    if (step.out->empty()) {
      continue;  // nothing to relay yet
    }
    accounting.first_write();
    // GCC 12 miscompiles a co_await in a conditional or on the right of && (see mock/common.cpp).
    bool written = false;
    if (started) {
      written = co_await exchange.writer.write(*step.out);
    } else {
      started = true;  // the first events go with the head
      written = co_await exchange.writer.start_stream(200, "text/event-stream", {},
                                                      relayed_headers(upstream), *step.out);
    }
    if (!written) {
      if (!interrupted(exchange)) {
        log_of(exchange).outcome = "client_cancelled";  // the write itself found the client gone
      }
      co_return RelayEnd::kInterrupted;
    }
  }
}

}  // namespace

Task<void> answer_failure(Exchange& exchange, providers::ResponseTranslator& translator,
                          const core::Error& error) {
  if (!exchange.writer.started()) {
    co_return co_await net::respond_error(exchange.writer, error);
  }
  const std::string outcome =
      log_of(exchange).outcome.empty() ? "upstream_error" : log_of(exchange).outcome;
  co_await fail_stream(exchange, translator, error, outcome);
}

Task<RelayEnd> relay_success(Exchange& exchange, net::UpstreamResponse& upstream,
                             providers::ResponseTranslator& translator, bool stream,
                             std::string_view upstream_name, const net::UpstreamLimits& limits,
                             std::chrono::steady_clock::time_point sent_at, bool may_retry,
                             std::optional<api::Usage> checked) {
  // Whatever way the relay ends: the time the upstream took, and the usage seen so far.
  UpstreamAccounting accounting(exchange, translator, stream, sent_at);
  if (auto unusable = unusable_success(upstream, stream, upstream_name)) {
    log_of(exchange).upstream_error = "protocol";
    log_of(exchange).outcome = "upstream_error";
    co_await answer_failure(exchange, translator, *unusable);
    co_return RelayEnd::kUpstreamFailed;
  }
  if (!stream && exchange.writer.started()) {
    // The stream's head went out while the upstream's was awaited; it then answered whole.
    log_of(exchange).upstream_error = "protocol";
    co_return co_await fail_stream(
        exchange, translator,
        {core::Errc::kUpstreamError,
         fmt::format("upstream {} answered a stream request without a stream", upstream_name)},
        "upstream_error");
  }
  if (!stream) {
    co_return co_await relay_completion(exchange, upstream, translator, limits, accounting,
                                        checked);
  }
  co_return co_await relay_stream(exchange, upstream, translator, upstream_name, limits, may_retry,
                                  accounting);
}

}  // namespace gw::proxy
