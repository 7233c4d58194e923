#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "gw/providers/provider.hpp"

namespace gw::providers {

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
  std::unique_ptr<ResponseTranslator> translator(const ChatCall& call) const override;
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
  OllamaOptions options_;
};

// The translations, exposed for golden-file tests.
tl::expected<boost::json::object, core::Error> ollama_request_from_openai(
    const boost::json::object& openai, std::string_view upstream_model);
tl::expected<std::string, core::Error> openai_completion_from_ollama(std::string_view body);
std::unique_ptr<ResponseTranslator> make_ollama_stream_translator(bool include_usage);

}  // namespace gw::providers
