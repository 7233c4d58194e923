#pragma once

// Private to net/: the server's per-shard state shared by the listener and the sessions.

#include <atomic>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gw/net/http_server.hpp"
#include "gw/net/io.hpp"
#include "gw/net/server_tls.hpp"

namespace gw::net {

using tcp = asio::ip::tcp;

// One connection's state shared with the things that act on it from outside its coroutine:
// shutdown closes it while it waits for a request; the disconnect watch cancels its request.
struct SessionControl {
  TcpSocket* socket = nullptr;
  bool idle = true;
  bool open = true;  // false once the session has ended
  // The client closed its end, or the drain deadline passed, while a request was in flight.
  Interruption interruption = Interruption::kNone;
  bool watching = false;  // a disconnect watch is pending on the socket
  // Bound to the session coroutine: emitting cancels whatever it is waiting on (upstream I/O,
  // timers), which is how a client's disconnect cancels the upstream request at once.
  asio::cancellation_signal cancel;

  // Cancels the request in flight (once): the handler sees `why` through its Exchange.
  void interrupt(Interruption why) {
    if (interruption == Interruption::kNone) {
      interruption = why;
      cancel.emit(asio::cancellation_type::terminal);
    }
  }
};

// An io_context whose pending operations, and the coroutine frames they hold, can be destroyed
// on demand: before the handlers those frames refer to (a queued request's registration, a
// pooled connection's lease), not after them in the context's own destructor.
class ShardContext : public asio::io_context {
 public:
  using asio::io_context::io_context;
  void destroy_pending_work() { shutdown(); }
};

// Members are declared so that the context is destroyed first: its destructor destroys the
// frames of sessions still suspended (after a drain timeout), and those touch `sessions`.
struct Shard {
  explicit Shard(size_t index_) : index(index_) {}
  size_t index;
  std::unordered_set<SessionControl*> sessions;
  bool stopping = false;
  // One thread runs each shard and only it touches the shard's sockets and timers, so the reactor
  // needs no per-descriptor locks (posting from other threads stays safe).
  ShardContext context{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<TcpAcceptor> acceptor;
  std::shared_ptr<HttpHandler> handler;
  std::optional<SteadyTimer> drain_timer;  // the drain deadline, then the grace after the cut
  std::optional<SteadyTimer> timer_floor;  // see arm_timer_floor()
};

struct HttpServer::Impl {
  ServerOptions options;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> buffered_body_bytes{0};  // reserved by requests being read or served
  std::optional<asio::signal_set> signals;
  std::optional<asio::signal_set> reload_signals;  // SIGHUP
  std::atomic<bool> stop_requested{false};
  std::function<Task<void>()> shutdown_hook;
  std::function<void()> reload_hook;
  std::unique_ptr<ServerTls> tls;  // null: plain HTTP

  void begin_shutdown();
};

// Serves one connection until it closes. Runs on the shard's executor.
Task<void> run_session(HttpServer::Impl& server, Shard& shard, TcpSocket socket,
                       std::shared_ptr<SessionControl> control);

// Called by a session when it ends; stops the shard if it is draining and now idle.
void session_finished(HttpServer::Impl& server, Shard& shard);

}  // namespace gw::net
