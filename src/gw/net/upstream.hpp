#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "gw/core/error.hpp"
#include "gw/net/endpoint.hpp"
#include "gw/net/http_types.hpp"

namespace gw::net {

struct UpstreamTimeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds first_byte{300'000};  // request written -> response headers
  std::chrono::milliseconds idle{120'000};        // between two reads of the body
};

// How the gateway relays an upstream response: how much it holds at once, and how long a
// stream may leave its client without a byte.
struct UpstreamLimits {
  size_t body = 64u << 20;  // a whole non-streamed response
  size_t event = 4u << 20;  // one stream event (or NDJSON line) that has not ended yet
  // A stream whose upstream stays silent this long gets the client dialect's keep-alive event
  // (an SSE comment; Anthropic's ping), and again after each such interval; before its first
  // event, that commits the response head. 0: never.
  std::chrono::milliseconds keepalive{15'000};
  // When set (a routed request's attempt, within its end-to-end deadline): the most the upstream
  // may take to connect and answer with its head, below the client's own timeouts.
  std::chrono::milliseconds first_byte{0};
};

class UpstreamPool;

// What one send() may ask beyond the client's own settings.
struct SendOptions {
  // When set: the most the upstream may take to connect and answer with its head, below the
  // client's own timeouts (an attempt within a routed request's deadline).
  std::chrono::milliseconds first_byte{0};
  // When set: `slow_head_action(slow_head_context)` runs (once, on the client's executor) if the
  // response head has not come `slow_head_after` after send() began; a stream starts its
  // keep-alive events then. A wheel deadline: nothing is armed on a timer for a fast upstream.
  std::chrono::milliseconds slow_head_after{0};
  void (*slow_head_action)(void* context) = nullptr;
  void* slow_head_context = nullptr;
  // Set by a caller that re-sends unanswered requests anyway (the controller, whose failover
  // sends a request that no worker began to answer to another one): a request that got no byte
  // back on a reused connection then goes once more on a fresh one to the same upstream, as a GET
  // does (also where the caller would not have re-sent it: to its only or last upstream), and so a
  // pooled connection is reused without first checking that it is still open (one system call
  // fewer per request). Unset, a POST that was written is never sent again, and each pooled
  // connection is checked before the request is written.
  bool resend_unanswered = false;
};

// A response whose headers have arrived. The body is read piece by piece as it arrives.
// Destroying it returns the connection to its pool if the body was read to the end and the
// connection can be reused; otherwise the connection is closed (which is how an upstream request
// is cancelled). Use on the executor of the client that made it.
struct UpstreamConnection;  // upstream_connection.hpp

class UpstreamResponse {
 public:
  struct Impl;
  explicit UpstreamResponse(std::unique_ptr<Impl> impl);
  ~UpstreamResponse();
  UpstreamResponse(const UpstreamResponse&) = delete;
  UpstreamResponse& operator=(const UpstreamResponse&) = delete;

  int status() const;
  // Case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
  // The headers in order, by index: (name, value).
  size_t header_count() const;
  std::pair<std::string_view, std::string_view> header_at(size_t index) const;
  // The next piece of the (de-chunked) body; an empty view at the end. The view is valid until
  // the next call. Errors: kUpstreamTimeout (idle timeout), kUpstreamError (reset, bad framing).
  Task<tl::expected<std::string_view, core::Error>> read_some();
  // Waits until read_some() can answer without waiting (a piece of the body, its end or an
  // error), at most `at_most`: false when that passed first. The read it started then goes on,
  // and the next call (or read_some()) continues it: nothing is lost or read twice. For
  // keep-alive events while an upstream keeps a stream silent.
  Task<bool> await_body(std::chrono::milliseconds at_most);
  // Whether read_some() can answer without waiting (bytes, the end or an error are at hand),
  // found without waiting: the cheap test before await_body(), which streams rarely need.
  bool body_ready();
  // The whole rest of the body, at most `limit` bytes.
  Task<tl::expected<std::string, core::Error>> read_all(size_t limit);
  bool done() const;
  // Whether the connection holds bytes of the body that no read_some() has taken yet: the next
  // one returns them without waiting (unless they are only chunk framing).
  bool body_buffered() const;
  // Parses whatever of the body the connection already holds, never waiting for more. For
  // streams: after the terminator event, the end of the chunked body has usually arrived too,
  // and consuming it lets the connection go back to the pool. Returns done().
  bool finish_without_waiting();

 private:
  std::unique_ptr<Impl> impl_;
};

// HTTP/1.1 client for upstream APIs: keep-alive pools per origin, TLS verified against the
// system CA store (SSL_CERT_FILE/SSL_CERT_DIR honoured), HTTP(S)_PROXY/NO_PROXY, TCP_NODELAY,
// timeouts. One instance per shard; not thread-safe: use it on its executor only.
class UpstreamClient {
 public:
  UpstreamClient(Executor executor, ProxySettings proxies, UpstreamTimeouts timeouts);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Sends a request and waits for the response headers. A pooled connection that turns out to be
  // stale (closed before any response byte) is retried once on a fresh connection: always when
  // the request could not be written, after it was written only when it may be repeated (GET,
  // HEAD, or options.resend_unanswered).
  // Errors: kUpstreamUnreachable, kUpstreamTimeout, kUpstreamError.
  Task<tl::expected<std::unique_ptr<UpstreamResponse>, core::Error>> send(
      const Endpoint& target, const OutboundRequest& request, const SendOptions& options = {});

  const UpstreamTimeouts& timeouts() const { return timeouts_; }
  const Executor& executor() const { return executor_; }

 private:
  // The state of one response read on `connection` (an interim 1xx response is followed by
  // another).
  std::unique_ptr<UpstreamResponse::Impl> new_response(UpstreamConnection& connection,
                                                       const std::string& origin,
                                                       std::string_view method) const;

  Executor executor_;
  ProxySettings proxies_;
  UpstreamTimeouts timeouts_;
  std::shared_ptr<UpstreamPool> pool_;
};

// The addresses `host` resolves to (IP literals, the resolver's order; duplicates possible).
Task<tl::expected<std::vector<std::string>, std::string>> resolve_host(std::string host,
                                                                       uint16_t port);

}  // namespace gw::net
