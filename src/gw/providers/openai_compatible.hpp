#pragma once

#include <string>

#include "gw/providers/provider.hpp"

namespace gw::providers {

struct OpenAICompatibleOptions {
  std::string name;            // model prefix and owned_by, e.g. "openai", "ollama", "groq"
  net::Endpoint endpoint;      // base URL, e.g. https://api.openai.com/v1
  std::string api_key;         // sent as "Authorization: Bearer"; none when empty
  bool latest_alias = false;   // "name:latest" also answers to "name" (Ollama)
  bool responses_api = false;  // serves POST /responses itself (OpenAI; vLLM when configured)
};

// Any server that speaks OpenAI's chat-completions API: the request is forwarded byte for byte
// apart from the model name, and the response is relayed as is (streams event by event).
class OpenAICompatibleProvider final : public Provider {
 public:
  explicit OpenAICompatibleProvider(OpenAICompatibleOptions options);

  std::string_view name() const override { return options_.name; }
  const net::Endpoint& endpoint() const override { return options_.endpoint; }
  tl::expected<PreparedRequest, core::Error> prepare_chat(const ChatCall& call) const override;
  std::unique_ptr<ResponseTranslator> translator(const ChatCall& call,
                                                 const AnswerHints& hints) const override;
  tl::expected<PreparedRequest, core::Error> prepare_completions(
      const ChatCall& call) const override;
  tl::expected<PreparedRequest, core::Error> prepare_embeddings(
      const EmbeddingsCall& call) const override;
  bool has_responses_api() const override { return options_.responses_api; }
  tl::expected<PreparedRequest, core::Error> prepare_responses(const ChatCall& call) const override;
  // With the Responses API, Messages prompts are counted by its POST /responses/input_tokens.
  tl::expected<PreparedRequest, core::Error> prepare_count_tokens(
      const ChatCall& call) const override;
  std::unique_ptr<ResponseTranslator> count_tokens_translator() const override;
  core::Error map_error(int status, std::string_view body,
                        std::string_view retry_after) const override;
  net::OutboundRequest models_request() const override;
  tl::expected<std::vector<ModelEntry>, std::string> parse_models(
      std::string_view body) const override;
  std::vector<std::string> aliases(std::string_view model_id) const override;

 private:
  // A JSON POST to {base URL}{operation} with the provider's headers.
  net::OutboundRequest post(std::string_view operation, bool stream,
                            std::string_view request_id) const;

  OpenAICompatibleOptions options_;
  std::string authorization_;
};

// Cuts an upstream's event stream at event ends: next() gives the whole events a piece completes
// (a view of the piece itself when nothing was held back, the common case) and holds the rest.
// Only bytes not yet scanned are scanned, so a long event costs linear time.
class WholeEvents {
 public:
  // Valid until the next call.
  std::string_view next(std::string_view piece);
  size_t held() const { return pending_.size(); }
  void clear() { pending_.clear(); }

 private:
  std::string pending_;  // an unfinished event
  std::string out_;
};

// Whether an OpenAI model is a reasoning model (o1*, o3*, o4*, gpt-5*), which refuses
// `max_tokens` and takes `max_completion_tokens`: clients that see a prefixed name ("openai/o3")
// no longer recognise one and send `max_tokens`, so the gateway renames it for them.
bool takes_max_completion_tokens(std::string_view model);

// The pass-through stream relay: forwards whole SSE events as they complete, notes the
// "data: [DONE]" terminator and the usage; with `strip_usage`, the usage-only chunk (which the
// gateway asked for, not the client) is kept from the client. Exposed for tests and for other
// OpenAI-dialect relays (Azure, the controller).
std::unique_ptr<ResponseTranslator> make_pass_through(bool strip_usage = false);

// A non-streamed OpenAI-dialect body, relayed as is once it is known to be a JSON object (an HTML
// error page or a truncated body answered with 200 is a 502, not a success); `usage` gets its
// usage, read in the same pass.
tl::expected<std::string, core::Error> relayed_completion(std::string body,
                                                          std::optional<api::Usage>& usage);

// The end of the last complete SSE event in `bytes` (just past its blank line), or 0. The caller
// has scanned the bytes before `from` already (they hold no blank line): only the rest, and the
// byte before it where a blank line may begin, are scanned. Line ends are LF, CR or CRLF, in any
// mix (the WHATWG rules), so "\n\r\n" ends an event too.
size_t last_event_end(std::string_view bytes, size_t from = 0);

}  // namespace gw::providers
