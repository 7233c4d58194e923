#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "gw/providers/provider.hpp"

namespace gw::providers {

namespace ollama_json {
// A member of `object` that is present and not null (Ollama's translations treat the two alike).
inline const boost::json::value* member(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && !value->is_null() ? value : nullptr;
}
// The usage of a final line ("done": true): prompt_eval_count and eval_count (0 when absent).
inline api::Usage usage_of(const boost::json::object& line) {
  const auto count = [&](std::string_view key) -> int64_t {
    const auto* value = member(line, key);
    return value != nullptr && value->is_int64() ? api::sane_token_count(value->as_int64()) : 0;
  };
  return {count("prompt_eval_count"), count("eval_count")};
}
}  // namespace ollama_json

struct OllamaOptions {
  std::string name = "ollama";
  net::Endpoint endpoint;  // e.g. http://localhost:11434
};

// Ollama's native API (/api/chat, /api/tags): messages with base64 images, tools and tool calls,
// sampling options, JSON output formats, and NDJSON streams translated to OpenAI's SSE chunks.
class OllamaProvider final : public Provider {
 public:
  explicit OllamaProvider(OllamaOptions options);

  std::string_view name() const override { return options_.name; }
  const net::Endpoint& endpoint() const override { return options_.endpoint; }
  tl::expected<PreparedRequest, core::Error> prepare_chat(const ChatCall& call) const override;
  std::unique_ptr<ResponseTranslator> translator(const ChatCall& call,
                                                 const AnswerHints& hints) const override;
  // POST /v1/completions: /api/generate (ollama_generate.cpp).
  tl::expected<PreparedRequest, core::Error> prepare_completions(
      const ChatCall& call) const override;
  std::unique_ptr<ResponseTranslator> completions_translator(
      const ChatCall& call, const AnswerHints& hints) const override;
  tl::expected<PreparedRequest, core::Error> prepare_embeddings(
      const EmbeddingsCall& call) const override;
  std::unique_ptr<ResponseTranslator> embeddings_translator(
      const EmbeddingsCall& call) const override;
  bool is_stream(std::string_view content_type) const override;
  core::Error map_error(int status, std::string_view body,
                        std::string_view retry_after) const override;
  net::OutboundRequest models_request() const override;
  tl::expected<std::vector<ModelEntry>, std::string> parse_models(
      std::string_view body) const override;
  std::vector<std::string> aliases(std::string_view model_id) const override;

 private:
  // POST {endpoint}{path} with a translated JSON body.
  PreparedRequest post(std::string_view path, const boost::json::object& body,
                       std::string_view request_id) const;

  OllamaOptions options_;
};

// What a chat request's tool_choice and parallel_tool_calls ask of Ollama's answer, which has no
// such controls: `forced_call` (tool_choice `required` or a named function) is carried out by
// constraining the output with `format` to the shape {"name": ..., "arguments": {...}}, which the
// answer's translation turns into the tool call; `one_call` (parallel_tool_calls false, or a
// forced call) keeps the first of the calls the model makes.
struct OllamaToolMode {
  bool forced_call = false;
  bool one_call = false;
};
OllamaToolMode ollama_tool_mode(const boost::json::object& openai);

// Ollama's NDJSON stream as it arrives: each whole line handed on, the rest kept for the next
// piece. The kept bytes hold no newline, so only new bytes are searched (a long line costs linear
// time, not a rescan per read). Shared by the /api/chat and /api/generate translators.
class NdjsonLines {
 public:
  // Calls `on_line` (returning tl::expected<void, core::Error>) for each complete non-empty line;
  // stops at the first error, dropping what follows it.
  template <class OnLine>
  tl::expected<void, core::Error> feed(std::string_view piece, OnLine&& on_line) {
    const size_t scanned = pending_.size();
    pending_.append(piece);
    size_t start = 0;
    for (size_t eol = pending_.find('\n', scanned); eol != std::string::npos;
         eol = pending_.find('\n', start)) {
      const std::string_view line(pending_.data() + start, eol - start);
      start = eol + 1;
      if (line.empty()) {
        continue;
      }
      if (auto handled = on_line(line); !handled) {
        pending_.erase(0, start);
        return handled;
      }
    }
    pending_.erase(0, start);
    return {};
  }
  // Bytes of a line that has not ended yet.
  size_t held() const { return pending_.size(); }

 private:
  std::string pending_;
};

// The translations, exposed for golden-file tests.
tl::expected<boost::json::object, core::Error> ollama_request_from_openai(
    const boost::json::object& openai, std::string_view upstream_model);
// A legacy completions request as /api/generate's (raw: the prompt continued as text).
tl::expected<boost::json::object, core::Error> ollama_generate_from_openai(
    const boost::json::object& openai, std::string_view upstream_model);
tl::expected<std::string, core::Error> openai_completion_from_ollama(std::string_view body,
                                                                     OllamaToolMode mode = {});
std::unique_ptr<ResponseTranslator> make_ollama_stream_translator(bool include_usage,
                                                                  OllamaToolMode mode = {});

}  // namespace gw::providers
