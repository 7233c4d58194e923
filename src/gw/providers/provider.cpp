// The defaults of the Provider interface.

#include "gw/providers/provider.hpp"

#include <fmt/format.h>

#include "gw/core/logging.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {

std::vector<std::string> Provider::aliases(std::string_view /*model_id*/) const {
  return {};
}

tl::expected<PreparedRequest, core::Error> Provider::prepare_completions(
    const ChatCall& call) const {
  return tl::unexpected(core::Error(
      core::Errc::kInvalidRequest,
      fmt::format("The model '{}' is served by provider '{}', which has no legacy completions API "
                  "(/v1/completions): use /v1/chat/completions",
                  core::bounded_text(call.info.model), name()),
      "model"));
}

std::unique_ptr<ResponseTranslator> Provider::completions_translator(const ChatCall& call,
                                                                     const AnswerHints&) const {
  return make_pass_through(api::strips_usage_chunk(call.info, call.request_usage));
}

tl::expected<PreparedRequest, core::Error> Provider::prepare_responses(
    const ChatCall& /*call*/) const {
  return tl::unexpected(core::Error(
      core::Errc::kInternal,
      fmt::format("provider '{}' has no native Responses API; the request is translated", name())));
}

tl::expected<PreparedRequest, core::Error> Provider::prepare_messages(
    const ChatCall& /*call*/) const {
  return tl::unexpected(core::Error(
      core::Errc::kInternal,
      fmt::format("provider '{}' has no native Messages API; the request is translated", name())));
}

tl::expected<PreparedRequest, core::Error> Provider::prepare_count_tokens(
    const ChatCall& call) const {
  return tl::unexpected(core::Error(
      core::Errc::kInvalidRequest,
      fmt::format("The model '{}' is served by provider '{}', which has no token-counting API: "
                  "POST /v1/messages/count_tokens counts for Anthropic's models and for providers "
                  "with OpenAI's Responses API (RESPONSES_API_PROVIDERS)",
                  core::bounded_text(call.info.model), name()),
      "model"));
}

std::unique_ptr<ResponseTranslator> Provider::count_tokens_translator() const {
  return make_messages_pass_through();
}

tl::expected<PreparedRequest, core::Error> Provider::prepare_embeddings(
    const EmbeddingsCall& call) const {
  return tl::unexpected(core::Error(
      core::Errc::kInvalidRequest,
      fmt::format("The model '{}' is served by provider '{}', which has no embeddings API: send "
                  "embeddings requests to a model of a provider that has one (OpenAI, Azure "
                  "OpenAI, Ollama or an OpenAI-compatible server)",
                  core::bounded_text(call.info.model), name()),
      "model"));
}

std::unique_ptr<ResponseTranslator> Provider::embeddings_translator(
    const EmbeddingsCall& /*call*/) const {
  return make_pass_through();
}

}  // namespace gw::providers
