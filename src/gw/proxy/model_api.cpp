#include "gw/proxy/model_api.hpp"

#include "gw/api/messages_request.hpp"
#include "gw/api/responses_request.hpp"
#include "gw/proxy/proxy.hpp"

namespace gw::proxy {

std::optional<ModelApi> model_api_at(std::string_view path) {
  if (path == "/v1/chat/completions") {
    return ModelApi::kChat;
  }
  if (path == "/v1/completions") {
    return ModelApi::kCompletions;
  }
  if (path == "/v1/responses") {
    return ModelApi::kResponses;
  }
  if (path == "/v1/embeddings") {
    return ModelApi::kEmbeddings;
  }
  if (path == "/v1/messages") {
    return ModelApi::kMessages;
  }
  if (path == "/v1/messages/count_tokens") {
    return ModelApi::kCountTokens;
  }
  return std::nullopt;
}

net::ErrorFormat error_format_for(std::string_view path, std::string_view anthropic_version) {
  const auto under = [path](std::string_view prefix) {
    return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
  };
  if (under("/v1/messages") || (!anthropic_version.empty() && under("/v1/models"))) {
    return {&core::anthropic_error_json, &core::anthropic_sse_error_event};
  }
  return {};
}

const std::string& ModelRequest::model() const {
  return std::visit([](const auto& fields) -> const std::string& { return fields.model; }, info);
}

std::pair<size_t, size_t> ModelRequest::model_token() const {
  return std::visit(
      [](const auto& fields) { return std::pair(fields.model_begin, fields.model_end); }, info);
}

bool ModelRequest::stream() const {
  const auto* fields = chat();
  return fields != nullptr && fields->stream;
}

tl::expected<ModelRequest, core::Error> inspect_model_request(ModelApi api,
                                                              const std::string& body) {
  const auto checked = [api](auto info) -> tl::expected<ModelRequest, core::Error> {
    if (!info) {
      return tl::unexpected(std::move(info.error()));
    }
    return ModelRequest{api, std::move(*info)};
  };
  switch (api) {
    case ModelApi::kChat:
      return checked(api::inspect_chat_request(body));
    case ModelApi::kCompletions:
      return checked(api::inspect_completions_request(body));
    case ModelApi::kResponses:
      return checked(api::inspect_responses_request(body));
    case ModelApi::kEmbeddings:
      return checked(api::inspect_embeddings_request(body));
    case ModelApi::kMessages:
      return checked(api::inspect_messages_request(body));
    case ModelApi::kCountTokens:
      return checked(api::inspect_count_tokens_request(body));
  }
  return tl::unexpected(core::Error{core::Errc::kInternal, "unknown model API"});
}

core::Error echo_refusal(ModelApi api) {
  return {core::Errc::kInvalidRequest,
          api == ModelApi::kEmbeddings
              ? "The echo model answers chat completions only; it has no embeddings"
              : "The echo model answers chat completions only; use /v1/chat/completions",
          "model"};
}

// Not a coroutine: the API's own task is returned for the caller to await (one frame fewer per
// request); everything it refers to is the caller's and outlives it.
net::Task<void> proxy_model_request(net::Exchange& exchange, const ModelRequest& request,
                                    const providers::Provider& provider,
                                    const std::string& upstream_model, net::UpstreamClient& client,
                                    metrics::Metrics& metrics, const net::UpstreamLimits& limits) {
  switch (request.api) {
    case ModelApi::kChat:
    case ModelApi::kCompletions:
      return proxy_chat(
          exchange, *request.chat(), provider, upstream_model, client, metrics, limits,
          request.api == ModelApi::kChat ? Generation::kChat : Generation::kCompletions);
    case ModelApi::kResponses:
      return proxy_responses(exchange, *request.chat(), provider, upstream_model, client, metrics,
                             limits);
    case ModelApi::kEmbeddings:
      return proxy_embeddings(exchange, std::get<api::EmbeddingsRequestInfo>(request.info),
                              provider, upstream_model, client, metrics, limits);
    case ModelApi::kMessages:
    case ModelApi::kCountTokens:
      break;
  }
  return proxy_messages(exchange, *request.chat(), provider, upstream_model, client, metrics,
                        limits, request.api == ModelApi::kCountTokens);
}

}  // namespace gw::proxy
