#pragma once

// The model APIs: the POST endpoints whose body names a model, routed by it and forwarded to its
// provider (or worker). One table for the three commands, so that an endpoint is added in one
// place.

#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <variant>

#include "gw/api/chat_request.hpp"
#include "gw/api/embeddings_request.hpp"
#include "gw/core/error.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/provider.hpp"

namespace gw::proxy {

enum class ModelApi {
  kChat,         // POST /v1/chat/completions
  kCompletions,  // POST /v1/completions (legacy)
  kResponses,    // POST /v1/responses
  kEmbeddings,   // POST /v1/embeddings
  kMessages,     // POST /v1/messages (Anthropic's Messages API)
  kCountTokens,  // POST /v1/messages/count_tokens (Anthropic's)
};

// The model API served at `path`, if any.
std::optional<ModelApi> model_api_at(std::string_view path);

// How errors to a request for `path` are written: Anthropic's shape under /v1/messages (its
// clients read no other) and, for a request that carries `anthropic_version` (Anthropic's clients
// send it with every request), under /v1/models; OpenAI's everywhere else.
net::ErrorFormat error_format_for(std::string_view path, std::string_view anthropic_version = {});

// A model API request whose body was checked: what routing needs from it.
struct ModelRequest {
  ModelApi api;
  std::variant<api::ChatRequestInfo, api::EmbeddingsRequestInfo> info;

  const std::string& model() const;
  bool stream() const;
  // Where the model's JSON string token (quotes included) is in the body: [begin, end).
  std::pair<size_t, size_t> model_token() const;
  // Chat, legacy completions, Responses and Messages requests, token counts (null for
  // embeddings).
  const api::ChatRequestInfo* chat() const { return std::get_if<api::ChatRequestInfo>(&info); }
};

// Validates `body` as a request of `api`: a 400 naming the field when it is not one.
tl::expected<ModelRequest, core::Error> inspect_model_request(ModelApi api,
                                                              const std::string& body);

// The built-in echo model answers chat completions only: the error for the other APIs.
core::Error echo_refusal(ModelApi api);

// Forwards a checked request to its provider and relays the answer (proxy_chat, proxy_responses,
// proxy_embeddings or proxy_messages).
net::Task<void> proxy_model_request(net::Exchange& exchange, const ModelRequest& request,
                                    const providers::Provider& provider,
                                    const std::string& upstream_model, net::UpstreamClient& client,
                                    metrics::Metrics& metrics, const net::UpstreamLimits& limits);

}  // namespace gw::proxy
