#pragma once

#include <chrono>
#include <optional>
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

struct ServerConfig {
  net::ServerOptions http;
  std::optional<uint16_t> metrics_port;
  net::UpstreamTimeouts timeouts;
  net::UpstreamLimits limits;
  net::ProxySettings proxies;
  core::LogConfig log;
  std::vector<std::string> api_keys;  // GATEWAY_API_KEYS; empty: the API is open
  std::vector<ProviderConfig> providers;
  bool echo_enabled = true;
  std::chrono::milliseconds models_refresh{300'000};
};

// Reads and validates every server setting. The error names the flag or variable and its value.
tl::expected<ServerConfig, std::string> load_server_config(const core::Settings& settings);

// What the commands share: logging, the listener and its limits (host and port under the
// command's own variable names), upstream timeouts, client keys, outbound proxies.
net::ServerOptions read_http_options(core::ConfigReader& reader, const std::string& host_variable,
                                     const std::string& port_variable, uint16_t default_port);
net::UpstreamTimeouts read_upstream_timeouts(core::ConfigReader& reader);
// MAX_STREAM_EVENT_BYTES.
net::UpstreamLimits read_upstream_limits(core::ConfigReader& reader);
// METRICS_PORT: a second port for /metrics; none when unset.
std::optional<uint16_t> read_metrics_port(core::ConfigReader& reader);
// GATEWAY_API_KEYS; empty when unset.
std::vector<std::string> read_api_keys(core::ConfigReader& reader);

// HTTPS_PROXY/HTTP_PROXY/NO_PROXY (lower case first, as curl does).
net::ProxySettings read_proxy_settings(core::ConfigReader& reader);

}  // namespace gw::app
