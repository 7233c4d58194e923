#pragma once

// Private to net/: an upstream connection (plain or TLS) and the pool that keeps idle ones.

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "gw/net/deadline.hpp"
#include "gw/net/message_parser.hpp"
#include "gw/net/tcp_stream.hpp"
#include "gw/net/upstream.hpp"

namespace gw::net {

namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

// A read that UpstreamResponse::await_body() started and stopped waiting for (upstream.cpp). Kept
// with the connection, so that its timer is made once per connection, not once per response.
struct PendingUpstreamRead;

struct UpstreamConnection {
  using Plain = TcpStream;
  using Secure = beast::ssl_stream<TcpStream>;

  explicit UpstreamConnection(std::variant<Plain, Secure> stream_);

  TcpStream& tcp() {
    return std::visit([](auto& s) -> TcpStream& { return beast::get_lowest_layer(s); }, stream);
  }
  // Whether an idle pooled connection still looks usable (the peer has not closed it).
  bool looks_alive();
  static void end_quiet_read(void* connection);

  std::variant<Plain, Secure> stream;
  Deadline deadline;  // on the response's reads (first byte, then idle between pieces)
  // UpstreamResponse::await_body() on a plain socket: ends the read it awaits by cancelling it
  // (which loses no byte: a cancelled read took none), and says so in `quiet_expired`.
  Deadline quiet;
  bool quiet_expired = false;
  beast::flat_buffer buffer;
  ResponseHead head;             // of the response being read
  Clock::time_point idle_until;  // while pooled: when it must no longer be reused
  std::shared_ptr<PendingUpstreamRead> pending_read;  // made when a response first has to wait
};

// Idle connections by origin. Shared by the client and its responses (which may outlive it during
// shutdown), hence shared_ptr/weak_ptr. An idle connection is reused only until shortly before
// its server would close it (the server's `Keep-Alive: timeout=N`, else a few seconds: reusing a
// connection the server is closing at that moment fails a request that cannot be replayed), and
// a background sweep closes the expired and the dead ones, so no socket lingers in CLOSE-WAIT.
class UpstreamPool : public std::enable_shared_from_this<UpstreamPool> {
 public:
  explicit UpstreamPool(const Executor& executor) : sweep_timer_(executor) {}

  // An idle connection to `origin`, if one is left. `check_open`: one that a read without waiting
  // finds neither closed nor holding stray bytes (a system call). Without it, the caller writes a
  // request at once, reads the answer within a deadline, and sends the request again on a fresh
  // connection if this one turns out closed (the precondition of read_readiness.hpp).
  std::unique_ptr<UpstreamConnection> take(const std::string& origin, bool check_open = true);
  // `keep_alive` is the value of the response's Keep-Alive header (empty when absent).
  void put(const std::string& origin, std::unique_ptr<UpstreamConnection> connection,
           std::string_view keep_alive);

  // How long a connection may idle in the pool, given the server's Keep-Alive header.
  static Clock::duration idle_lifetime(std::string_view keep_alive);

 private:
  void sweep(Clock::time_point now);
  void arm_sweep();

  static constexpr size_t kMaxIdlePerOrigin = 512;
  static constexpr std::chrono::seconds kSweepInterval{1};
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  SteadyTimer sweep_timer_;
  bool sweep_armed_ = false;
};

// Opens a connection to `target` (through a proxy when configured), with TLS when needed.
Task<tl::expected<std::unique_ptr<UpstreamConnection>, core::Error>> connect_upstream(
    const Endpoint& target, const ProxySettings& proxies, const UpstreamTimeouts& timeouts);

}  // namespace gw::net
