#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gw::app {

struct ProviderConfig {
  enum class Kind { kOpenAICompatible, kAnthropic, kAzure, kOllama };
  Kind kind = Kind::kOpenAICompatible;
  std::string name;
  std::string base_url;
  std::string api_key;
  bool latest_alias = false;             // OpenAI-compatible: "x:latest" answers to "x" (Ollama)
  int64_t default_max_tokens = 4096;     // Anthropic: max_tokens when the client sends none
  std::string api_version;               // Azure
  std::vector<std::string> deployments;  // Azure
  bool responses_api = false;  // OpenAI-compatible, Azure: serves POST /v1/responses itself
};

// The OpenAI-compatible services known by name: a key (or, for local servers, a base URL) is
// all they need.
struct ProviderPreset {
  std::string_view name;
  std::string_view base_url;  // empty: the URL variable is required (local servers)
  std::string_view url_variable;
  std::string_view key_variable;
};
std::span<const ProviderPreset> provider_presets();

}  // namespace gw::app
