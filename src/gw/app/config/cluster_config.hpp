#pragma once

#include <chrono>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "gw/app/config/server_config.hpp"
#include "gw/cluster/registry.hpp"

namespace gw::app {

struct ControllerConfig {
  net::ServerOptions http;
  bool access_log = true;     // ACCESS_LOG: a line per request
  std::string admin_api_key;  // ADMIN_API_KEY: the dashboard's; empty: loopback clients only
  std::optional<uint16_t> metrics_port;
  net::UpstreamTimeouts timeouts;  // controller -> worker
  net::UpstreamLimits limits;
  core::LogConfig log;
  std::vector<std::string> api_keys;  // GATEWAY_API_KEYS for the public API; empty: open
  std::string internal_api_key;       // INTERNAL_API_KEY; empty: see internal_api_open
  // INTERNAL_API_OPEN: without a key, /internal/* answers any client, not only loopback ones.
  bool internal_api_open = false;
  cluster::RegistryOptions registry;
  std::chrono::milliseconds check_interval{10'000};
  int max_attempts = 3;
  std::chrono::milliseconds queue_timeout{5'000};
  size_t queue_size = 1000;
  // The model table (GATEWAY_CONFIG): aliases and fallbacks between models, re-read on SIGHUP.
  std::string table_path;
  std::vector<TableModelConfig> table;
  std::function<tl::expected<ModelTableConfig, std::string>()> read_table;
};

struct WorkerConfig {
  net::ServerOptions http;
  bool access_log = true;     // ACCESS_LOG: a line per request
  std::string admin_api_key;  // ADMIN_API_KEY: the dashboard's; empty: loopback clients only
  std::optional<uint16_t> metrics_port;
  net::UpstreamTimeouts timeouts;  // worker -> backend
  net::UpstreamLimits limits;
  net::ProxySettings proxies;
  core::LogConfig log;
  std::string worker_id;
  std::string model_id;
  ProviderConfig backend;  // named after its type: openai-compatible, anthropic, ollama, azure
  std::string backend_model;
  // Every controller the worker registers and heartbeats with (CONTROLLER_URL, comma-separated):
  // independent controllers, none a single point of failure.
  std::vector<std::string> controller_urls;
  std::string advertise_url;  // empty: built from the listen address once the port is known
  std::string internal_api_key;
  int64_t capacity = 10;
  std::chrono::milliseconds heartbeat_interval{10'000};
  int64_t registry_retry_count = 30;
  std::chrono::milliseconds registry_retry_delay{5'000};
};

tl::expected<ControllerConfig, std::string> load_controller_config(const core::Settings& settings);
tl::expected<WorkerConfig, std::string> load_worker_config(const core::Settings& settings);

// The URL a worker registers when none is configured: http(s)://<listen host>:<port>, with the
// machine's host name when listening on every interface.
std::string default_advertise_url(const std::string& listen_host, uint16_t port, bool tls);

}  // namespace gw::app
