#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tl/expected.hpp>

#include "gw/net/http_types.hpp"

namespace gw::net {

struct ServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  size_t threads = 1;
  size_t max_body_bytes = 32u << 20;
  // All connections' request bodies together (a chunked body counts as max_body_bytes).
  size_t max_buffered_body_bytes = 512u << 20;
  uint32_t max_header_bytes = 64u << 10;
  size_t max_connections = 16384;
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds keepalive_timeout{75'000};
  std::chrono::milliseconds write_timeout{60'000};
  std::chrono::milliseconds drain_timeout{30'000};
  // Both set: HTTPS on the listening port (read again on SIGHUP); both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Creates the handler for one shard. Called once per shard, on the thread that calls run().
using HandlerFactory =
    std::function<std::shared_ptr<HttpHandler>(asio::io_context& context, size_t shard)>;

// An HTTP/1.1 server: one io_context per thread ("shard"), each with its own SO_REUSEPORT
// listener, so that shards share nothing on the request path.
class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every shard's listener; returns the port (useful when options.port is 0) or a message.
  tl::expected<uint16_t, std::string> bind();

  size_t shard_count() const;
  asio::io_context& context(size_t shard);

  // Runs on shard 0 when SIGINT/SIGTERM arrives, before the server stops accepting (a worker
  // deregisters there, so that no new request is routed to it while it drains). Set before run().
  void set_shutdown_hook(std::function<Task<void>()> hook);
  // Runs `hook` on every SIGHUP (on the first shard's thread; it must not block for long), after
  // the TLS certificate, if any, was read again. Set before run(): SIGHUP is caught from then on,
  // before readiness is announced.
  void set_reload_hook(std::function<void()> hook);

  // Serves until SIGINT/SIGTERM or stop(), then stops accepting and lets in-flight requests
  // finish for up to drain_timeout. Blocks; shard 0 runs on the calling thread.
  void run(const HandlerFactory& factory);
  // Thread-safe.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::net
