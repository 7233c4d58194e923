#include "gw/app/config/provider_factory.hpp"

#include "gw/providers/anthropic.hpp"
#include "gw/providers/azure.hpp"
#include "gw/providers/ollama.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::app {

std::unique_ptr<providers::Provider> make_provider(const ProviderConfig& config) {
  auto endpoint = net::Endpoint::parse(config.base_url);
  switch (config.kind) {
    case ProviderConfig::Kind::kOllama:
      return std::make_unique<providers::OllamaProvider>(
          providers::OllamaOptions{config.name, *endpoint});
    case ProviderConfig::Kind::kAzure: {
      providers::AzureOptions options;
      options.name = config.name;
      options.endpoint = *endpoint;
      options.api_key = config.api_key;
      options.api_version = config.api_version;
      options.deployments = config.deployments;
      options.responses_api = config.responses_api;
      return std::make_unique<providers::AzureProvider>(std::move(options));
    }
    case ProviderConfig::Kind::kAnthropic: {
      providers::AnthropicOptions options;
      options.name = config.name;
      options.endpoint = *endpoint;
      options.api_key = config.api_key;
      options.default_max_tokens = config.default_max_tokens;
      return std::make_unique<providers::AnthropicProvider>(std::move(options));
    }
    case ProviderConfig::Kind::kOpenAICompatible:
      break;
  }
  return std::make_unique<providers::OpenAICompatibleProvider>(providers::OpenAICompatibleOptions{
      config.name, *endpoint, config.api_key, config.latest_alias, config.responses_api});
}

}  // namespace gw::app
