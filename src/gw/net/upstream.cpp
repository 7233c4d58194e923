// The upstream client: a request sent on a pooled (or new) connection, its response's head read,
// and the response's body read as it comes, the connection back in the pool when the body ended
// cleanly. Just over 500 lines: the sending and the reading share the connection's parser, its
// deadline and the pool.

#include "gw/net/upstream.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "gw/net/direct_io.hpp"
#include "gw/net/upstream_connection.hpp"

namespace gw::net {

using namespace std::string_view_literals;  // appending a literal then needs no strlen
namespace {

namespace http = beast::http;

constexpr size_t kBodyBufferSize = 8192;

bool is_stale_connection_error(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// The request's head as it goes to `target` (through `proxy` when not null).
std::string request_head(const Endpoint& target, const Endpoint* proxy,
                         const OutboundRequest& request) {
  const bool absolute_form = proxy != nullptr && !target.tls;
  size_t body_size = 0;
  for (auto part : request.body) {
    body_size += part.size();
  }
  std::string head;
  head.reserve(256 + request.path.size());
  head.append(request.method);
  head += ' ';
  if (absolute_form) {
    head += "http://"sv;
    head += target.host_header;
  }
  head += request.path;
  head += " HTTP/1.1\r\nhost: "sv;
  head += target.host_header;
  // Bodies are relayed and parsed as they come: none may arrive compressed.
  head += "\r\naccept-encoding: identity\r\n"sv;
  if (absolute_form && !proxy->authorization.empty()) {
    head += "proxy-authorization: " + proxy->authorization + "\r\n";
  }
  for (const auto& h : request.headers) {
    head += h.name;
    head += ": "sv;
    head += h.value;
    head += "\r\n"sv;
  }
  if (body_size > 0 || request.method == "POST" || request.method == "PUT") {
    head += "content-length: "sv;
    append_decimal(head, body_size);
    head += "\r\n"sv;
  }
  head += "\r\n"sv;
  return head;
}

// The head, then the body's parts: one gathered write.
std::vector<asio::const_buffer> request_buffers(const std::string& head,
                                                const OutboundRequest& request) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(request.body.size() + 1);
  buffers.emplace_back(head.data(), head.size());
  for (auto part : request.body) {
    buffers.emplace_back(part.data(), part.size());
  }
  return buffers;
}

// The client's timeouts, a request's own first-byte bound (the time it has left) applied.
UpstreamTimeouts timeouts_for(UpstreamTimeouts timeouts, const SendOptions& options) {
  if (options.first_byte.count() > 0) {
    timeouts.first_byte = std::min(timeouts.first_byte, options.first_byte);
    timeouts.connect = std::min(timeouts.connect, options.first_byte);
  }
  return timeouts;
}

// Arms `watch` to run the caller's slow-head action, if it has one, once the head is that late.
void watch_slow_head(std::optional<Deadline>& watch, const SendOptions& options,
                     const Executor& executor) {
  if (options.slow_head_after.count() > 0 && options.slow_head_action != nullptr) {
    watch.emplace(DeadlineWheel::of(executor), options.slow_head_action, options.slow_head_context);
    watch->arm(options.slow_head_after);
  }
}

core::Error write_failure(const boost::system::error_code& ec, const Endpoint& target) {
  return {
      ec == beast::error::timeout ? core::Errc::kUpstreamTimeout : core::Errc::kUpstreamUnreachable,
      fmt::format("sending the request to {} failed: {}", target.host_header, ec.message())};
}

core::Error read_failure(const boost::system::error_code& ec, const Endpoint& target,
                         std::chrono::milliseconds first_byte) {
  if (ec == beast::error::timeout) {
    return {core::Errc::kUpstreamTimeout, fmt::format("{} sent no response within {} ms",
                                                      target.host_header, first_byte.count())};
  }
  return {core::Errc::kUpstreamError,
          fmt::format("reading the response from {} failed: {}", target.host_header, ec.message())};
}

}  // namespace

// A read that await_body() started and stopped waiting for: its outcome waits here for the next
// call. Shared with the read's handler, which may run after the response is gone (closing the
// socket ends the read): the handler touches nothing else.
struct PendingUpstreamRead {
  explicit PendingUpstreamRead(const Executor& executor)
      : wake(executor), quiet(DeadlineWheel::of(executor), &wake_up, this) {}
  static void wake_up(void* read) { static_cast<PendingUpstreamRead*>(read)->wake.cancel(); }

  // The waiting call sleeps on `wake` with no expiry, which moves no timer in the event loop:
  // the read's handler, or the `quiet` deadline (a link in the shard's wheel), cancels the wait.
  SteadyTimer wake;
  Deadline quiet;
  bool started = false;
  bool finished = false;
  boost::system::error_code ec;
  size_t n = 0;
};

struct UpstreamResponse::Impl {
  // User-provided on purpose: make_unique value-initialises, which for an implicit constructor
  // zero-fills the whole object first (an 8 KiB memset per request, measured at 10% of the
  // pass-through's instructions).
  explicit Impl(ResponseHead& head) : parser(head) {}

  std::unique_ptr<UpstreamConnection> connection;
  std::weak_ptr<UpstreamPool> pool;
  std::string origin;
  std::chrono::milliseconds idle_timeout{};
  ResponseParser parser;  // its head lives in the connection, reused by its next response
  // Not value-initialised: it is only ever read after the parser wrote into it.
  std::array<char, kBodyBufferSize> body;
  size_t ready = 0;  // bytes of `body` parsed but not yet returned by read_some()
  // The idle deadline runs across await_body()'s quiet returns: silence is bounded as a whole.
  bool idle_armed = false;
  bool topped_up = false;  // the first piece was joined by what had arrived after the head's read
  boost::system::error_code read_error;  // a read await_body() finished, failed: read_some()'s

  // Parses what the connection holds into `body` after the `ready` bytes.
  boost::system::error_code parse_body() {
    parser.set_body_buffer(body.data() + ready, body.size() - ready);
    const auto ec = parse_buffered(parser, connection->buffer);
    ready = body.size() - parser.body_room();
    return ec;
  }
  // The connection's (it outlives the response only when pooled, with no read in flight).
  std::shared_ptr<PendingUpstreamRead>& pending() const { return connection->pending_read; }
  bool read_in_flight() const { return pending() && pending()->started; }
  void start_pending_read();
  // Takes a finished pending read: commits its bytes and gives its outcome (a timeout if the
  // idle deadline ended it).
  boost::system::error_code take_pending_read() {
    auto& read = *pending();
    read.started = false;
    read.finished = false;
    return connection->deadline.end(read_done(read.ec, read.n, connection->buffer, parser));
  }
};

void UpstreamResponse::Impl::start_pending_read() {
  pending()->started = true;
  connection->deadline.arm(idle_timeout);
  std::visit(
      [&](auto& stream) {
        auto& buffer = connection->buffer;
        read_layer(stream).async_read_some(
            buffer.prepare(beast::read_size(buffer, kMaxRead)),
            [read = pending()](boost::system::error_code ec, size_t n) {
              read->finished = true;
              read->ec = ec;
              read->n = n;
              read->wake.cancel();
            });
      },
      connection->stream);
}

namespace {

// Reads, without blocking, the bytes already in the socket's receive queue, up to `limit` (plain
// TCP only: TLS records may hold a partial frame); true when some were.
bool read_arrived(UpstreamConnection& connection, size_t limit) {
  auto* plain = std::get_if<UpstreamConnection::Plain>(&connection.stream);
  if (plain == nullptr) {
    return false;
  }
  boost::system::error_code ec;
  const size_t available = plain->socket().available(ec);
  if (ec || available == 0) {
    return false;
  }
  const size_t n =
      plain->socket().read_some(connection.buffer.prepare(std::min(available, limit)), ec);
  if (ec) {
    return false;
  }
  connection.buffer.commit(n);
  return true;
}

}  // namespace

UpstreamResponse::UpstreamResponse(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UpstreamResponse::~UpstreamResponse() {
  if (!impl_ || !impl_->connection) {
    return;
  }
  // Bytes already buffered past this response would be read as the next one's: never pool then.
  if (impl_->parser.is_done() && impl_->parser.keep_alive() &&
      impl_->parser.head().status() >= 200 && impl_->connection->buffer.size() == 0) {
    if (auto pool = impl_->pool.lock()) {
      pool->put(impl_->origin, std::move(impl_->connection),
                impl_->parser.head().find("keep-alive"));
      return;
    }
  }
  boost::system::error_code ignored;
  impl_->connection->tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  impl_->connection->tcp().close();
}

int UpstreamResponse::status() const {
  return impl_->parser.head().status();
}

std::string_view UpstreamResponse::header(std::string_view name) const {
  return impl_->parser.head().find(name);
}

size_t UpstreamResponse::header_count() const {
  return impl_->parser.head().field_count();
}

std::pair<std::string_view, std::string_view> UpstreamResponse::header_at(size_t index) const {
  return impl_->parser.head().field(index);
}

bool UpstreamResponse::done() const {
  return impl_->parser.is_done();
}

bool UpstreamResponse::body_buffered() const {
  return !impl_->parser.is_done() && impl_->connection->buffer.size() > 0;
}

bool UpstreamResponse::finish_without_waiting() {
  auto& parser = impl_->parser;
  auto& connection = *impl_->connection;
  if (parser.is_done()) {
    return true;
  }
  if (impl_->read_in_flight()) {
    return false;  // the bytes go to that read
  }
  read_arrived(connection, std::numeric_limits<size_t>::max());
  // Body the client no longer needs is dropped (only the framing matters now): the body buffer
  // is reused each time the parser fills it.
  while (!parser.is_done() && connection.buffer.size() > 0) {
    parser.set_body_buffer(impl_->body.data(), impl_->body.size());
    if (parse_buffered(parser, connection.buffer) || parser.body_room() > 0) {
      break;  // a parse error, or out of bytes rather than out of room
    }
  }
  return parser.is_done();
}

namespace {

// The first piece usually came with the head's read, which may have stopped at the end of the
// buffer: what has arrived since joins it, up to the body buffer's room (a stream that came whole
// goes to the client in one write instead of two; over TLS, one record). Once per response; for a
// stream still being generated, one more system call that finds nothing.
void top_up_first_piece(UpstreamResponse::Impl& impl, boost::system::error_code& parse_error) {
  if (impl.ready == 0 || impl.topped_up || impl.read_in_flight()) {
    return;
  }
  impl.topped_up = true;
  auto& connection = *impl.connection;
  // Reads within the connection buffer's room: a connection keeps its buffer resident.
  while (!parse_error && !impl.parser.is_done() && impl.parser.body_room() > 0 &&
         read_arrived(connection, beast::read_size(connection.buffer, kMaxRead))) {
    parse_error = impl.parse_body();
  }
}

core::Error mid_response_failure(const boost::system::error_code& ec,
                                 std::chrono::milliseconds idle_timeout) {
  if (ec == beast::error::timeout) {
    return {core::Errc::kUpstreamTimeout,
            fmt::format("upstream sent nothing for {} ms", idle_timeout.count())};
  }
  return {core::Errc::kUpstreamError,
          fmt::format("upstream connection failed mid-response: {}", ec.message())};
}

}  // namespace

Task<tl::expected<std::string_view, core::Error>> UpstreamResponse::read_some() {
  auto& impl = *impl_;
  auto& connection = *impl.connection;
  for (;;) {
    // Bytes already read come first, with no operation (a body usually arrives with its
    // headers); after a read, what else it brought joins the piece (a stream's burst of events
    // relayed in one write, without waiting for anything). What came before a framing error is
    // still relayed; the error comes with the next call (the same bytes fail again).
    auto parse_error = impl.parse_body();
    top_up_first_piece(impl, parse_error);
    if (impl.ready > 0) {
      co_return std::string_view(impl.body.data(), std::exchange(impl.ready, 0));
    }
    if (parse_error) {
      co_return tl::unexpected(core::Error{
          core::Errc::kUpstreamError,
          fmt::format("upstream sent a malformed response: {}", parse_error.message())});
    }
    if (impl.parser.is_done()) {
      co_return std::string_view();
    }
    auto ec = std::exchange(impl.read_error, {});
    if (ec) {
      // failed in await_body(), after the bytes it brought were relayed
    } else if (impl.read_in_flight()) {
      if (!impl.pending()->finished) {
        impl.pending()->wake.expires_at(SteadyTimer::time_point::max());
        auto [wait_ec] = co_await impl.pending()->wake.async_wait(kUseTask);
        if (!impl.pending()->finished) {
          ec = wait_ec;  // the request was interrupted (the read's handler sets finished first)
        }
      }
      if (!ec) {
        ec = impl.take_pending_read();
      }
    } else {
      if (!std::exchange(impl.idle_armed, false)) {
        connection.deadline.arm(impl.idle_timeout);
      }
      auto [rec, n] = co_await std::visit(
          [&](auto& stream) { return read_some_into(stream, connection.buffer); },
          connection.stream);
      ec = connection.deadline.end(read_done(rec, n, connection.buffer, impl.parser));
    }
    if (ec) {
      co_return tl::unexpected(mid_response_failure(ec, impl.idle_timeout));
    }
  }
}

bool UpstreamResponse::body_ready() {
  auto& impl = *impl_;
  if (impl.read_in_flight()) {
    return impl.pending()->finished;
  }
  return impl.parse_body() || impl.ready > 0 || impl.parser.is_done() || impl.read_error;
}

Task<bool> UpstreamResponse::await_body(std::chrono::milliseconds at_most) {
  auto& impl = *impl_;
  auto& connection = *impl.connection;
  if (auto* plain = std::get_if<UpstreamConnection::Plain>(&connection.stream)) {
    // A plain socket's read is awaited itself, and cancelled when `at_most` passes: no timer
    // and no second handler per wait, as the TLS path below needs (cancelling a TLS read could
    // cut a record in half).
    for (;;) {
      if (impl.parse_body() || impl.ready > 0 || impl.parser.is_done() || impl.read_error) {
        co_return true;
      }
      if (!std::exchange(impl.idle_armed, true)) {
        connection.deadline.arm(impl.idle_timeout);
      }
      connection.quiet_expired = false;
      connection.quiet.arm(at_most);
      auto [ec, n] = co_await read_some_into(*plain, connection.buffer);
      connection.quiet.disarm();
      if (ec == asio::error::operation_aborted && connection.quiet_expired &&
          !connection.deadline.expired()) {
        co_return false;  // quiet that long; the idle deadline runs on
      }
      impl.idle_armed = false;
      impl.read_error = connection.deadline.end(read_done(ec, n, connection.buffer, impl.parser));
    }
  }
  bool armed = false;
  for (;;) {
    if (impl.parse_body() || impl.ready > 0 || impl.parser.is_done() || impl.read_error) {
      if (impl.pending()) {
        impl.pending()->quiet.disarm();
      }
      co_return true;
    }
    if (!impl.pending()) {
      impl.pending() = std::make_shared<PendingUpstreamRead>(co_await asio::this_coro::executor);
    }
    if (!impl.pending()->started) {
      impl.start_pending_read();
    }
    auto& pending = *impl.pending();
    if (!armed) {
      pending.quiet.arm(at_most);  // across the reads that bring only framing, too
      armed = true;
    }
    if (!pending.finished) {
      pending.wake.expires_at(SteadyTimer::time_point::max());
      co_await pending.wake.async_wait(kUseTask);
      if (!pending.finished) {
        pending.quiet.disarm();
        co_return false;  // quiet that long (or the request was interrupted)
      }
    }
    // Only framing (a chunk's size line) may have come: parse, and wait on if so.
    impl.read_error = impl.take_pending_read();
  }
}

Task<tl::expected<std::string, core::Error>> UpstreamResponse::read_all(size_t limit) {
  std::string out;
  if (auto length = impl_->parser.content_length(); length && *length <= limit) {
    out.reserve(static_cast<size_t>(*length));
  }
  for (;;) {
    auto piece = co_await read_some();
    if (!piece) {
      co_return tl::unexpected(piece.error());
    }
    if (piece->empty()) {
      co_return out;
    }
    if (out.size() + piece->size() > limit) {
      co_return tl::unexpected(
          core::Error{core::Errc::kUpstreamError,
                      fmt::format("upstream response exceeds the limit of {} bytes", limit)});
    }
    out.append(*piece);
  }
}

UpstreamClient::UpstreamClient(Executor executor, ProxySettings proxies, UpstreamTimeouts timeouts)
    : executor_(std::move(executor)),
      proxies_(std::move(proxies)),
      timeouts_(timeouts),
      pool_(std::make_shared<UpstreamPool>(executor_)) {}

UpstreamClient::~UpstreamClient() = default;

std::unique_ptr<UpstreamResponse::Impl> UpstreamClient::new_response(
    UpstreamConnection& connection, const std::string& origin, std::string_view method) const {
  auto impl = std::make_unique<UpstreamResponse::Impl>(connection.head);
  impl->pool = pool_;
  impl->origin = origin;
  impl->idle_timeout = timeouts_.idle;
  if (method == "HEAD") {
    impl->parser.skip(true);
  }
  return impl;
}

// Longer than the data path's 60-line aim, as one piece: connecting, writing and reading the head
// each await, and a step moved into a coroutine of its own would cost every upstream request a
// coroutine frame (about 450 instructions, 1.4% of a proxied request).
Task<tl::expected<std::unique_ptr<UpstreamResponse>, core::Error>> UpstreamClient::send(
    const Endpoint& target, const OutboundRequest& request, const SendOptions& options) {
  const UpstreamTimeouts timeouts = timeouts_for(timeouts_, options);
  std::optional<Deadline> slow_head;  // disarmed when send() returns, however it does
  watch_slow_head(slow_head, options, executor_);
  const std::string& origin = target.origin();
  const std::string head = request_head(target, proxies_.proxy_for(target), request);
  const auto buffers = request_buffers(head, request);

  // Origin-keyed pooling also covers proxied connections: a tunnel leads to one origin.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<UpstreamConnection> connection =
        attempt == 0 ? pool_->take(origin, !options.resend_unanswered) : nullptr;
    const bool reused = connection != nullptr;
    if (!connection) {
      auto opened = co_await connect_upstream(target, proxies_, timeouts);
      if (!opened) {
        co_return tl::unexpected(opened.error());
      }
      connection = std::move(*opened);
    }
    auto impl = new_response(*connection, origin, request.method);

    boost::system::error_code wec;
    const size_t written = std::visit(
        [&](auto& stream) { return write_at_once(stream, buffers, wec); }, connection->stream);
    if (!wec && written < asio::buffer_size(buffers)) {
      wec = co_await std::visit(
          [&](auto& stream) { return write_rest(stream, buffers, written, timeouts.first_byte); },
          connection->stream);
    }
    if (wec) {
      if (reused && is_stale_connection_error(wec)) {
        continue;
      }
      co_return tl::unexpected(write_failure(wec, target));
    }
    boost::system::error_code ec;
    connection->deadline.arm(timeouts.first_byte);  // request written -> response head
    bool interim = false;                           // then the upstream has begun to answer
    for (;;) {
      ec = co_await std::visit(
          [&](auto& stream) {
            return read_message(stream, connection->buffer, impl->parser, ReadUntil::kHead);
          },
          connection->stream);
      const int status = impl->parser.head().status();
      if (ec || status < 100 || status >= 200 || status == 101) {
        break;
      }
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      interim = true;
      impl = new_response(*connection, origin, request.method);
    }
    ec = connection->deadline.end(ec);
    if (ec) {
      // The request was written: retrying a POST could run (and bill) a generation twice. Only
      // requests that are safe to repeat, or whose caller re-sends them anyway, are retried on a
      // fresh connection.
      const bool replayable =
          request.method == "GET" || request.method == "HEAD" || options.resend_unanswered;
      const bool unanswered = !interim && !impl->parser.got_some();
      if (reused && replayable && unanswered && is_stale_connection_error(ec)) {
        continue;
      }
      co_return tl::unexpected(read_failure(ec, target, timeouts.first_byte));
    }
    impl->connection = std::move(connection);
    co_return std::make_unique<UpstreamResponse>(std::move(impl));
  }
  co_return tl::unexpected(core::Error{
      core::Errc::kUpstreamError, fmt::format("{} closed the connection", target.host_header)});
}

}  // namespace gw::net
