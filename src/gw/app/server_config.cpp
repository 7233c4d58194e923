#include "gw/app/server_config.hpp"

#include <thread>

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

}  // namespace

LogConfig read_log_config(core::ConfigReader& reader) {
  LogConfig log;
  log.level =
      reader.choice("LOG_LEVEL", "info",
                    {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"});
  if (log.level == "warning") {
    log.level = "warn";
  }
  log.format = reader.choice("LOG_FORMAT", "text", {"text", "json"}) == "json"
                   ? core::LogFormat::kJson
                   : core::LogFormat::kText;
  return log;
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
  auto& http = config.http;
  http.host = reader.text("HOST", "0.0.0.0");
  if (http.host.empty()) {
    reader.fail(*settings.get("HOST"), "must not be empty");
  }
  http.port = reader.port("PORT", 8000);
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  http.threads = static_cast<size_t>(reader.integer("GATEWAY_THREADS", cores, 1, 1024));
  http.max_body_bytes =
      static_cast<size_t>(reader.integer("MAX_REQUEST_BYTES", 32 << 20, 1, int64_t{1} << 34));
  http.max_header_bytes =
      static_cast<uint32_t>(reader.integer("MAX_HEADER_BYTES", 64 << 10, 1024, 16 << 20));
  http.max_connections =
      static_cast<size_t>(reader.integer("MAX_CONNECTIONS", 16384, 1, 1'000'000));
  http.header_timeout = reader.seconds("HEADER_READ_TIMEOUT", 30);
  http.body_timeout = reader.seconds("BODY_READ_TIMEOUT", 60);
  http.keepalive_timeout = reader.seconds("KEEPALIVE_TIMEOUT", 75);
  http.drain_timeout = reader.seconds("SHUTDOWN_DRAIN_TIMEOUT", 30);
  http.access_log = reader.boolean("ACCESS_LOG", true);

  config.timeouts.connect = reader.seconds("UPSTREAM_CONNECT_TIMEOUT", 10);
  config.timeouts.first_byte = reader.seconds("UPSTREAM_FIRST_BYTE_TIMEOUT", 300);
  config.timeouts.idle = reader.seconds("UPSTREAM_IDLE_TIMEOUT", 120);
  config.models_refresh = reader.seconds("MODELS_REFRESH_INTERVAL", 300);
  config.proxies = read_proxy_settings(reader);

  auto log = read_log_config(reader);
  config.log_level = log.level;
  config.log_format = log.format;

  if (auto keys = reader.optional_text("GATEWAY_API_KEYS")) {
    config.api_keys = core::split_list(*keys);
    if (config.api_keys.empty()) {
      reader.fail(*settings.get("GATEWAY_API_KEYS"), "no key in the list");
    }
  }

  // OpenAI: configured by a key, or by a base URL alone (a local OpenAI-compatible server).
  auto openai_key = reader.optional_text("OPENAI_API_KEY");
  auto openai_url = reader.http_url("OPENAI_BASE_URL", "");
  if (openai_key || !openai_url.empty()) {
    config.providers.push_back({"openai",
                                openai_url.empty() ? "https://api.openai.com/v1" : openai_url,
                                openai_key.value_or(""), false});
  }
  // Ollama, through its OpenAI-compatible API under /v1; only when OLLAMA_HOST is set.
  if (reader.optional_text("OLLAMA_HOST")) {
    auto host = reader.http_url("OLLAMA_HOST", "http://localhost:11434");
    config.providers.push_back({"ollama", host + "/v1", "", true});
  }
  (void)reader.http_url("ANTHROPIC_BASE_URL", "");
  (void)reader.http_url("AZURE_OPENAI_ENDPOINT", "");
  if (reader.optional_text("ANTHROPIC_API_KEY")) {
    config.unsupported.emplace_back("anthropic");
  }
  if (reader.optional_text("AZURE_OPENAI_ENDPOINT")) {
    config.unsupported.emplace_back("azure");
  }

  const bool any_provider = !config.providers.empty();
  config.echo_enabled = reader.boolean("ENABLE_ECHO_MODEL", !any_provider) || !any_provider;

  if (reader.error()) {
    return tl::unexpected(*reader.error());
  }
  return config;
}

}  // namespace gw::app
