#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gw/app/chat.hpp"
#include "gw/app/observe.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"

namespace gw::app {
namespace {

using net::Exchange;
using net::Task;

std::string_view outcome_of(const core::Error& error) {
  return error.errc == core::Errc::kUpstreamTimeout ? "timeout" : "upstream_error";
}

// Ends a stream that cannot complete: one final error event, then the end of the response.
Task<RelayEnd> fail_stream(Exchange& exchange, const core::Error& error, std::string_view outcome) {
  exchange.log.outcome = std::string(outcome);
  co_await exchange.writer.finish_stream(sse_error_event(error));
  co_return RelayEnd::kUpstreamFailed;
}

// A stream that failed before its first event, or whose first event is the upstream's error:
// answered with the error's own status, not a 200 and an error event.
Task<RelayEnd> fail_before_start(Exchange& exchange,
                                 const tl::expected<std::string_view, core::Error>& piece,
                                 const tl::expected<std::string_view, core::Error>& out,
                                 const core::Error* first_error, std::string_view upstream_name) {
  core::Error error;
  if (first_error != nullptr) {
    exchange.log.upstream_error = "status";
    exchange.log.outcome = "upstream_error";
    error = *first_error;
  } else if (!piece) {
    exchange.log.outcome = std::string(outcome_of(piece.error()));
    error = piece.error();
  } else if (piece->empty()) {
    exchange.log.outcome = "truncated";
    error = {core::Errc::kUpstreamError,
             fmt::format("upstream {} ended the stream before its first event", upstream_name)};
  } else {
    exchange.log.outcome = "upstream_error";
    error = out.error();
  }
  co_await net::respond_error(exchange.writer, error);
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

}  // namespace

bool interrupted(Exchange& exchange) {
  switch (exchange.interrupted()) {
    case net::Interruption::kNone:
      return false;
    case net::Interruption::kClientGone:
      exchange.log.outcome = "client_cancelled";
      return true;
    case net::Interruption::kShutdown:
      exchange.log.outcome = "shutdown";
      return true;
  }
  return false;
}

namespace {

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
    case 'r':
      return net::iequals(name, "retry-after");
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
      : log_(exchange.log), translator_(translator), stream_(stream), sent_at_(sent_at) {
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
  net::RequestLog& log_;
  const providers::ResponseTranslator& translator_;
  bool stream_;
  std::chrono::steady_clock::time_point sent_at_;
};

}  // namespace

std::string sse_error_event(const core::Error& error) {
  std::string event = "data: ";
  event += core::error_json(error);
  event += "\n\n";
  return event;
}

namespace {

// A 400/422 to a stream that carried the usage request the gateway adds: maybe the server does
// not know the field.
bool refuses_usage_request(const net::UpstreamResponse& upstream, const api::ChatRequestInfo& info,
                           bool requested) {
  const int status = upstream.status();
  return (status == 400 || status == 422) && api::adds_usage_request(info, requested);
}

}  // namespace

void add_forwarding_headers(const net::Request& request, net::HeaderViews& headers,
                            std::string& via) {
  for (std::string_view name : {"traceparent", "tracestate"}) {
    if (auto value = request.header(name); !value.empty()) {
      headers.push_back({name, value});
    }
  }
  via = core::via_with_this_hop(request.header("via"));
  headers.push_back({"via", via});
}

std::optional<core::Error> loop_error(const net::Request& request) {
  if (!core::has_passed_here(request.header("via"))) {
    return std::nullopt;
  }
  return core::Error{core::Errc::kLoopDetected,
                     "The request has already passed through this gateway (its Via header names "
                     "it): an upstream or worker URL points back at the gateway itself"};
}

Task<void> proxy_chat(Exchange& exchange, const api::ChatRequestInfo& info,
                      const providers::Provider& provider, const std::string& upstream_model,
                      net::UpstreamClient& client, metrics::Metrics& metrics,
                      const net::UpstreamLimits& limits) {
  providers::ChatCall call{exchange.request.body, info, upstream_model, exchange.request_id,
                           provider.asks_for_usage()};
  auto prepared = provider.prepare_chat(call);
  if (!prepared) {
    co_return co_await net::respond_error(exchange.writer, prepared.error());
  }
  std::string via;  // the upstream request's Via header (viewed by it)
  add_forwarding_headers(exchange.request, prepared->request.headers, via);
  auto sent_at = std::chrono::steady_clock::now();
  auto sent = co_await client.send(provider.endpoint(), prepared->request);
  if (sent && refuses_usage_request(**sent, info, call.request_usage)) {
    // A strict server that does not know stream_options: stop asking it, send the request again.
    auto refusal = co_await (*sent)->read_all(1u << 20);
    if (refusal && refusal->find("stream_options") != std::string::npos) {
      spdlog::warn(
          "provider {} refuses stream_options; streams to it are no longer asked for "
          "usage (token counts of its streams are unknown)",
          provider.name());
      provider.stop_asking_for_usage();
      call.request_usage = false;
      prepared = provider.prepare_chat(call);
      if (!prepared) {
        co_return co_await net::respond_error(exchange.writer, prepared.error());
      }
      add_forwarding_headers(exchange.request, prepared->request.headers, via);
      sent_at = std::chrono::steady_clock::now();
      sent = co_await client.send(provider.endpoint(), prepared->request);
    } else {
      // Another 400: answer with it (the body has been read).
      exchange.log.upstream_time += std::chrono::steady_clock::now() - sent_at;
      metrics.upstream_error(provider.name(), "status");
      auto error = provider.map_error((*sent)->status(),
                                      refusal ? std::string_view(*refusal) : std::string_view(),
                                      (*sent)->header("retry-after"));
      co_return co_await net::respond_error(exchange.writer, error);
    }
  }
  if (!sent) {
    exchange.log.upstream_time += std::chrono::steady_clock::now() - sent_at;
    if (interrupted(exchange)) {
      co_return;
    }
    exchange.log.outcome = std::string(outcome_of(sent.error()));
    metrics.upstream_error(provider.name(), upstream_error_kind(sent.error()));
    co_return co_await net::respond_error(exchange.writer, sent.error());
  }
  net::UpstreamResponse& upstream = **sent;
  const int status = upstream.status();
  if (status < 200 || status >= 300) {
    // Error bodies are small; a failure to read one still yields the status-based error.
    auto body = co_await upstream.read_all(1u << 20);
    exchange.log.upstream_time += std::chrono::steady_clock::now() - sent_at;
    metrics.upstream_error(provider.name(), "status");
    auto error = provider.map_error(status, body ? std::string_view(*body) : std::string_view(),
                                    upstream.header("retry-after"));
    co_return co_await net::respond_error(exchange.writer, error);
  }

  auto translator = provider.translator(call);
  const bool stream = info.stream && provider.is_stream(upstream.header("content-type"));
  co_await relay_success(exchange, upstream, *translator, stream, provider.name(), limits, sent_at);
}

Task<RelayEnd> relay_success(Exchange& exchange, net::UpstreamResponse& upstream,
                             providers::ResponseTranslator& translator, bool stream,
                             std::string_view upstream_name, const net::UpstreamLimits& limits,
                             std::chrono::steady_clock::time_point sent_at, bool may_retry) {
  // Whatever way the relay ends: the time the upstream took, and the usage seen so far.
  UpstreamAccounting accounting(exchange, translator, stream, sent_at);
  if (auto unusable = unusable_success(upstream, stream, upstream_name)) {
    exchange.log.upstream_error = "protocol";
    exchange.log.outcome = "upstream_error";
    co_await net::respond_error(exchange.writer, *unusable);
    co_return RelayEnd::kUpstreamFailed;
  }
  if (!stream) {
    auto body = co_await upstream.read_all(limits.body);
    if (!body) {
      if (interrupted(exchange)) {
        co_return RelayEnd::kInterrupted;  // the session answers a shutdown's 503
      }
      // Never replayed elsewhere, even with `may_retry`: the upstream answered 2xx, so the
      // generation ran (and is billed) whether or not its body arrived.
      exchange.log.upstream_error = upstream_error_kind(body.error());
      exchange.log.outcome = std::string(outcome_of(body.error()));
      co_await net::respond_error(exchange.writer, body.error());
      co_return RelayEnd::kUpstreamFailed;
    }
    if (interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;
    }
    auto translated = translator.complete(std::move(*body));
    if (!translated) {
      exchange.log.upstream_error = "protocol";
      co_await net::respond_error(exchange.writer, translated.error());
      co_return RelayEnd::kUpstreamFailed;
    }
    if (auto usage = translator.completion_usage()) {
      accounting.set_usage(*usage);
    } else {
      accounting.read_usage(*translated);
    }
    net::Response response{200, "application/json", {}, std::move(*translated)};
    response.relayed = relayed_headers(upstream);
    const bool sent = co_await exchange.writer.send(std::move(response));
    co_return sent ? RelayEnd::kCompleted : RelayEnd::kInterrupted;
  }

  // The response starts only once the upstream has sent something to relay: a failure before
  // that, or an error as the stream's first event (an overloaded Anthropic), still gets a proper
  // status (with Retry-After) instead of a 200 and an error event, and, when the caller can try
  // elsewhere, leaves the client untouched. It costs no time to the first token: the head goes
  // out with it, in one write.
  bool started = false;
  for (;;) {
    // Checked before each read too, not only when one fails: an interruption that came while
    // this coroutine was queued to resume cancelled nothing.
    if (interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;
    }
    auto piece = co_await upstream.read_some();
    if (!piece && interrupted(exchange)) {
      co_return RelayEnd::kInterrupted;  // after a shutdown's cut, the session ends the stream
    }
    // An empty piece is the end of the body: before the translator finished, the upstream broke
    // off (or ended after relaying an error event).
    tl::expected<std::string_view, core::Error> out;
    if (piece && !piece->empty()) {
      out = translator.feed(*piece);
      if (out && translator.buffered() > limits.event) {
        out = tl::unexpected(core::Error{
            core::Errc::kUpstreamError,
            fmt::format(
                "upstream {} sent a stream event longer than {} bytes (MAX_STREAM_EVENT_BYTES)",
                upstream_name, limits.event)});
      }
      if (!out) {
        exchange.log.upstream_error = "protocol";
      }
    } else {
      exchange.log.upstream_error =
          !piece ? upstream_error_kind(piece.error())
                 : (translator.relayed_error() ? std::string_view("status") : "reset");
    }
    const bool failed = !piece || piece->empty() || !out;
    if (!started) {
      const core::Error* first_error = failed ? nullptr : translator.stream_error();
      if (failed || first_error != nullptr) {
        if (may_retry) {
          co_return RelayEnd::kFailedBeforeResponse;
        }
        co_return co_await fail_before_start(exchange, piece, out, first_error, upstream_name);
      }
      if (out->empty() && !translator.finished()) {
        continue;  // nothing to relay yet
      }
      started = true;
      // The events so far go with the head (a finished stream's go with its end, below).
      const std::string_view first = translator.finished() ? std::string_view() : *out;
      if (!first.empty()) {
        accounting.first_write();
      }
      const bool ok = co_await exchange.writer.start_stream(200, "text/event-stream", {},
                                                            relayed_headers(upstream), first);
      if (!ok) {
        co_return RelayEnd::kInterrupted;
      }
      if (!translator.finished()) {
        continue;
      }
    }
    if (!piece) {
      co_return co_await fail_stream(exchange, piece.error(), outcome_of(piece.error()));
    }
    if (piece->empty() && translator.relayed_error()) {
      exchange.log.outcome = "upstream_error";
      co_await exchange.writer.finish_stream();
      co_return RelayEnd::kUpstreamFailed;
    }
    if (piece->empty()) {
      co_return co_await fail_stream(
          exchange,
          {core::Errc::kUpstreamError,
           fmt::format("upstream {} ended the stream before its terminator", upstream_name)},
          "truncated");
    }
    if (!out) {
      co_return co_await fail_stream(exchange, out.error(), "upstream_error");
    }
    if (translator.finished()) {
      // Ended by the upstream's own error event (its final event, relayed as ours) or by its
      // terminator.
      const bool failed_upstream = translator.stream_error() != nullptr;
      if (failed_upstream) {
        exchange.log.upstream_error = "status";
      }
      exchange.log.outcome = failed_upstream ? "upstream_error" : "completed";
      accounting.first_write();
      co_await exchange.writer.finish_stream(*out);
      // The connection is pooled if the upstream's end of body has already arrived (it usually
      // comes with the terminator), else closed: nobody waits for an upstream that lingers.
      upstream.finish_without_waiting();
      co_return failed_upstream ? RelayEnd::kUpstreamFailed : RelayEnd::kCompleted;
    }
    if (out->empty()) {
      continue;
    }
    accounting.first_write();
    // A co_await on the right of && miscompiles with GCC 12 (see mock/common.cpp): own statement.
    const bool written = co_await exchange.writer.write(*out);
    if (!written) {
      if (!interrupted(exchange)) {
        exchange.log.outcome = "client_cancelled";  // the write itself found the client gone
      }
      co_return RelayEnd::kInterrupted;
    }
  }
}

}  // namespace gw::app
