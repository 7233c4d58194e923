#pragma once

#include <string>
#include <vector>

#include "gw/providers/provider.hpp"

namespace gw::providers {

struct AzureOptions {
  std::string name = "azure";
  net::Endpoint endpoint;  // https://<resource>.openai.azure.com
  std::string api_key;     // sent as the api-key header
  std::string api_version = "2024-10-21";
  std::vector<std::string> deployments;  // listed as azure/<deployment>
  bool responses_api = true;  // POST /v1/responses to Azure's own (else translated to chat)
};

// Azure OpenAI: OpenAI's wire format at {endpoint}/openai/deployments/{deployment}/...?
// api-version=..., with an api-key header. The stream is normalised so that it starts as OpenAI's
// does (Azure first sends a choice-less chunk with prompt_filter_results, whose results are kept
// on the first real chunk).
class AzureProvider final : public Provider {
 public:
  explicit AzureProvider(AzureOptions options);

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
  core::Error map_error(int status, std::string_view body,
                        std::string_view retry_after) const override;
  net::OutboundRequest models_request() const override;
  tl::expected<std::vector<ModelEntry>, std::string> parse_models(
      std::string_view body) const override;
  std::vector<ModelEntry> configured_models() const override;
  bool lists_prefixed() const override { return true; }

 private:
  // A JSON POST to {endpoint}/openai/deployments/{deployment}/{operation}?api-version=...
  net::OutboundRequest post(std::string_view deployment, std::string_view operation, bool stream,
                            std::string_view request_id) const;

  AzureOptions options_;
};

std::unique_ptr<ResponseTranslator> make_azure_stream_normalizer(bool strip_usage = false);

}  // namespace gw::providers
