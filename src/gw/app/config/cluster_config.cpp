#include "gw/app/config/cluster_config.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>

#include "gw/net/endpoint.hpp"

namespace gw::app {
namespace {

std::string required(core::ConfigReader& reader, const std::string& variable,
                     std::string_view flag) {
  auto value = reader.optional_text(variable);
  if (!value || value->empty()) {
    reader.fail_with(
        fmt::format("{} is required (or set {} in the environment or .env)", flag, variable));
    return {};
  }
  return *value;
}

// OpenAI-compatible servers (vLLM, llama.cpp, Ollama, LM Studio...) serve the API under /v1: a
// bare http://host:port means that.
std::string with_default_v1(const std::string& url) {
  auto endpoint = net::Endpoint::parse(url);
  if (endpoint && endpoint->base_path.empty()) {
    return url + "/v1";
  }
  return url;
}

}  // namespace

std::string default_advertise_url(const std::string& listen_host, uint16_t port, bool tls) {
  std::string host = listen_host;
  if (host == "0.0.0.0" || host == "::" || host.empty()) {
    std::array<char, 256> name{};
    host = gethostname(name.data(), name.size() - 1) == 0 && name[0] != '\0'
               ? std::string(name.data())
               : std::string("localhost");
  }
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";  // an IPv6 literal
  }
  return fmt::format("{}://{}:{}", tls ? "https" : "http", host, port);
}

tl::expected<ControllerConfig, std::string> load_controller_config(const core::Settings& settings) {
  core::ConfigReader reader(settings);
  ControllerConfig config;
  config.http = read_http_options(reader, "CONTROLLER_HOST", "CONTROLLER_PORT", 8000);
  config.access_log = reader.boolean("ACCESS_LOG", true);
  config.admin_api_key = reader.text("ADMIN_API_KEY");
  config.metrics_port = read_metrics_port(reader);
  config.timeouts = read_upstream_timeouts(reader);
  config.limits = read_upstream_limits(reader);
  config.log = core::read_log_config(reader);
  config.api_keys = read_api_keys(reader);
  config.internal_api_key = reader.text("INTERNAL_API_KEY");
  config.internal_api_open = reader.boolean("INTERNAL_API_OPEN", false);
  config.registry.heartbeat_timeout = reader.seconds("HEARTBEAT_TIMEOUT", 60);
  config.check_interval = reader.seconds("HEARTBEAT_CHECK_INTERVAL", 10);
  config.registry.breaker_failures =
      static_cast<int>(reader.integer("CIRCUIT_FAILURE_THRESHOLD", 5, 1, 1'000'000));
  config.registry.breaker_cooldown = reader.seconds("CIRCUIT_COOLDOWN", 30);
  config.max_attempts = static_cast<int>(reader.integer("ROUTE_MAX_ATTEMPTS", 3, 1, 100));
  config.queue_timeout = reader.seconds("QUEUE_TIMEOUT", 5);
  config.queue_size = static_cast<size_t>(reader.integer("QUEUE_MAX_SIZE", 1000, 0, 1'000'000));
  config.table_path = reader.text("GATEWAY_CONFIG");
  if (!config.table_path.empty()) {
    config.read_table = [settings, path = config.table_path] {
      return load_model_table(path, settings, {}, TableReader::kController);
    };
    if (auto table = config.read_table()) {
      config.table = std::move(table->models);
    } else {
      reader.fail_with(table.error());
    }
  }
  if (reader.error()) {
    return tl::unexpected(*reader.error());
  }
  return config;
}

tl::expected<WorkerConfig, std::string> load_worker_config(const core::Settings& settings) {
  core::ConfigReader reader(settings);
  WorkerConfig config;
  config.http = read_http_options(reader, "LISTEN_HOST", "LISTEN_PORT", 8001);
  config.access_log = reader.boolean("ACCESS_LOG", true);
  config.admin_api_key = reader.text("ADMIN_API_KEY");
  config.metrics_port = read_metrics_port(reader);
  config.timeouts = read_upstream_timeouts(reader);
  config.limits = read_upstream_limits(reader);
  config.proxies = read_proxy_settings(reader);
  config.log = core::read_log_config(reader);
  config.worker_id = required(reader, "WORKER_ID", "--worker-id");
  config.model_id = required(reader, "MODEL_ID", "--model-id");
  required(reader, "BACKEND_URL", "--backend-url");
  const std::string backend_url = reader.http_url("BACKEND_URL", "");
  const std::string type =
      reader.choice("BACKEND_TYPE", "openai-compatible",
                    {"openai-compatible", "openai", "anthropic", "ollama", "azure"});
  auto& backend = config.backend;
  backend.name = type;  // names the backend in errors, logs and metrics
  backend.api_key = reader.text("BACKEND_API_KEY");
  backend.base_url = backend_url;
  if (type == "anthropic") {
    backend.kind = ProviderConfig::Kind::kAnthropic;
    backend.default_max_tokens = reader.integer("ANTHROPIC_MAX_TOKENS", 4096, 1, 10'000'000);
  } else if (type == "ollama") {
    backend.kind = ProviderConfig::Kind::kOllama;
  } else if (type == "azure") {
    backend.kind = ProviderConfig::Kind::kAzure;
    backend.api_version = reader.text("BACKEND_API_VERSION", "2024-10-21");
  } else {
    backend.base_url = with_default_v1(backend_url);
  }
  // Whether the backend serves POST /v1/responses itself (else it is translated to chat).
  backend.responses_api =
      reader.boolean("BACKEND_RESPONSES_API", type == "openai" || type == "azure");
  if (backend.responses_api && (type == "anthropic" || type == "ollama")) {
    reader.fail(*reader.settings().get("BACKEND_RESPONSES_API"),
                "only an OpenAI-compatible or Azure backend can serve the Responses API");
  }
  config.backend_model = reader.text("BACKEND_MODEL", config.model_id);
  if (config.backend_model.empty()) {
    config.backend_model = config.model_id;
  }
  if (backend.kind == ProviderConfig::Kind::kAzure) {
    backend.deployments = {config.backend_model};
  }
  config.controller_urls = reader.http_urls("CONTROLLER_URL", "http://localhost:8000");
  config.advertise_url = reader.http_url("ADVERTISE_URL", "");
  config.internal_api_key = reader.text("INTERNAL_API_KEY");
  config.capacity = reader.integer("CAPACITY", 10, 1, 1'000'000);
  config.heartbeat_interval = reader.seconds("HEARTBEAT_INTERVAL", 10);
  config.registry_retry_count = reader.integer("REGISTRY_RETRY_COUNT", 30, 0, 1'000'000);
  config.registry_retry_delay = reader.seconds("REGISTRY_RETRY_DELAY", 5);
  if (reader.error()) {
    return tl::unexpected(*reader.error());
  }
  return config;
}

}  // namespace gw::app
