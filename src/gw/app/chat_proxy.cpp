#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "gw/app/chat.hpp"

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

}  // namespace

net::Headers relayed_headers(const net::UpstreamResponse& upstream) {
  auto starts_with = [](std::string_view name, std::string_view prefix) {
    return name.size() >= prefix.size() && net::iequals(name.substr(0, prefix.size()), prefix);
  };
  net::Headers out;
  for (const auto& [name, value] : upstream.headers()) {
    if (starts_with(name, "x-ratelimit-") || starts_with(name, "openai-") ||
        starts_with(name, "anthropic-ratelimit-") || net::iequals(name, "retry-after")) {
      std::string lower(name);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.push_back({std::move(lower), std::string(value)});
    }
  }
  return out;
}

std::string sse_error_event(const core::Error& error) {
  std::string event = "data: ";
  event += core::error_json(error);
  event += "\n\n";
  return event;
}

Task<void> proxy_chat(Exchange& exchange, const api::ChatRequestInfo& info,
                      const providers::Provider& provider, const std::string& upstream_model,
                      net::UpstreamClient& client, size_t max_upstream_body) {
  const providers::ChatCall call{exchange.request.body, info, upstream_model, exchange.request_id};
  auto prepared = provider.prepare_chat(call);
  if (!prepared) {
    co_return co_await net::respond_error(exchange.writer, prepared.error());
  }
  auto sent = co_await client.send(provider.endpoint(), prepared->request);
  if (!sent) {
    exchange.log.outcome = std::string(outcome_of(sent.error()));
    co_return co_await net::respond_error(exchange.writer, sent.error());
  }
  net::UpstreamResponse& upstream = **sent;
  const int status = upstream.status();
  if (status < 200 || status >= 300) {
    // Error bodies are small; a failure to read one still yields the status-based error.
    auto body = co_await upstream.read_all(1u << 20);
    auto error = provider.map_error(status, body ? std::string_view(*body) : std::string_view(),
                                    upstream.header("retry-after"));
    co_return co_await net::respond_error(exchange.writer, error);
  }

  auto translator = provider.translator(call);
  const bool stream = info.stream && provider.is_stream(upstream.header("content-type"));
  co_await relay_success(exchange, upstream, *translator, stream, provider.name(),
                         max_upstream_body);
}

Task<RelayEnd> relay_success(Exchange& exchange, net::UpstreamResponse& upstream,
                             providers::ResponseTranslator& translator, bool stream,
                             std::string_view upstream_name, size_t max_upstream_body) {
  if (!stream) {
    auto body = co_await upstream.read_all(max_upstream_body);
    if (!body) {
      exchange.log.outcome = std::string(outcome_of(body.error()));
      co_await net::respond_error(exchange.writer, body.error());
      co_return RelayEnd::kUpstreamFailed;
    }
    auto translated = translator.complete(std::move(*body));
    if (!translated) {
      co_await net::respond_error(exchange.writer, translated.error());
      co_return RelayEnd::kUpstreamFailed;
    }
    net::Response response{200, "application/json", relayed_headers(upstream),
                           std::move(*translated)};
    const bool sent = co_await exchange.writer.send(std::move(response));
    co_return sent ? RelayEnd::kCompleted : RelayEnd::kClientGone;
  }

  if (!co_await exchange.writer.start_stream(200, "text/event-stream", relayed_headers(upstream))) {
    co_return RelayEnd::kClientGone;
  }
  for (;;) {
    auto piece = co_await upstream.read_some();
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
    auto out = translator.feed(*piece);
    if (!out) {
      co_return co_await fail_stream(exchange, out.error(), "upstream_error");
    }
    if (translator.finished()) {
      exchange.log.outcome = "completed";
      co_await exchange.writer.finish_stream(*out);
      // The connection is pooled if the upstream's end of body has already arrived (it usually
      // comes with the terminator), else closed: nobody waits for an upstream that lingers.
      upstream.finish_without_waiting();
      co_return RelayEnd::kCompleted;
    }
    if (out->empty()) {
      continue;
    }
    // A co_await on the right of && miscompiles with GCC 12 (see mock_common.cpp): own statement.
    const bool written = co_await exchange.writer.write(*out);
    if (!written) {
      exchange.log.outcome = "client_cancelled";
      co_return RelayEnd::kClientGone;
    }
  }
}

}  // namespace gw::app
