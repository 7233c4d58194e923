#pragma once

#include <chrono>
#include <span>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "gw/core/logging.hpp"
#include "gw/core/settings.hpp"
#include "gw/net/endpoint.hpp"
#include "gw/net/http_server.hpp"
#include "gw/net/upstream.hpp"

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

struct ServerConfig {
  net::ServerOptions http;
  net::UpstreamTimeouts timeouts;
  net::ProxySettings proxies;
  std::string log_level = "info";
  core::LogFormat log_format = core::LogFormat::kText;
  std::vector<std::string> api_keys;  // GATEWAY_API_KEYS; empty: the API is open
  std::vector<ProviderConfig> providers;
  bool echo_enabled = true;
  std::chrono::milliseconds models_refresh{300'000};
};

// Reads and validates every server setting. The error names the flag or variable and its value.
tl::expected<ServerConfig, std::string> load_server_config(const core::Settings& settings);

// Log level and format, shared by every command.
struct LogConfig {
  std::string level;
  core::LogFormat format;
};
LogConfig read_log_config(core::ConfigReader& reader);

// HTTPS_PROXY/HTTP_PROXY/NO_PROXY (lower case first, as curl does).
net::ProxySettings read_proxy_settings(core::ConfigReader& reader);

}  // namespace gw::app
