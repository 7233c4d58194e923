#include "gw/app/options.hpp"

#include <array>

namespace gw::app {
namespace {

constexpr std::array kServerOptions{
    OptionSpec{"--host", "HOST", "0.0.0.0", "address to listen on"},
    OptionSpec{"--port", "PORT", "8000", "port to listen on (0 picks a free port)"},
    OptionSpec{"--threads", "GATEWAY_THREADS", "number of cores", "I/O threads"},
    OptionSpec{"--log-level", "LOG_LEVEL", "info",
               "trace, debug, info, warn, error, critical or off"},
    OptionSpec{"--log-format", "LOG_FORMAT", "text", "text or json (one object per line)"},
    OptionSpec{"--max-request-bytes", "MAX_REQUEST_BYTES", "33554432",
               "largest request body accepted (413 above)"},
    OptionSpec{"--max-header-bytes", "MAX_HEADER_BYTES", "65536",
               "largest request header block accepted (431 above)"},
    OptionSpec{"--max-connections", "MAX_CONNECTIONS", "16384",
               "concurrent client connections; more are refused"},
    OptionSpec{"--header-timeout", "HEADER_READ_TIMEOUT", "30",
               "seconds a client may take to send its request headers"},
    OptionSpec{"--body-timeout", "BODY_READ_TIMEOUT", "60",
               "seconds a client may take to send its request body"},
    OptionSpec{"--keepalive-timeout", "KEEPALIVE_TIMEOUT", "75",
               "seconds an idle keep-alive connection stays open"},
    OptionSpec{"--connect-timeout", "UPSTREAM_CONNECT_TIMEOUT", "10",
               "seconds to connect to an upstream (504 after)"},
    OptionSpec{"--first-byte-timeout", "UPSTREAM_FIRST_BYTE_TIMEOUT", "300",
               "seconds from request sent to upstream response headers (504 after)"},
    OptionSpec{"--idle-timeout", "UPSTREAM_IDLE_TIMEOUT", "120",
               "seconds of upstream silence allowed between stream chunks"},
    OptionSpec{"--drain-timeout", "SHUTDOWN_DRAIN_TIMEOUT", "30",
               "seconds in-flight requests may take to finish after SIGTERM"},
    OptionSpec{"--models-refresh", "MODELS_REFRESH_INTERVAL", "300",
               "seconds between refreshes of the providers' model lists"},
    OptionSpec{"--access-log", "ACCESS_LOG", "1", "one log line per request (1/0)"},
};

constexpr std::array kMockOptions{
    OptionSpec{"--host", "MOCK_HOST", "127.0.0.1", "address to listen on"},
    OptionSpec{"--port", "MOCK_PORT", "9000", "port to listen on (0 picks a free port)"},
    OptionSpec{"--threads", "MOCK_THREADS", "1", "I/O threads"},
    OptionSpec{"--log-level", "LOG_LEVEL", "info", "log level"},
    OptionSpec{"--log-format", "LOG_FORMAT", "text", "text or json"},
    OptionSpec{"--models", "MOCK_MODELS", "mock-model",
               "comma-separated model ids served by /v1/models"},
    OptionSpec{"--api-key", "MOCK_API_KEY", "",
               "require this key in each dialect's own auth header"},
    OptionSpec{"--ttft-ms", "MOCK_TTFT_MS", "0", "delay before the first token, in ms"},
    OptionSpec{"--token-delay-ms", "MOCK_TOKEN_DELAY_MS", "0", "delay between tokens, in ms"},
    OptionSpec{"--tokens", "MOCK_TOKENS", "0",
               "number of tokens to answer with (0: echo the last user message once)"},
    OptionSpec{"--fail-status", "MOCK_FAIL_STATUS", "0",
               "answer every chat request with this HTTP status (0: never)"},
    OptionSpec{"--retry-after", "MOCK_RETRY_AFTER", "", "Retry-After header sent with failures"},
    OptionSpec{"--cut-after", "MOCK_CUT_AFTER", "0",
               "streams: drop the connection after N chunks (0: never)"},
    OptionSpec{"--stall-after", "MOCK_STALL_AFTER", "0",
               "streams: stop sending (connection open) after N chunks (0: never)"},
};

}  // namespace

std::span<const OptionSpec> server_options() {
  return kServerOptions;
}
std::span<const OptionSpec> mock_backend_options() {
  return kMockOptions;
}

}  // namespace gw::app
