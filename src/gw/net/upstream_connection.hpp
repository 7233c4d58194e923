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

struct UpstreamConnection {
  using Plain = TcpStream;
  using Secure = beast::ssl_stream<TcpStream>;

  explicit UpstreamConnection(std::variant<Plain, Secure> stream_);

  TcpStream& tcp() {
    return std::visit([](auto& s) -> TcpStream& { return beast::get_lowest_layer(s); }, stream);
  }
  // Whether an idle pooled connection still looks usable (the peer has not closed it).
  bool looks_alive();

  std::variant<Plain, Secure> stream;
  Deadline deadline;  // on the response's reads (first byte, then idle between pieces)
  beast::flat_buffer buffer;
  ResponseHead head;  // of the response being read
  Clock::time_point idle_since;
};

// Idle connections by origin. Shared by the client and its responses (which may outlive it during
// shutdown), hence shared_ptr/weak_ptr.
class UpstreamPool {
 public:
  std::unique_ptr<UpstreamConnection> take(const std::string& origin);
  void put(const std::string& origin, std::unique_ptr<UpstreamConnection> connection);

 private:
  static constexpr size_t kMaxIdlePerOrigin = 512;
  static constexpr std::chrono::seconds kMaxIdleTime{60};
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

// Opens a connection to `target` (through a proxy when configured), with TLS when needed.
Task<tl::expected<std::unique_ptr<UpstreamConnection>, core::Error>> connect_upstream(
    const Endpoint& target, const ProxySettings& proxies, const UpstreamTimeouts& timeouts);

}  // namespace gw::net
