#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "gw/app/config/model_table_file.hpp"
#include "gw/app/config/provider_config.hpp"
#include "gw/cluster/deployment_pool.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/settings.hpp"
#include "gw/net/endpoint.hpp"
#include "gw/net/http_server.hpp"
#include "gw/net/upstream.hpp"

namespace gw::app {

struct ServerConfig {
  net::ServerOptions http;
  bool access_log = true;     // ACCESS_LOG: a line per request
  std::string admin_api_key;  // ADMIN_API_KEY: the dashboard's; empty: loopback clients only
  std::optional<uint16_t> metrics_port;
  net::UpstreamTimeouts timeouts;
  net::UpstreamLimits limits;
  net::ProxySettings proxies;
  core::LogConfig log;
  std::vector<std::string> api_keys;  // GATEWAY_API_KEYS; empty: the API is open
  std::vector<ProviderConfig> providers;
  bool echo_enabled = true;
  std::chrono::milliseconds models_refresh{300'000};
  // The model table file (GATEWAY_CONFIG), if any: as read at start-up, and how to read it again
  // (on SIGHUP) with the same environment and providers.
  std::string table_path;
  std::vector<TableModelConfig> table;
  std::function<tl::expected<ModelTableConfig, std::string>()> read_table;
  std::chrono::milliseconds request_timeout{600'000};
  cluster::DeploymentPoolOptions breaker;
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
