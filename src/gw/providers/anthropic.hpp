#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "gw/providers/provider.hpp"

namespace gw::providers {

struct AnthropicOptions {
  std::string name = "anthropic";
  net::Endpoint endpoint;              // e.g. https://api.anthropic.com
  std::string api_key;                 // sent as x-api-key
  std::string version = "2023-06-01";  // anthropic-version
  int64_t default_max_tokens = 4096;   // Anthropic requires max_tokens; OpenAI does not
};

// Anthropic's Messages API (/v1/messages) behind OpenAI's chat-completions API: requests,
// responses, stream events and errors are translated both ways; a field Anthropic cannot express
// is rejected with a 400 naming it, never dropped.
class AnthropicProvider final : public Provider {
 public:
  explicit AnthropicProvider(AnthropicOptions options);

  std::string_view name() const override { return options_.name; }
  const net::Endpoint& endpoint() const override { return options_.endpoint; }
  tl::expected<PreparedRequest, core::Error> prepare_chat(const ChatCall& call) const override;
  std::unique_ptr<ResponseTranslator> translator(const ChatCall& call,
                                                 const AnswerHints& hints) const override;
  bool has_messages_api() const override { return true; }
  tl::expected<PreparedRequest, core::Error> prepare_messages(const ChatCall& call) const override;
  tl::expected<PreparedRequest, core::Error> prepare_count_tokens(
      const ChatCall& call) const override;
  core::Error map_error(int status, std::string_view body,
                        std::string_view retry_after) const override;
  net::OutboundRequest models_request() const override;
  tl::expected<std::vector<ModelEntry>, std::string> parse_models(
      std::string_view body) const override;

 private:
  net::HeaderViews headers() const;
  // A Messages API request (`path` /v1/messages or /v1/messages/count_tokens) with the client's
  // body, the model spliced in.
  PreparedRequest messages_request(const ChatCall& call, std::string_view path) const;
  AnthropicOptions options_;
};

// The tool through which Anthropic answers a request for JSON (response_format json_schema or
// json_object): forced, its input becomes the message content.
inline constexpr std::string_view kJsonResponseTool = "json_response";

// Whether a chat request asks for a JSON answer (response_format json_schema or json_object).
bool asks_for_json(const boost::json::object& openai);

// The translation itself, exposed for golden-file tests: the Anthropic request body (JSON text).
tl::expected<std::string, core::Error> anthropic_request_from_openai(
    const boost::json::object& openai, std::string_view upstream_model, int64_t default_max_tokens);
// `usage`, when given, receives the token counts (as OpenAI counts them) of a translated reply.
// With `json_answer`, the kJsonResponseTool call is the answer: its input is the content and the
// finish reason "stop".
tl::expected<std::string, core::Error> openai_completion_from_anthropic(std::string_view body,
                                                                        api::Usage* usage = nullptr,
                                                                        bool json_answer = false);
std::unique_ptr<ResponseTranslator> make_anthropic_stream_translator(bool include_usage,
                                                                     bool json_answer = false);
// Anthropic's error type -> HTTP status the client gets (529 overloaded -> 503).
int anthropic_error_status(std::string_view type, int upstream_status);
// An Anthropic error (an error response's, or a stream's `error` event with status 200) as the
// client's error: status by anthropic_error_status, Retry-After kept for 429 and 503.
core::Error anthropic_error(int status, std::string type, std::string message,
                            std::string_view retry_after);
// stop_reason -> finish_reason
std::string_view finish_reason_from_anthropic(std::string_view stop_reason);

}  // namespace gw::providers
