#include <fmt/format.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "gw/net/direct_io.hpp"
#include "gw/net/message_parser.hpp"
#include "gw/net/read_readiness.hpp"
#include "gw/net/upstream_connection.hpp"

namespace gw::net {
namespace {

namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// One client TLS context for the process; OpenSSL contexts are safe to share once configured.
ssl::context& tls_context() {
  static ssl::context context = [] {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }();
  return context;
}

core::Error unreachable(const Endpoint& target, std::string_view what,
                        const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) {
    return {core::Errc::kUpstreamTimeout, fmt::format("timed out {} {}", what, target.host_header)};
  }
  return {core::Errc::kUpstreamUnreachable,
          fmt::format("upstream {} unreachable ({}): {}", target.host_header, what, ec.message())};
}

Task<tl::expected<void, core::Error>> proxy_connect(TcpStream& stream, const Endpoint& target,
                                                    const Endpoint& proxy) {
  const std::string& host = target.address.empty() ? target.host : target.address;
  std::string authority = fmt::format(
      "{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, target.port);
  std::string request = fmt::format("CONNECT {0} HTTP/1.1\r\nhost: {0}\r\n", authority);
  if (!proxy.authorization.empty()) {
    request += "proxy-authorization: " + proxy.authorization + "\r\n";
  }
  request += "\r\n";
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), kUseTask);
  if (wec) {
    co_return tl::unexpected(unreachable(proxy, "proxy CONNECT", wec));
  }
  // The proxy's answer, read with the same parser as every upstream response, through the
  // stream itself (not its socket, as read_message does): the connect timeout, armed on the
  // stream, bounds it.
  beast::flat_buffer buffer;
  ResponseHead head;
  ResponseParser parser(head);
  parser.skip(true);  // a CONNECT response has no body
  while (!parser.is_header_done()) {
    auto [ec, n] =
        co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 16384)), kUseTask);
    ec = read_done(ec, n, buffer, parser);
    if (!ec) {
      ec = parse_buffered(parser, buffer);
    }
    if (ec) {
      co_return tl::unexpected(unreachable(proxy, "proxy CONNECT", ec));
    }
  }
  if (head.status() != 200) {
    co_return tl::unexpected(core::Error{core::Errc::kUpstreamUnreachable,
                                         fmt::format("proxy {} refused CONNECT to {}: status {}",
                                                     proxy.host_header, authority, head.status())});
  }
  co_return tl::expected<void, core::Error>{};
}

// An IP literal needs no resolver: Asio's asynchronous resolver runs getaddrinfo on a thread of
// its own, and a second thread makes every later system call on a descriptor take a reference on
// its file (the kernel skips that only in single-threaded processes).
Task<tl::expected<std::vector<tcp::endpoint>, boost::system::error_code>> resolve(
    const Endpoint& hop) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(hop.address.empty() ? hop.host : hop.address, ec);
  if (!ec) {
    co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, hop.port)};
  }
  TcpResolver resolver(co_await asio::this_coro::executor);
  auto [rec, results] =
      co_await resolver.async_resolve(hop.host, std::to_string(hop.port), kUseTask);
  if (rec) {
    co_return tl::unexpected(rec);
  }
  std::vector<tcp::endpoint> addresses;
  for (const auto& entry : results) {
    addresses.push_back(entry.endpoint());
  }
  co_return addresses;
}

}  // namespace

Task<tl::expected<std::vector<std::string>, std::string>> resolve_host(std::string host,
                                                                       uint16_t port) {
  TcpResolver resolver(co_await asio::this_coro::executor);
  auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port), kUseTask);
  if (ec) {
    co_return tl::unexpected(ec.message());
  }
  std::vector<std::string> addresses;
  for (const auto& entry : results) {
    addresses.push_back(entry.endpoint().address().to_string());
  }
  co_return addresses;
}

// Room for an ordinary chat completion in one read (Beast's flat_buffer starts at 512 bytes,
// which split one over two reads). Not more: pooled and streaming connections keep it resident.
constexpr size_t kInitialBufferSize = 2048;

UpstreamConnection::UpstreamConnection(std::variant<Plain, Secure> stream_)
    : stream(std::move(stream_)),
      deadline(DeadlineWheel::of(tcp().get_executor()), tcp().socket()),
      quiet(DeadlineWheel::of(tcp().get_executor()), &end_quiet_read, this) {
  buffer.reserve(kInitialBufferSize);
}

void UpstreamConnection::end_quiet_read(void* connection) {
  auto& self = *static_cast<UpstreamConnection*>(connection);
  self.quiet_expired = true;
  boost::system::error_code ignored;
  self.tcp().socket().cancel(ignored);
}

bool UpstreamConnection::looks_alive() {
  char probe = 0;
  auto& socket = tcp().socket();
  if (!socket.is_open()) {
    return false;
  }
  ssize_t n = ::recv(socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  // Nothing to read is the healthy state; EOF or stray bytes mean it cannot be reused.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

Task<tl::expected<std::unique_ptr<UpstreamConnection>, core::Error>> connect_upstream(
    const Endpoint& target, const ProxySettings& proxies, const UpstreamTimeouts& timeouts) {
  auto executor = co_await asio::this_coro::executor;
  const Endpoint* proxy = proxies.proxy_for(target);
  const Endpoint& hop = proxy != nullptr ? *proxy : target;

  auto addresses = co_await resolve(hop);
  if (!addresses) {
    co_return tl::unexpected(unreachable(hop, "resolving", addresses.error()));
  }
  TcpStream stream(executor);
  stream.expires_after(timeouts.connect);
  auto [cec, connected] = co_await stream.async_connect(*addresses, kUseTask);
  if (cec) {
    co_return tl::unexpected(unreachable(hop, "connecting to", cec));
  }
  boost::system::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  if (proxy != nullptr && target.tls) {
    auto tunnel = co_await proxy_connect(stream, target, *proxy);
    if (!tunnel) {
      co_return tl::unexpected(tunnel.error());
    }
  }
  if (!target.tls) {
    stream.expires_never();
    co_return std::make_unique<UpstreamConnection>(std::move(stream));
  }

  UpstreamConnection::Secure secure(std::move(stream), tls_context());
  boost::system::error_code ip_ec;
  asio::ip::make_address(target.host, ip_ec);
  if (ip_ec) {  // SNI only for names, never for IP literals (RFC 6066)
    SSL_set_tlsext_host_name(secure.native_handle(), target.host.c_str());
  }
  secure.set_verify_mode(ssl::verify_peer);
  secure.set_verify_callback(ssl::host_name_verification(target.host));
  auto [hec] = co_await secure.async_handshake(ssl::stream_base::client, kUseTask);
  if (hec) {
    co_return tl::unexpected(unreachable(target, "TLS handshake with", hec));
  }
  beast::get_lowest_layer(secure).expires_never();
  co_return std::make_unique<UpstreamConnection>(std::move(secure));
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& origin, bool check_open) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) {
    return nullptr;
  }
  auto& list = it->second;
  const auto now = Clock::now();
  while (!list.empty()) {
    auto connection = std::move(list.back());
    list.pop_back();
    if (now < connection->idle_until && (!check_open || connection->looks_alive())) {
      // The request is not written yet, so nothing for it is there to read.
      await_readiness_before_next_read(connection->tcp().socket());
      return connection;
    }
  }
  return nullptr;
}

Clock::duration UpstreamPool::idle_lifetime(std::string_view keep_alive) {
  // Without the header, a few seconds: common servers close idle connections after 5 s (Node,
  // uvicorn) without saying so. A connection is never kept longer than a minute.
  constexpr auto kUnannounced = std::chrono::seconds(4);
  constexpr auto kLongest = std::chrono::seconds(60);
  const auto at = keep_alive.find("timeout=");
  if (at == std::string_view::npos) {
    return kUnannounced;
  }
  int64_t seconds = 0;
  for (size_t i = at + 8; i < keep_alive.size() && keep_alive[i] >= '0' && keep_alive[i] <= '9';
       ++i) {
    seconds = std::min<int64_t>(seconds * 10 + (keep_alive[i] - '0'), 3600);
  }
  if (seconds <= 0) {
    return Clock::duration::zero();  // the server keeps nothing idle (or said nothing readable)
  }
  // A second before the server's own limit (half of it for a limit of a second or two).
  const Clock::duration announced = std::chrono::seconds(seconds);
  return std::min<Clock::duration>(kLongest,
                                   std::max(announced - std::chrono::seconds(1), announced / 2));
}

void UpstreamPool::put(const std::string& origin, std::unique_ptr<UpstreamConnection> connection,
                       std::string_view keep_alive) {
  const auto lifetime = idle_lifetime(keep_alive);
  auto& list = idle_[origin];
  if (lifetime <= Clock::duration::zero() || list.size() >= kMaxIdlePerOrigin) {
    return;  // closed as it goes out of scope
  }
  connection->idle_until = Clock::now() + lifetime;
  list.push_back(std::move(connection));
  arm_sweep();
}

void UpstreamPool::sweep(Clock::time_point now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [now](const std::unique_ptr<UpstreamConnection>& connection) {
      return now >= connection->idle_until || !connection->looks_alive();
    });
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

void UpstreamPool::arm_sweep() {
  if (sweep_armed_) {
    return;
  }
  sweep_armed_ = true;
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto pool = weak.lock();
    if (ec || !pool) {
      return;
    }
    pool->sweep_armed_ = false;
    pool->sweep(Clock::now());
    if (!pool->idle_.empty()) {
      pool->arm_sweep();
    }
  });
}

}  // namespace gw::net
