#include "gw/app/config/options.hpp"

#include <array>
#include <vector>

namespace gw::app {
namespace {

// What every command that serves HTTP shares, after its own host and port.
constexpr std::array kHttpOptions{
    OptionSpec{"--threads", "GATEWAY_THREADS", "number of cores", "I/O threads"},
    OptionSpec{"--log-level", "LOG_LEVEL", "info",
               "trace, debug, info, warn, error, critical or off"},
    OptionSpec{"--log-format", "LOG_FORMAT", "text", "text or json (one object per line)"},
    OptionSpec{"--max-request-bytes", "MAX_REQUEST_BYTES", "33554432",
               "largest request body accepted (413 above)"},
    OptionSpec{"--max-buffered-request-bytes", "MAX_BUFFERED_REQUEST_BYTES", "536870912",
               "request body bytes all connections may hold at once (a chunked body counts as "
               "MAX_REQUEST_BYTES); beyond, 503 with Retry-After"},
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
    OptionSpec{"--max-stream-event-bytes", "MAX_STREAM_EVENT_BYTES", "4194304",
               "longest upstream stream event (or line) held; a longer one ends the stream with "
               "an error"},
    OptionSpec{"--stream-keepalive", "STREAM_KEEPALIVE_INTERVAL", "15",
               "seconds of upstream silence after which a stream gets a keep-alive (an SSE "
               "comment; Anthropic's dialect: a ping event); 0: never"},
    OptionSpec{"--drain-timeout", "SHUTDOWN_DRAIN_TIMEOUT", "30",
               "seconds in-flight requests may take to finish after SIGTERM"},
    OptionSpec{"--access-log", "ACCESS_LOG", "1", "one log line per request (1/0)"},
    OptionSpec{"--tls-cert", "TLS_CERT_FILE", "",
               "PEM certificate chain: HTTPS on the listening port (with --tls-key; both read "
               "again on SIGHUP)"},
    OptionSpec{"--tls-key", "TLS_KEY_FILE", "", "PEM private key of --tls-cert"},
    OptionSpec{"--metrics-port", "METRICS_PORT", "",
               "also serve /metrics on this port (it is always on the main port)"},
};

constexpr std::array kServerOptions{
    OptionSpec{"--host", "HOST", "0.0.0.0", "address to listen on"},
    OptionSpec{"--port", "PORT", "8000", "port to listen on (0 picks a free port)"},
    OptionSpec{"--models-refresh", "MODELS_REFRESH_INTERVAL", "300",
               "seconds between refreshes of the providers' model lists"},
    OptionSpec{"--config", "GATEWAY_CONFIG", "",
               "the model table (YAML): models with several deployments, weights and fallbacks; "
               "re-read on SIGHUP"},
    OptionSpec{"--request-timeout", "REQUEST_TIMEOUT", "600",
               "seconds a table model's request may take to begin its answer, every retry and "
               "fallback included"},
    OptionSpec{"--circuit-failures", "CIRCUIT_FAILURE_THRESHOLD", "5",
               "consecutive failures that open a table deployment's circuit"},
    OptionSpec{"--circuit-cooldown", "CIRCUIT_COOLDOWN", "30",
               "seconds an open circuit waits before letting one trial request through"},
};

constexpr std::array kControllerOptions{
    OptionSpec{"--host", "CONTROLLER_HOST", "0.0.0.0", "address to listen on"},
    OptionSpec{"--port", "CONTROLLER_PORT", "8000", "port to listen on (0 picks a free port)"},
    OptionSpec{"--heartbeat-timeout", "HEARTBEAT_TIMEOUT", "60",
               "seconds without a heartbeat after which a worker is lost (removed after twice "
               "that)"},
    OptionSpec{"--heartbeat-check-interval", "HEARTBEAT_CHECK_INTERVAL", "10",
               "seconds between health checks (heartbeat sweep and active probes)"},
    OptionSpec{"--circuit-failures", "CIRCUIT_FAILURE_THRESHOLD", "5",
               "consecutive failures that open a worker's circuit"},
    OptionSpec{"--circuit-cooldown", "CIRCUIT_COOLDOWN", "30",
               "seconds an open circuit waits before letting one trial request through"},
    OptionSpec{"--max-attempts", "ROUTE_MAX_ATTEMPTS", "3",
               "workers tried for one request before its error reaches the client"},
    OptionSpec{"--queue-timeout", "QUEUE_TIMEOUT", "5",
               "seconds a request waits for a free worker when all are at capacity (429 after)"},
    OptionSpec{"--queue-size", "QUEUE_MAX_SIZE", "1000",
               "requests that may wait at once; more get 429 at once"},
    OptionSpec{"--config", "GATEWAY_CONFIG", "",
               "the model table (YAML): aliases and fallbacks between the workers' models; "
               "re-read on SIGHUP"},
    OptionSpec{"--internal-api-open", "INTERNAL_API_OPEN", "0",
               "without INTERNAL_API_KEY, accept /internal/* from any client, not only loopback "
               "(1/0; unsafe: a client could register a worker and receive prompts)"},
};

constexpr std::array kWorkerOptions{
    OptionSpec{"--host", "LISTEN_HOST", "0.0.0.0", "address to listen on"},
    OptionSpec{"--port", "LISTEN_PORT", "8001", "port to listen on (0 picks a free port)"},
    OptionSpec{"--worker-id", "WORKER_ID", "", "this worker's unique id (required)"},
    OptionSpec{"--model-id", "MODEL_ID", "", "the model this worker serves (required)"},
    OptionSpec{"--backend-url", "BACKEND_URL", "",
               "the backend's base URL, e.g. http://localhost:11434 (required)"},
    OptionSpec{"--backend-type", "BACKEND_TYPE", "openai-compatible",
               "openai-compatible, anthropic, ollama (native API) or azure"},
    OptionSpec{"--backend-model", "BACKEND_MODEL", "the model id",
               "the model name the backend knows, e.g. llama3:8b-instruct-q4"},
    OptionSpec{"--backend-api-key", "BACKEND_API_KEY", "", "the backend's API key"},
    OptionSpec{"--backend-api-version", "BACKEND_API_VERSION", "2024-10-21",
               "azure: the api-version query parameter"},
    OptionSpec{"--controller-url", "CONTROLLER_URL", "http://localhost:8000",
               "where the controller listens"},
    OptionSpec{"--advertise-url", "ADVERTISE_URL", "http://<host>:<port>",
               "the URL the controller uses to reach this worker"},
    OptionSpec{"--capacity", "CAPACITY", "10", "concurrent requests; more get 429 at once"},
    OptionSpec{"--heartbeat-interval", "HEARTBEAT_INTERVAL", "10", "seconds between heartbeats"},
    OptionSpec{"--registry-retry-count", "REGISTRY_RETRY_COUNT", "30",
               "retries of the registration at start-up before giving up"},
    OptionSpec{"--registry-retry-delay", "REGISTRY_RETRY_DELAY", "5",
               "seconds before the first retry; doubles (with jitter) up to 60"},
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
    OptionSpec{"--ttft-ms", "MOCK_TTFT_MS", "0",
               "delay before the first token (and an injected failure), in ms"},
    OptionSpec{"--token-delay-ms", "MOCK_TOKEN_DELAY_MS", "0", "delay between tokens, in ms"},
    OptionSpec{"--first-event-delay-ms", "MOCK_FIRST_EVENT_DELAY_MS", "0",
               "streams: silence between the response head and the first event, in ms"},
    OptionSpec{"--tokens", "MOCK_TOKENS", "0",
               "number of tokens to answer with (0: echo the last user message once)"},
    OptionSpec{"--fail-status", "MOCK_FAIL_STATUS", "0",
               "answer every chat request with this HTTP status (0: never; POST "
               "/mock/fail-status changes it at run time)"},
    OptionSpec{"--retry-after", "MOCK_RETRY_AFTER", "", "Retry-After header sent with failures"},
    OptionSpec{"--cut-after", "MOCK_CUT_AFTER", "0",
               "streams: drop the connection after N chunks (0: never)"},
    OptionSpec{"--stall-after", "MOCK_STALL_AFTER", "0",
               "streams: stop sending (connection open) after N chunks (0: never)"},
    OptionSpec{"--stream-error", "MOCK_STREAM_ERROR", "",
               "Anthropic streams: answer 200, then an `error` event of this type (e.g. "
               "overloaded_error) as the first event"},
    OptionSpec{"--strict", "MOCK_STRICT", "0",
               "OpenAI dialect: refuse stream_options with 400, like an older strict server"},
    OptionSpec{"--whole-stream", "MOCK_WHOLE_STREAM", "0",
               "streams: send every event and the end in one write after the head, as a fast "
               "local server does (no token delays)"},
};

template <size_t N>
std::vector<OptionSpec> with_http_options(const std::array<OptionSpec, N>& own) {
  std::vector<OptionSpec> all(own.begin(), own.end());
  all.insert(all.end(), kHttpOptions.begin(), kHttpOptions.end());
  return all;
}

}  // namespace

std::span<const OptionSpec> server_options() {
  static const auto all = with_http_options(kServerOptions);
  return all;
}
std::span<const OptionSpec> controller_options() {
  static const auto all = with_http_options(kControllerOptions);
  return all;
}
std::span<const OptionSpec> worker_options() {
  static const auto all = with_http_options(kWorkerOptions);
  return all;
}
std::span<const OptionSpec> mock_backend_options() {
  return kMockOptions;
}

}  // namespace gw::app
