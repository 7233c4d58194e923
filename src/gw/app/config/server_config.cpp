#include "gw/app/config/server_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <thread>

#include "gw/core/logging.hpp"
#include "gw/core/parse.hpp"

namespace gw::app {
namespace {

std::optional<net::Endpoint> read_proxy(core::ConfigReader& reader, const std::string& lower,
                                        const std::string& upper) {
  auto setting = reader.settings().get(lower);
  if (!setting || setting->value.empty()) {
    setting = reader.settings().get(upper);
  }
  if (!setting || setting->value.empty()) {
    return std::nullopt;
  }
  std::string value = setting->value;
  if (value.find("://") == std::string::npos) {
    value = "http://" + value;  // curl accepts a bare host:port
  }
  auto endpoint = net::Endpoint::parse(value);
  if (!endpoint || endpoint->tls) {
    reader.fail(*setting, endpoint ? "only http:// proxies are supported" : endpoint.error());
    return std::nullopt;
  }
  return *endpoint;
}

bool valid_provider_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Presets (GROQ_API_KEY, VLLM_BASE_URL, ...) and any other server named by
// PROVIDER_<NAME>_BASE_URL (+ PROVIDER_<NAME>_API_KEY), selected by the prefix "<name>/".
void read_openai_compatible_family(core::ConfigReader& reader,
                                   std::vector<ProviderConfig>& providers) {
  auto taken = [&](std::string_view name) {
    return std::any_of(providers.begin(), providers.end(),
                       [&](const ProviderConfig& p) { return p.name == name; });
  };
  for (const auto& preset : provider_presets()) {
    const std::string url_variable(preset.url_variable);
    const std::string key_variable(preset.key_variable);
    auto key = reader.optional_text(key_variable);
    auto url = reader.http_url(url_variable, "");
    if (url.empty() && (!key || preset.base_url.empty())) {
      continue;
    }
    providers.push_back({ProviderConfig::Kind::kOpenAICompatible, std::string(preset.name),
                         url.empty() ? std::string(preset.base_url) : url, key.value_or("")});
  }
  constexpr std::string_view kPrefix = "PROVIDER_";
  constexpr std::string_view kSuffix = "_BASE_URL";
  for (const auto& variable : reader.settings().names()) {
    if (!variable.starts_with(kPrefix) || !variable.ends_with(kSuffix) ||
        variable.size() <= kPrefix.size() + kSuffix.size()) {
      continue;
    }
    const std::string upper =
        variable.substr(kPrefix.size(), variable.size() - kPrefix.size() - kSuffix.size());
    const std::string name = core::ascii_lower(upper);
    if (!valid_provider_name(name) || taken(name)) {
      reader.fail(*reader.settings().get(variable),
                  valid_provider_name(name)
                      ? "this provider name is already taken"
                      : "the provider name may only hold letters, digits, '_' and '-'");
      continue;
    }
    providers.push_back({ProviderConfig::Kind::kOpenAICompatible, name,
                         reader.http_url(variable, ""),
                         reader.text(std::string(kPrefix) + upper + "_API_KEY")});
  }
}

// RESPONSES_API_PROVIDERS: the providers that serve POST /v1/responses themselves (OpenAI and
// Azure by default; vLLM, for one, can be added); the others get it translated to chat.
void read_responses_api_providers(core::ConfigReader& reader,
                                  std::vector<ProviderConfig>& providers) {
  const auto listed = reader.optional_text("RESPONSES_API_PROVIDERS");
  const std::vector<std::string> names =
      listed ? core::split_list(*listed) : std::vector<std::string>{"openai", "azure"};
  for (const auto& name : names) {
    auto provider = std::find_if(providers.begin(), providers.end(),
                                 [&](const ProviderConfig& p) { return p.name == name; });
    if (provider != providers.end()) {
      provider->responses_api = provider->kind == ProviderConfig::Kind::kOpenAICompatible ||
                                provider->kind == ProviderConfig::Kind::kAzure;
    }
    if (listed && (provider == providers.end() || !provider->responses_api)) {
      reader.fail(*reader.settings().get("RESPONSES_API_PROVIDERS"),
                  fmt::format("'{}' is not a configured OpenAI-compatible or Azure provider",
                              core::bounded_text(name, 64)));
    }
  }
}

}  // namespace

net::ServerOptions read_http_options(core::ConfigReader& reader, const std::string& host_variable,
                                     const std::string& port_variable, uint16_t default_port) {
  net::ServerOptions http;
  http.host = reader.text(host_variable, "0.0.0.0");
  if (http.host.empty()) {
    reader.fail(*reader.settings().get(host_variable), "must not be empty");
  }
  http.port = reader.port(port_variable, default_port);
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  http.threads = static_cast<size_t>(reader.integer("GATEWAY_THREADS", cores, 1, 1024));
  http.max_body_bytes =
      static_cast<size_t>(reader.integer("MAX_REQUEST_BYTES", 32 << 20, 1, int64_t{1} << 34));
  http.max_buffered_body_bytes = static_cast<size_t>(
      reader.integer("MAX_BUFFERED_REQUEST_BYTES", 512 << 20, 1 << 20, int64_t{1} << 40));
  http.max_header_bytes =
      static_cast<uint32_t>(reader.integer("MAX_HEADER_BYTES", 64 << 10, 1024, 16 << 20));
  http.max_connections =
      static_cast<size_t>(reader.integer("MAX_CONNECTIONS", 16384, 1, 1'000'000));
  http.header_timeout = reader.seconds("HEADER_READ_TIMEOUT", 30);
  http.body_timeout = reader.seconds("BODY_READ_TIMEOUT", 60);
  http.keepalive_timeout = reader.seconds("KEEPALIVE_TIMEOUT", 75);
  http.drain_timeout = reader.seconds("SHUTDOWN_DRAIN_TIMEOUT", 30);
  http.tls_cert_file = reader.text("TLS_CERT_FILE");
  http.tls_key_file = reader.text("TLS_KEY_FILE");
  if (http.tls_cert_file.empty() != http.tls_key_file.empty()) {
    const char* set = http.tls_cert_file.empty() ? "TLS_KEY_FILE" : "TLS_CERT_FILE";
    reader.fail(*reader.settings().get(set), "needs TLS_CERT_FILE and TLS_KEY_FILE together");
  }
  return http;
}

net::UpstreamTimeouts read_upstream_timeouts(core::ConfigReader& reader) {
  net::UpstreamTimeouts timeouts;
  timeouts.connect = reader.seconds("UPSTREAM_CONNECT_TIMEOUT", 10);
  timeouts.first_byte = reader.seconds("UPSTREAM_FIRST_BYTE_TIMEOUT", 300);
  timeouts.idle = reader.seconds("UPSTREAM_IDLE_TIMEOUT", 120);
  return timeouts;
}

net::UpstreamLimits read_upstream_limits(core::ConfigReader& reader) {
  net::UpstreamLimits limits;
  limits.event = static_cast<size_t>(
      reader.integer("MAX_STREAM_EVENT_BYTES", 4 << 20, 1024, int64_t{1} << 30));
  // 0 turns keep-alive events off (a positive interval is required of every other duration).
  const auto keepalive = reader.settings().get("STREAM_KEEPALIVE_INTERVAL");
  limits.keepalive = keepalive && keepalive->value == "0"
                         ? std::chrono::milliseconds(0)
                         : reader.seconds("STREAM_KEEPALIVE_INTERVAL", 15);
  return limits;
}

std::optional<uint16_t> read_metrics_port(core::ConfigReader& reader) {
  if (!reader.settings().get("METRICS_PORT")) {
    return std::nullopt;
  }
  return reader.port("METRICS_PORT", 0);
}

std::vector<std::string> read_api_keys(core::ConfigReader& reader) {
  std::vector<std::string> keys;
  if (auto listed = reader.optional_text("GATEWAY_API_KEYS")) {
    keys = core::split_list(*listed);
    if (keys.empty()) {
      reader.fail(*reader.settings().get("GATEWAY_API_KEYS"), "no key in the list");
    }
  }
  return keys;
}

net::ProxySettings read_proxy_settings(core::ConfigReader& reader) {
  net::ProxySettings proxies;
  proxies.https_proxy = read_proxy(reader, "https_proxy", "HTTPS_PROXY");
  proxies.http_proxy = read_proxy(reader, "http_proxy", "HTTP_PROXY");
  auto no_proxy = reader.optional_text("no_proxy");
  if (!no_proxy) {
    no_proxy = reader.optional_text("NO_PROXY");
  }
  if (no_proxy) {
    proxies.no_proxy = core::split_list(*no_proxy);
  }
  return proxies;
}

tl::expected<ServerConfig, std::string> load_server_config(const core::Settings& settings) {
  core::ConfigReader reader(settings);
  ServerConfig config;
  config.http = read_http_options(reader, "HOST", "PORT", 8000);
  config.access_log = reader.boolean("ACCESS_LOG", true);
  config.admin_api_key = reader.text("ADMIN_API_KEY");
  config.metrics_port = read_metrics_port(reader);
  config.timeouts = read_upstream_timeouts(reader);
  config.limits = read_upstream_limits(reader);
  config.models_refresh = reader.seconds("MODELS_REFRESH_INTERVAL", 300);
  config.table_path = reader.text("GATEWAY_CONFIG");
  config.request_timeout = reader.seconds("REQUEST_TIMEOUT", 600);
  config.breaker.breaker_failures =
      static_cast<int>(reader.integer("CIRCUIT_FAILURE_THRESHOLD", 5, 1, 1'000'000));
  config.breaker.breaker_cooldown = reader.seconds("CIRCUIT_COOLDOWN", 30);
  config.proxies = read_proxy_settings(reader);

  config.log = core::read_log_config(reader);
  config.api_keys = read_api_keys(reader);

  // OpenAI: configured by a key, or by a base URL alone (a local OpenAI-compatible server).
  auto openai_key = reader.optional_text("OPENAI_API_KEY");
  auto openai_url = reader.http_url("OPENAI_BASE_URL", "");
  if (openai_key || !openai_url.empty()) {
    config.providers.push_back({ProviderConfig::Kind::kOpenAICompatible, "openai",
                                openai_url.empty() ? "https://api.openai.com/v1" : openai_url,
                                openai_key.value_or("")});
  }
  // Ollama: only when OLLAMA_HOST is set; its native API unless OLLAMA_API=openai picks its
  // OpenAI-compatible one under /v1.
  if (reader.optional_text("OLLAMA_HOST")) {
    auto host = reader.http_url("OLLAMA_HOST", "http://localhost:11434");
    if (reader.choice("OLLAMA_API", "native", {"native", "openai"}) == "openai") {
      config.providers.push_back(
          {ProviderConfig::Kind::kOpenAICompatible, "ollama", host + "/v1", "", true});
    } else {
      config.providers.push_back({ProviderConfig::Kind::kOllama, "ollama", host, ""});
    }
  }
  // Anthropic: configured by a key, or by a base URL alone (a proxy that adds the key).
  auto anthropic_key = reader.optional_text("ANTHROPIC_API_KEY");
  auto anthropic_url = reader.http_url("ANTHROPIC_BASE_URL", "");
  const auto anthropic_max_tokens = reader.integer("ANTHROPIC_MAX_TOKENS", 4096, 1, 10'000'000);
  if (anthropic_key || !anthropic_url.empty()) {
    config.providers.push_back({ProviderConfig::Kind::kAnthropic, "anthropic",
                                anthropic_url.empty() ? "https://api.anthropic.com" : anthropic_url,
                                anthropic_key.value_or(""), false, anthropic_max_tokens});
  }
  // Azure OpenAI: its endpoint; deployments are addressed (and listed) as azure/<deployment>.
  if (reader.optional_text("AZURE_OPENAI_ENDPOINT")) {
    ProviderConfig azure{ProviderConfig::Kind::kAzure, "azure",
                         reader.http_url("AZURE_OPENAI_ENDPOINT", ""),
                         reader.text("AZURE_OPENAI_API_KEY")};
    azure.api_version = reader.text("AZURE_OPENAI_API_VERSION", "2024-10-21");
    if (auto deployments = reader.optional_text("AZURE_OPENAI_DEPLOYMENTS")) {
      azure.deployments = core::split_list(*deployments);
    }
    config.providers.push_back(std::move(azure));
  }
  read_openai_compatible_family(reader, config.providers);
  read_responses_api_providers(reader, config.providers);

  if (!config.table_path.empty() && !reader.error()) {
    // Read again on SIGHUP with what it was read with: the same environment and providers.
    config.read_table = [settings, providers = config.providers, path = config.table_path] {
      return load_model_table(path, settings, providers);
    };
    if (auto table = config.read_table()) {
      config.table = std::move(table->models);
    } else {
      reader.fail_with(table.error());
    }
  }

  const bool any_provider = !config.providers.empty() || !config.table.empty();
  config.echo_enabled = reader.boolean("ENABLE_ECHO_MODEL", !any_provider) || !any_provider;

  if (reader.error()) {
    return tl::unexpected(*reader.error());
  }
  return config;
}

}  // namespace gw::app
