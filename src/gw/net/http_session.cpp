// One client connection: reads requests with Http1Parser, runs the handler while watching for
// the client going away, and writes responses as raw HTTP/1.1 bytes. Over 500 lines because the
// response writer, the request loop and the early refusals share the connection's state. What a
// request is logged and counted as is its handler's (HttpHandler::finished).

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <optional>

#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"
#include "gw/net/deadline.hpp"
#include "gw/net/direct_io.hpp"
#include "gw/net/message_parser.hpp"
#include "gw/net/server_internal.hpp"
#include "gw/net/tcp_stream.hpp"

namespace gw::net {

using namespace std::string_view_literals;  // appending a literal then needs no strlen
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

// A client connection over TLS (TLS_CERT_FILE): the session's code is the same for both kinds.
using TlsStream = beast::ssl_stream<TcpStream>;

template <class Stream>
TcpStream& tcp_of(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

constexpr bool kNotStopping = false;
// Whether `ec` is one of Beast's HTTP errors (the parser reports those).
bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_chunk).category();
}
// Room for a small request's head and body in one read (Beast's flat_buffer starts at 512 and
// grows as needed). Not more: a held stream keeps it, and 4 KiB here and upstream cost 6 KiB of
// resident memory per stream.
constexpr size_t kInitialBufferSize = 1024;

// Writes "<size in hex>\r\n" (a chunk's head) into `out` (24 bytes); returns its length.
size_t chunk_prefix(char* out, size_t size) {
  char* end = std::to_chars(out, out + 16, size, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  return static_cast<size_t>(end - out);
}

template <class Stream>
class SessionWriter final : public ResponseWriter {
 public:
  // `stopping` is the shard's flag: a response whose head is built after a shutdown began says
  // connection: close. A HEAD request's response carries no body (its content-length stays).
  // An HTTP/1.0 client (`chunked` false) gets a stream as a body delimited by the connection's
  // close: it has no chunked coding (RFC 9112 §7).
  SessionWriter(Stream& stream, std::string_view request_id, bool keep_alive, const bool& stopping,
                bool head_request, std::chrono::milliseconds write_timeout, bool chunked = true)
      : stream_(stream),
        request_id_(request_id),
        keep_alive_(keep_alive),
        stopping_(stopping),
        head_request_(head_request),
        chunked_(chunked),
        write_timeout_(write_timeout) {}

  Task<bool> send(Response response) override {
    if (started_) {
      co_return false;
    }
    started_ = true;
    status_ = response.status;
    std::string head =
        head_lines(response.status, response.content_type, response.headers, response.relayed);
    head += "content-length: "sv;
    append_decimal(head, response.body.size());
    head += "\r\n\r\n"sv;
    std::array buffers{asio::buffer(head), asio::buffer(response.body.data(),
                                                        head_request_ ? 0 : response.body.size())};
    if (write_at_once(buffers)) {
      co_return ok_;
    }
    co_return co_await write_rest(buffers);
  }

  Task<bool> start_stream(int status, std::string_view content_type, Headers headers,
                          HeaderViews relayed, std::string_view first_chunk) override {
    return begin_stream(status, content_type, std::move(headers), relayed, first_chunk, false);
  }

  Task<bool> send_stream(int status, std::string_view content_type, Headers headers,
                         HeaderViews relayed, std::string_view whole) override {
    return begin_stream(status, content_type, std::move(headers), relayed, whole, true);
  }

  Task<bool> write(std::string_view data) override {
    std::array parts{data};
    co_return co_await write(std::span<const std::string_view>(parts));
  }

  Task<bool> write(std::span<const std::string_view> parts) override {
    size_t size = 0;
    for (auto p : parts) {
      size += p.size();
    }
    if (!streaming_ || finished_) {
      co_return false;
    }
    if (size == 0) {
      co_return ok_;  // a zero-size chunk would end the stream
    }
    char prefix[24];
    const size_t prefix_size = chunked_ ? chunk_prefix(prefix, size) : 0;
    // Inline: no allocation per written piece (a stream writes one per event burst).
    boost::container::small_vector<asio::const_buffer, 8> buffers;
    buffers.reserve(parts.size() + 2);
    buffers.emplace_back(prefix, prefix_size);
    for (auto p : parts) {
      buffers.emplace_back(p.data(), p.size());
    }
    buffers.emplace_back("\r\n", chunked_ ? 2 : 0);
    if (write_at_once(buffers)) {
      co_return ok_;
    }
    co_return co_await write_rest(buffers);
  }

  Task<bool> finish_stream(std::string_view last) override {
    if (!streaming_ || finished_) {
      co_return false;
    }
    finished_ = true;
    if (!chunked_) {
      // The end of the body is the connection's close, after this write.
      std::array raw{asio::buffer(last.data(), last.size())};
      if (write_at_once(raw)) {
        co_return ok_;
      }
      co_return co_await write_rest(raw);
    }
    char prefix[24];
    std::array<asio::const_buffer, 3> buffers{
        asio::buffer(prefix, chunk_prefix(prefix, last.size())),
        asio::buffer(last.data(), last.size()), asio::buffer("\r\n0\r\n\r\n", 7)};
    if (last.empty()) {
      std::array terminator{asio::buffer("0\r\n\r\n", 5)};
      if (write_at_once(terminator)) {
        co_return ok_;
      }
      co_return co_await write_rest(terminator);
    }
    if (write_at_once(buffers)) {
      co_return ok_;
    }
    co_return co_await write_rest(buffers);
  }

  void abort() override {
    ok_ = false;
    boost::system::error_code ignored;
    tcp_of(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_of(stream_).socket().close(ignored);
  }

  bool started() const override { return started_; }
  int status() const override { return status_; }
  bool ok() const { return ok_; }
  bool complete() const { return started_ && ok_ && (!streaming_ || finished_); }
  bool stream_unfinished() const { return streaming_ && !finished_ && ok_; }
  bool keep_alive() const { return keep_alive_; }

 private:
  std::string head_lines(int status, std::string_view content_type, const Headers& headers,
                         const HeaderViews& relayed) {
    std::string head;
    head.reserve(256);
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    head += "HTTP/1.1 "sv;
    append_decimal(head, static_cast<uint64_t>(status));
    head += ' ';
    head.append(reason.data(), reason.size());
    head += "\r\ncontent-type: "sv;
    head += content_type;
    head += "\r\nx-request-id: "sv;
    head += request_id_;
    head += "\r\n"sv;
    auto add = [&head](std::string_view name, std::string_view value) {
      head += name;
      head += ": "sv;
      head += value;
      head += "\r\n"sv;
    };
    for (const auto& h : headers) {
      add(h.name, h.value);
    }
    for (const auto& h : relayed) {
      add(h.name, h.value);
    }
    keep_alive_ = keep_alive_ && !stopping_;
    if (!keep_alive_) {
      head += "connection: close\r\n"sv;
    }
    return head;
  }

  // The stream's head with `chunk` as its first chunk, in one write; `ends`: the stream's end too.
  Task<bool> begin_stream(int status, std::string_view content_type, Headers headers,
                          HeaderViews relayed, std::string_view chunk, bool ends) {
    if (started_) {
      co_return false;
    }
    started_ = true;
    streaming_ = true;
    finished_ = ends;
    status_ = status;
    keep_alive_ = keep_alive_ && chunked_;
    std::string head = head_lines(status, content_type, headers, relayed);
    head += chunked_ ? "cache-control: no-cache\r\nx-accel-buffering: no\r\n"
                       "transfer-encoding: chunked\r\n\r\n"sv
                     : "cache-control: no-cache\r\nx-accel-buffering: no\r\n\r\n"sv;
    char prefix[24];
    const bool framed = chunked_ && !chunk.empty();
    const size_t prefix_size = framed ? chunk_prefix(prefix, chunk.size()) : 0;
    // After the chunk: its CRLF, then the last chunk if the stream ends here.
    std::string_view after;
    if (chunked_) {
      after = framed ? (ends ? "\r\n0\r\n\r\n"sv : "\r\n"sv) : (ends ? "0\r\n\r\n"sv : ""sv);
    }
    std::array<asio::const_buffer, 4> buffers{asio::buffer(head), asio::buffer(prefix, prefix_size),
                                              asio::buffer(chunk.data(), chunk.size()),
                                              asio::buffer(after.data(), after.size())};
    if (write_at_once(buffers)) {
      co_return ok_;
    }
    co_return co_await write_rest(buffers);
  }

  // Sends what the socket takes at once (see direct_io.hpp); true when that finished the write,
  // or it failed (ok() tells which); otherwise write_rest() must be awaited.
  template <class Buffers>
  bool write_at_once(const Buffers& buffers) {
    if (!ok_) {
      return true;
    }
    boost::system::error_code ec;
    written_ = net::write_at_once(stream_, buffers, ec);
    if (ec) {
      ok_ = false;
      return true;
    }
    return written_ == asio::buffer_size(buffers);
  }

  template <class Buffers>
  Task<bool> write_rest(const Buffers& buffers) {
    const auto ec = co_await net::write_rest(stream_, buffers, written_, write_timeout_);
    if (ec) {
      ok_ = false;
    }
    co_return ok_;
  }

  Stream& stream_;
  std::string_view request_id_;
  bool keep_alive_;
  const bool& stopping_;
  bool head_request_;
  bool chunked_;
  std::chrono::milliseconds write_timeout_;
  bool started_ = false;
  bool streaming_ = false;
  bool finished_ = false;
  bool ok_ = true;
  int status_ = 0;
  size_t written_ = 0;  // of the write in progress
};

// Watches the client's socket while a request is handled. When the client closes its end, the
// session coroutine is cancelled (and with it the upstream request). Pipelined bytes from the
// client are not a disconnect: the watch just ends. One async_wait, no coroutine.
//
// It starts only once a request has been in flight for kWatchDelay (a Deadline's action): most
// exchanges with a fast upstream are over by then and cost no wait (an epoll_ctl, a cancel and
// a completion each), and a client that leaves sooner stops its upstream request that late.
constexpr std::chrono::milliseconds kWatchDelay{50};

void watch_for_disconnect(void* control_ptr) {
  const auto& control = *static_cast<std::shared_ptr<SessionControl>*>(control_ptr);
  if (!control->socket->is_open()) {
    return;  // closed by this side (a write timeout): nothing to watch
  }
  control->watching = true;
  control->socket->async_wait(
      tcp::socket::wait_read, [control](const boost::system::error_code& ec) {
        if (ec == asio::error::operation_aborted || !control->open) {
          return;
        }
        if (!ec) {
          char probe = 0;
          const ssize_t n =
              ::recv(control->socket->native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            return;
          }
        }
        control->interrupt(Interruption::kClientGone);
      });
}

// Beast reports an oversized body from Content-Length (before reading it) or while reading a
// chunked one: the same 413 either way.
core::Error too_large(const ServerOptions& options) {
  return {core::Errc::kPayloadTooLarge,
          fmt::format("request body exceeds the limit of {} bytes", options.max_body_bytes)};
}

// The client's x-request-id when it is sane, else a new one.
std::string request_id_of(const RequestHead& head) {
  const std::string_view id = head.find("x-request-id");
  return core::is_acceptable_request_id(id) ? std::string(id) : core::new_request_id();
}

// The path of an origin-form request target (the query left out).
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Answers a request the session itself rejects (bad HTTP, limits) and closes.
template <class Stream>
Task<void> reject(Stream& stream, const core::Error& error, std::chrono::milliseconds write_timeout,
                  std::string id, ErrorFormat format = {}) {
  SessionWriter<Stream> writer(stream, id, false, kNotStopping, false, write_timeout);
  const bool sent = co_await writer.send(error_response(error, format));
  spdlog::info("rejected request: {} {} request_id={}", http_status(error), error.message, id);
  if (!sent) {
    co_return;
  }
  // Lingering close: a client still uploading (a 413 is decided from Content-Length, before the
  // body) would otherwise get a reset that can destroy the answer before it reads it. Read and
  // drop what it sends, for a bounded time and amount, after saying we are done.
  boost::system::error_code ignored;
  tcp_of(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp_of(stream).expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;  // NOLINT(cppcoreguidelines-pro-type-member-init): write-only
  size_t drained = 0;
  while (drained < (4u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTask);
    if (ec) {
      break;
    }
    drained += n;
  }
}

// A response the handler left unfinished: it failed, or it was cut at the drain deadline and did
// not end the response itself. The client still gets a status, or a final event and the
// stream's end: never a silent cut.
template <class Stream>
Task<void> end_unanswered(SessionWriter<Stream>& writer, bool handler_failed, Interruption why) {
  const core::Error error = why == Interruption::kShutdown
                                ? core::Error{core::Errc::kServiceUnavailable,
                                              "The gateway is shutting down; retry the request"}
                                : core::Error{core::Errc::kInternal, "internal error"};
  if ((handler_failed || why == Interruption::kShutdown) && writer.stream_unfinished()) {
    const std::string event = writer.error_format.event(error);
    co_await writer.finish_stream(event);
  }
  if (!writer.started()) {
    co_await writer.send(error_response(error, writer.error_format));
  }
}

// A request's share of the bytes all connections may hold in request bodies
// (MAX_BUFFERED_REQUEST_BYTES), from its head until its response ends: many large uploads at once
// get 503s instead of the process's memory.
class BodyReservation {
 public:
  explicit BodyReservation(std::atomic<size_t>& total) : total_(total) {}
  ~BodyReservation() { total_.fetch_sub(bytes_, std::memory_order_relaxed); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Reserves `bytes`; false (and nothing reserved) when that would exceed `limit` (one request
  // alone always may).
  bool acquire(size_t bytes, size_t limit) {
    const size_t before = total_.fetch_add(bytes, std::memory_order_relaxed);
    if (before != 0 && before + bytes > limit) {
      total_.fetch_sub(bytes, std::memory_order_relaxed);
      return false;
    }
    bytes_ = bytes;
    return true;
  }
  // Once the body has arrived, what it really holds (a chunked body reserved the limit).
  void settle(size_t bytes) {
    if (bytes < bytes_) {
      total_.fetch_sub(bytes_ - bytes, std::memory_order_relaxed);
      bytes_ = bytes;
    }
  }

 private:
  std::atomic<size_t>& total_;
  size_t bytes_ = 0;
};

struct SessionRegistration {
  SessionRegistration(Shard& shard, SessionControl& control) : shard_(shard), control_(control) {
    shard_.sessions.insert(&control_);
  }
  ~SessionRegistration() { shard_.sessions.erase(&control_); }
  SessionRegistration(const SessionRegistration&) = delete;
  SessionRegistration& operator=(const SessionRegistration&) = delete;
  Shard& shard_;
  SessionControl& control_;
};

// What to answer a request whose head could not be read (its format and id unknown), if anything:
// nothing to a client that left, went quiet or reset, or sent nothing.
std::optional<core::Error> unreadable_head(const boost::system::error_code& ec, size_t buffered) {
  if (ec == http::error::header_limit) {
    return core::Error{core::Errc::kHeadersTooLarge, "request headers are too large"};
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      buffered == 0) {
    return std::nullopt;
  }
  return core::invalid_request("malformed HTTP request");
}

// Ends a connection whose next request's head could not be read, answering first when there is
// anything to answer.
template <class Stream>
Task<void> reject_unreadable_head(Stream& stream, boost::system::error_code ec, size_t buffered,
                                  std::chrono::milliseconds write_timeout) {
  if (auto answer = unreadable_head(ec, buffered)) {
    co_await reject(stream, *answer, write_timeout, core::new_request_id());
  }
}

// Whether the body announced by a read head may be held (MAX_BUFFERED_REQUEST_BYTES): its refusal
// when it may not (too large for MAX_REQUEST_BYTES, or no room beside the others now).
std::optional<core::Error> refuse_body(const boost::system::error_code& ec,
                                       const RequestParser& parser, BodyReservation& reservation,
                                       const ServerOptions& options) {
  if (ec == http::error::body_limit) {
    return too_large(options);
  }
  const size_t body_bytes = static_cast<size_t>(
      parser.content_length().value_or(parser.is_done() ? 0 : options.max_body_bytes));
  if (body_bytes == 0 || reservation.acquire(body_bytes, options.max_buffered_body_bytes)) {
    return std::nullopt;
  }
  core::Error busy{core::Errc::kServiceUnavailable,
                   "The gateway is holding too many request bodies right now; retry shortly"};
  busy.retry_after.assign(1, '1');  // (assigning "1" trips GCC 12's -Wrestrict)
  return busy;
}

// What to answer a request whose body could not be read, if anything. A malformed body (a bad
// chunk, an oversized trailer section) is answered as it would be had it come with the head; a
// client that left, reset or was too slow (the deadline closed the socket: only logged) is not.
std::optional<core::Error> unreadable_body(const boost::system::error_code& ec,
                                           const ServerOptions& options, const RequestHead& head) {
  if (ec == http::error::body_limit) {
    return too_large(options);
  }
  if (ec == beast::error::timeout) {
    spdlog::info("closed a connection: the request body took longer than {} ms request_id={}",
                 options.body_timeout.count(), request_id_of(head));
    return std::nullopt;
  }
  if (ec == http::error::header_limit) {
    return core::Error{core::Errc::kHeadersTooLarge, "request trailers are too large"};
  }
  if (ec != http::error::partial_message && is_http_error(ec)) {
    return core::invalid_request("malformed HTTP request");
  }
  return std::nullopt;
}

// Reads the rest of a body that did not come with its head (after a 100 Continue when the client
// waits for one). False when it did not arrive: the connection ends, answered first when it can be.
template <class Stream>
Task<bool> read_rest_of_body(Stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                             Deadline& deadline, const ServerOptions& options,
                             const RequestHead& head, const ErrorFormat& error_format) {
  if (iequals(head.find("expect"), "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    co_await write_now(stream, std::array{asio::buffer(kContinue)}, options.write_timeout);
  }
  deadline.arm(options.body_timeout);
  auto ec = co_await read_message(stream, buffer, parser, ReadUntil::kMessage);
  ec = deadline.end(ec);
  if (!ec) {
    co_return true;
  }
  if (auto answer = unreadable_body(ec, options, head)) {
    co_await reject(stream, *answer, options.write_timeout, request_id_of(head), error_format);
  }
  co_return false;
}

// Ends the client-disconnect watch of a request that is over, if it had started.
void end_watch(SessionControl& control) {
  if (control.watching) {
    control.watching = false;
    boost::system::error_code ignored;
    control.socket->cancel(ignored);
  }
}

// The handler's view of the request read into `head` (whose body it takes).
void fill_request(Request& request, RequestHead& head, const std::string& remote) {
  request.method = head.method();
  request.target = head.target();
  request.headers.reserve(head.field_count());
  for (size_t i = 0; i < head.field_count(); ++i) {
    request.headers.push_back(head.field(i));
  }
  request.body = std::move(head.body);
  request.remote_address = remote;
}

// Serves a connection's requests, one after another, until it ends. Longer than the data path's
// 60-line aim, as one piece: each of its steps awaits, and a step moved into a coroutine of its
// own costs every request a coroutine frame (about 450 instructions, 1.4%, measured when two were
// removed); the steps that do not await are functions of their own.
template <class Stream>
Task<void> serve(HttpServer::Impl& server, Shard& shard, Stream& stream,
                 std::shared_ptr<SessionControl>& control_ptr, std::string remote) {
  SessionControl& control = *control_ptr;
  const ServerOptions& options = server.options;
  beast::flat_buffer buffer;
  buffer.reserve(kInitialBufferSize);
  auto& wheel = DeadlineWheel::of(stream.get_executor());
  Deadline deadline(wheel, tcp_of(stream).socket());
  // The watch holds its own reference to the control (it can outlive this coroutine's frame).
  Deadline watch_start(wheel, &watch_for_disconnect, &control_ptr);
  RequestHead head;
  const std::unique_ptr<ExchangeNotes> notes = shard.handler->make_notes();
  for (bool first = true;; first = false) {
    RequestParser parser(head);
    parser.header_limit(options.max_header_bytes);
    parser.body_limit(options.max_body_bytes);
    control.idle = true;
    if (shard.stopping) {
      co_return;
    }
    deadline.arm(first ? options.header_timeout : options.keepalive_timeout);
    auto ec = co_await read_message(stream, buffer, parser, ReadUntil::kHead);
    ec = deadline.end(ec);
    control.idle = false;
    if (ec && ec != http::error::body_limit) {
      co_return co_await reject_unreadable_head(stream, ec, buffer.size(), options.write_timeout);
    }
    // Once the head is read, errors are in the format of the API its path belongs to.
    const ErrorFormat error_format = shard.handler->error_format(path_of(head.target()), head);
    BodyReservation reservation(server.buffered_body_bytes);
    if (auto refusal = refuse_body(ec, parser, reservation, options)) {
      co_await reject(stream, *refusal, options.write_timeout, request_id_of(head), error_format);
      co_return;
    }
    // The body usually came with the head: the rest is waited for only when it did not.
    if (!parser.is_done()) {
      const bool arrived =
          co_await read_rest_of_body(stream, buffer, parser, deadline, options, head, error_format);
      if (!arrived) {
        co_return;
      }
    }
    std::string request_id = request_id_of(head);
    SessionWriter<Stream> writer(stream, request_id, parser.keep_alive() && !shard.stopping,
                                 shard.stopping, head.method() == "HEAD", options.write_timeout,
                                 parser.http11());
    writer.error_format = error_format;
    Exchange exchange{Request{},   request_id,   writer,
                      notes.get(), Clock::now(), &control.interruption};
    fill_request(exchange.request, head, remote);
    reservation.settle(exchange.request.body.size());
    // (No reset of `interruption` here: a connection that was interrupted never serves another
    // request, and a cut that came while the body was read must reach the handler.)
    watch_start.arm(kWatchDelay);
    bool handler_failed = false;
    try {
      co_await shard.handler->handle(exchange);
    } catch (const std::exception& e) {
      // A bug, and the last-resort net: it costs one 500 (or a final error event), never the
      // process. (Cancellation does not throw here: see run_session.)
      handler_failed = true;
      spdlog::error("request_id={} handler failed: {}", request_id, e.what());
    }
    watch_start.disarm();
    end_watch(control);
    const bool client_gone = control.interruption == Interruption::kClientGone;
    if (!client_gone) {
      co_await end_unanswered(writer, handler_failed, control.interruption);
    }
    shard.handler->finished(exchange, writer.status(), client_gone || !writer.ok());
    if (client_gone || !writer.complete() || !writer.keep_alive()) {
      co_return;
    }
  }
}

// The TLS handshake, within the header timeout; false when it failed.
Task<bool> handshake(TlsStream& stream, std::chrono::milliseconds timeout,
                     std::string_view remote) {
  tcp_of(stream).expires_after(timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUseTask);
  tcp_of(stream).expires_never();
  if (ec) {
    spdlog::debug("TLS handshake with {} failed: {}", remote, ec.message());
  }
  co_return !ec;
}

// A connection, plain or TLS, registered with its shard while it is served; closed at the end.
template <class Stream>
Task<void> serve_connection(HttpServer::Impl& server, Shard& shard, Stream& stream,
                            std::shared_ptr<SessionControl>& control, std::string remote) {
  TcpStream& tcp = tcp_of(stream);
  control->socket = &tcp.socket();
  {
    SessionRegistration registration(shard, *control);
    // Cancellation (the client's departure, the drain deadline) completes the pending operation
    // with operation_aborted instead of throwing at the next co_await: errors stay values on the
    // data path, and the code that was interrupted still answers, logs and counts the request.
    // (clang-tidy sees the coroutine's copy of `remote` as a use after the move below.)
    // NOLINTNEXTLINE(bugprone-use-after-move)
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        if (co_await handshake(stream, server.options.header_timeout, remote)) {
          co_await serve(server, shard, stream, control, std::move(remote));
          // close_notify, briefly: the client learns the end was meant (not a truncation).
          tcp.expires_after(std::chrono::seconds(1));
          co_await stream.async_shutdown(kUseTask);
        }
      } else {
        co_await serve(server, shard, stream, control, std::move(remote));
      }
    } catch (const std::exception& e) {
      spdlog::error("connection failed: {}", e.what());
    }
    control->open = false;
    boost::system::error_code ignored;
    tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp.close();
  }
}

}  // namespace

Task<void> run_session(HttpServer::Impl& server, Shard& shard, TcpSocket socket,
                       std::shared_ptr<SessionControl> control) {
  std::string remote;
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (!ec) {
    remote = endpoint.address().to_string();
  }
  if (server.tls) {
    // The context current at accept: a certificate reloaded meanwhile serves later connections.
    const std::shared_ptr<asio::ssl::context> context = server.tls->context();
    TlsStream stream(TcpStream(std::move(socket)), *context);
    co_await serve_connection(server, shard, stream, control, std::move(remote));
  } else {
    TcpStream stream(std::move(socket));
    co_await serve_connection(server, shard, stream, control, std::move(remote));
  }
  session_finished(server, shard);
}

}  // namespace gw::net
