#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "gw/api/chat_request.hpp"
#include "gw/api/embeddings_request.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"

namespace gw::proxy {

// The two generation APIs whose requests share a shape (model, stream, stream_options).
enum class Generation { kChat, kCompletions };

// Forwards a validated chat (or legacy completions) request to its provider and relays the answer
// (streamed event by event when asked). Every failure reaches the client in OpenAI's error
// format: as a response before anything was sent, as a final SSE error event after.
// `translated`, when the chat request was translated from another API's (Responses, Messages).
using TranslateBack = std::function<std::unique_ptr<providers::ResponseTranslator>(
    std::unique_ptr<providers::ResponseTranslator>)>;
struct TranslatedRequest {
  // The chat request as the tree the translation built: a provider that translates it further
  // (Anthropic, Ollama) reads it instead of parsing the body again.
  const boost::json::object& chat;
  // Wraps the chat translator in the one that gives the answer that API's format.
  TranslateBack back;
};
net::Task<void> proxy_chat(net::Exchange& exchange, const api::ChatRequestInfo& info,
                           const providers::Provider& provider, const std::string& upstream_model,
                           net::UpstreamClient& client, metrics::Metrics& metrics,
                           const net::UpstreamLimits& limits, Generation kind = Generation::kChat,
                           const TranslatedRequest* translated = nullptr);

// Forwards a Responses request (`info` from api::inspect_responses_request): spliced to a provider
// that has the Responses API, else translated to chat and the answer translated back.
net::Task<void> proxy_responses(net::Exchange& exchange, const api::ChatRequestInfo& info,
                                const providers::Provider& provider,
                                const std::string& upstream_model, net::UpstreamClient& client,
                                metrics::Metrics& metrics, const net::UpstreamLimits& limits);

// Forwards a Messages request (`info` from api::inspect_messages_request) to a provider that has
// the Messages API (Anthropic; a worker in front of it), the body spliced, the client's
// anthropic-version and anthropic-beta passed on, the answer relayed as it is; to any other, as
// the chat request it translates to (api::messages_to_chat), the answer translated back
// (providers::make_messages_from_chat). Errors are Anthropic-shaped (the writer's error format,
// proxy::error_format_for). `count_tokens`: POST /v1/messages/count_tokens (`info` from
// api::inspect_count_tokens_request) instead, which only a provider with a count answers.
net::Task<void> proxy_messages(net::Exchange& exchange, const api::ChatRequestInfo& info,
                               const providers::Provider& provider,
                               const std::string& upstream_model, net::UpstreamClient& client,
                               metrics::Metrics& metrics, const net::UpstreamLimits& limits,
                               bool count_tokens = false);

// Forwards a validated embeddings request to its provider and relays the answer (translated
// where the provider has its own format), with the same error handling.
net::Task<void> proxy_embeddings(net::Exchange& exchange, const api::EmbeddingsRequestInfo& info,
                                 const providers::Provider& provider,
                                 const std::string& upstream_model, net::UpstreamClient& client,
                                 metrics::Metrics& metrics, const net::UpstreamLimits& limits);

// What sending an upstream request gives.
using Sent = tl::expected<std::unique_ptr<net::UpstreamResponse>, core::Error>;

// The provider's answer to a request sent at `sent_at`, relayed: a failure to get one as the
// client's error; an error status as the provider maps it; a 2xx through `translator`, streamed
// when the client asked for a stream and the upstream answers with one.
net::Task<void> relay_answer(net::Exchange& exchange, Sent& sent,
                             std::chrono::steady_clock::time_point sent_at,
                             const providers::Provider& provider,
                             providers::ResponseTranslator& translator, bool stream_asked,
                             metrics::Metrics& metrics, const net::UpstreamLimits& limits);

}  // namespace gw::proxy
