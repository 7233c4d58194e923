#include "gw/proxy/proxy.hpp"

#include <spdlog/spdlog.h>

#include "gw/api/messages_to_chat.hpp"
#include "gw/api/responses_request.hpp"
#include "gw/providers/common/retry_after.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/responses.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/head_keepalive.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/relay.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::proxy {
namespace {

using net::Exchange;
using net::Task;

// A 400/422 to a stream that carried the usage request the gateway adds: maybe the server does
// not know the field.
bool refuses_usage_request(const net::UpstreamResponse& upstream, const api::ChatRequestInfo& info,
                           bool requested) {
  const int status = upstream.status();
  return (status == 400 || status == 422) && api::adds_usage_request(info, requested);
}

// A stream's upstream silent before its head gets keep-alive comments (HeadKeepAlive).
std::chrono::milliseconds keepalive_interval(bool stream, const net::UpstreamLimits& limits) {
  return stream ? limits.keepalive : std::chrono::milliseconds(0);
}

// Sends a prepared request, with the forwarding headers, and relays the answer through
// `translator`; a request that could not be prepared is the client's error.
Task<void> forward_prepared(Exchange& exchange,
                            tl::expected<providers::PreparedRequest, core::Error>& prepared,
                            const providers::Provider& provider, net::UpstreamClient& client,
                            providers::ResponseTranslator& translator, bool stream_asked,
                            metrics::Metrics& metrics, const net::UpstreamLimits& limits) {
  if (!prepared) {
    co_return co_await net::respond_error(exchange.writer, prepared.error());
  }
  std::string via;  // the upstream request's Via header (viewed by it)
  add_forwarding_headers(exchange.request, prepared->request.headers, via);
  const auto sent_at = std::chrono::steady_clock::now();
  HeadKeepAlive keepalive(exchange, client.executor(), keepalive_interval(stream_asked, limits));
  auto sent =
      co_await client.send(provider.endpoint(), prepared->request, keepalive.options(limits));
  if (keepalive.started()) {
    co_await keepalive.stop();
  }
  co_await relay_answer(exchange, sent, sent_at, provider, translator, stream_asked, metrics,
                        limits);
}

// The wait the upstream asks for with an error (Retry-After, or the rate-limit reset headers),
// passed on to the client and to the router's cooldown.
std::string retry_after_of(const net::UpstreamResponse& upstream) {
  return providers::retry_after_of([&](std::string_view name) { return upstream.header(name); });
}

}  // namespace

// Over the data path's 60-line aim by a few lines: the re-send to a server that refuses
// stream_options repeats the send's steps in place. One send step shared by both sends would be a
// coroutine of its own: a frame more for every request.
Task<void> proxy_chat(Exchange& exchange, const api::ChatRequestInfo& info,
                      const providers::Provider& provider, const std::string& upstream_model,
                      net::UpstreamClient& client, metrics::Metrics& metrics,
                      const net::UpstreamLimits& limits, Generation kind,
                      const TranslatedRequest* translated) {
  providers::ChatCall call{exchange.request.body, info, upstream_model, exchange.request_id,
                           provider.asks_for_usage()};
  call.parsed = translated != nullptr ? &translated->chat : nullptr;
  const auto prepare = [&] {
    return kind == Generation::kChat ? provider.prepare_chat(call)
                                     : provider.prepare_completions(call);
  };
  auto prepared = prepare();
  if (!prepared) {
    co_return co_await net::respond_error(exchange.writer, prepared.error());
  }
  std::string via;  // the upstream request's Via header (viewed by it)
  add_forwarding_headers(exchange.request, prepared->request.headers, via);
  auto sent_at = std::chrono::steady_clock::now();
  HeadKeepAlive keepalive(exchange, client.executor(), keepalive_interval(info.stream, limits));
  auto sent =
      co_await client.send(provider.endpoint(), prepared->request, keepalive.options(limits));
  if (keepalive.started()) {
    co_await keepalive.stop();
  }
  if (sent && refuses_usage_request(**sent, info, call.request_usage) && !keepalive.started()) {
    // A strict server that does not know stream_options: stop asking it, send the request again.
    auto refusal = co_await (*sent)->read_all(1u << 20);
    if (refusal && refusal->find("stream_options") != std::string::npos) {
      spdlog::warn(
          "provider {} refuses stream_options; streams to it are no longer asked for "
          "usage (token counts of its streams are unknown)",
          provider.name());
      provider.stop_asking_for_usage();
      call.request_usage = false;
      prepared = prepare();
      if (!prepared) {
        co_return co_await net::respond_error(exchange.writer, prepared.error());
      }
      add_forwarding_headers(exchange.request, prepared->request.headers, via);
      sent_at = std::chrono::steady_clock::now();
      HeadKeepAlive again(exchange, client.executor(), keepalive_interval(info.stream, limits));
      sent = co_await client.send(provider.endpoint(), prepared->request, again.options(limits));
      if (again.started()) {
        co_await again.stop();
      }
    } else {
      // Another 400: answer with it (the body has been read).
      log_of(exchange).upstream_time += std::chrono::steady_clock::now() - sent_at;
      metrics.upstream_error(provider.name(), "status");
      auto error = provider.map_error((*sent)->status(),
                                      refusal ? std::string_view(*refusal) : std::string_view(),
                                      retry_after_of(**sent));
      co_return co_await net::respond_error(exchange.writer, error);
    }
  }
  auto translator = kind == Generation::kChat
                        ? provider.translator(call, prepared->hints)
                        : provider.completions_translator(call, prepared->hints);
  if (translated != nullptr) {
    translator = translated->back(std::move(translator));
  }
  co_await relay_answer(exchange, sent, sent_at, provider, *translator, info.stream, metrics,
                        limits);
}

Task<void> relay_answer(Exchange& exchange, Sent& sent,
                        std::chrono::steady_clock::time_point sent_at,
                        const providers::Provider& provider,
                        providers::ResponseTranslator& translator, bool stream_asked,
                        metrics::Metrics& metrics, const net::UpstreamLimits& limits) {
  if (!sent) {
    log_of(exchange).upstream_time += std::chrono::steady_clock::now() - sent_at;
    if (interrupted(exchange)) {
      co_return;
    }
    log_of(exchange).outcome = std::string(outcome_of(sent.error()));
    metrics.upstream_error(provider.name(), upstream_error_kind(sent.error()));
    if (exchange.writer.started()) {
      log_of(exchange).upstream_error = upstream_error_kind(sent.error());
    }
    co_return co_await answer_failure(exchange, translator, sent.error());
  }
  net::UpstreamResponse& upstream = **sent;
  const int status = upstream.status();
  if (status < 200 || status >= 300) {
    // Error bodies are small; a failure to read one still yields the status-based error.
    auto body = co_await upstream.read_all(1u << 20);
    log_of(exchange).upstream_time += std::chrono::steady_clock::now() - sent_at;
    metrics.upstream_error(provider.name(), "status");
    auto error = provider.map_error(status, body ? std::string_view(*body) : std::string_view(),
                                    retry_after_of(upstream));
    if (exchange.writer.started()) {
      log_of(exchange).upstream_error = "status";
    }
    co_return co_await answer_failure(exchange, translator, error);
  }
  const bool stream = stream_asked && provider.is_stream(upstream.header("content-type"));
  co_await relay_success(exchange, upstream, translator, stream, provider.name(), limits, sent_at);
}

Task<void> proxy_responses(Exchange& exchange, const api::ChatRequestInfo& info,
                           const providers::Provider& provider, const std::string& upstream_model,
                           net::UpstreamClient& client, metrics::Metrics& metrics,
                           const net::UpstreamLimits& limits) {
  if (provider.has_responses_api()) {
    const providers::ChatCall call{exchange.request.body, info, upstream_model, exchange.request_id,
                                   false};
    auto prepared = provider.prepare_responses(call);
    const auto translator = providers::make_responses_pass_through();
    co_return co_await forward_prepared(exchange, prepared, provider, client, *translator,
                                        info.stream, metrics, limits);
  }
  // A chat request like any other from here: usage is asked for (and the request sent again
  // without it to a server that refuses stream_options) as for chat; the Responses events report
  // the counts the chat translator kept.
  auto translated = api::responses_to_chat(exchange.request.body);
  if (!translated) {
    co_return co_await net::respond_error(exchange.writer, translated.error());
  }
  const TranslatedRequest as_chat{
      translated->chat.tree,
      [identity = providers::new_response_identity(std::move(translated->echoed))](
          std::unique_ptr<providers::ResponseTranslator> chat) {
        return providers::make_responses_from_chat(std::move(chat), identity);
      }};
  exchange.request.body = std::move(translated->chat.body);
  co_await proxy_chat(exchange, translated->chat.info, provider, upstream_model, client, metrics,
                      limits, Generation::kChat, &as_chat);
}

Task<void> proxy_messages(Exchange& exchange, const api::ChatRequestInfo& info,
                          const providers::Provider& provider, const std::string& upstream_model,
                          net::UpstreamClient& client, metrics::Metrics& metrics,
                          const net::UpstreamLimits& limits, bool count_tokens) {
  if (!provider.has_messages_api() && !count_tokens) {
    auto translated = api::messages_to_chat(exchange.request.body);
    if (!translated) {
      co_return co_await net::respond_error(exchange.writer, translated.error());
    }
    const TranslatedRequest as_chat{
        translated->tree,
        [model = info.model](std::unique_ptr<providers::ResponseTranslator> chat) {
          return providers::make_messages_from_chat(std::move(chat), model);
        }};
    exchange.request.body = std::move(translated->body);
    co_return co_await proxy_chat(exchange, translated->info, provider, upstream_model, client,
                                  metrics, limits, Generation::kChat, &as_chat);
  }
  providers::ChatCall call{exchange.request.body, info, upstream_model, exchange.request_id, false};
  add_anthropic_headers(exchange.request, call.client_headers);
  auto prepared =
      count_tokens ? provider.prepare_count_tokens(call) : provider.prepare_messages(call);
  const auto translator =
      count_tokens ? provider.count_tokens_translator() : providers::make_messages_pass_through();
  co_await forward_prepared(exchange, prepared, provider, client, *translator, info.stream, metrics,
                            limits);
}

Task<void> proxy_embeddings(Exchange& exchange, const api::EmbeddingsRequestInfo& info,
                            const providers::Provider& provider, const std::string& upstream_model,
                            net::UpstreamClient& client, metrics::Metrics& metrics,
                            const net::UpstreamLimits& limits) {
  const providers::EmbeddingsCall call{exchange.request.body, info, upstream_model,
                                       exchange.request_id};
  auto prepared = provider.prepare_embeddings(call);
  const auto translator = provider.embeddings_translator(call);
  co_await forward_prepared(exchange, prepared, provider, client, *translator, false, metrics,
                            limits);
}

}  // namespace gw::proxy
