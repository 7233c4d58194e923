#pragma once

// Private to net/: reading HTTP/1 messages, and I/O that skips the event loop when it can:
// parsing bytes already read, and writing to a plain TCP stream when the socket can take the
// bytes at once.

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>

#include "gw/net/http1_parser.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/tcp_stream.hpp"

namespace gw::net {

// Feeds `parser` what `buffer` already holds, without reading: a body that came with its head
// then costs no operation, deadline or event-loop round. Running out of bytes (or of room in a
// response's body window) is not an error; a parse error is returned.
inline boost::system::error_code parse_buffered(Http1Parser& parser,
                                                boost::beast::flat_buffer& buffer) {
  namespace http = boost::beast::http;
  boost::system::error_code ec;
  if (parser.is_done() || buffer.size() == 0) {
    return ec;
  }
  const size_t used = parser.put(static_cast<const char*>(buffer.data().data()), buffer.size(), ec);
  buffer.consume(used);
  if (ec == http::error::need_more || ec == http::error::need_buffer) {
    return {};
  }
  return ec;
}

// What a read goes to: a plain connection's socket itself (Beast's basic_stream would wrap each
// read in an operation of its own, for timeouts this code keeps elsewhere), else the stream.
inline TcpSocket& read_layer(TcpStream& stream) {
  return stream.socket();
}
template <class Stream>
Stream& read_layer(Stream& stream) {
  return stream;
}

// Starts a read of what the peer has sent (up to 64 KiB more in `buffer`); read_done() finishes
// it. A plain function, not a coroutine: no frame of its own per read.
inline constexpr size_t kMaxRead = 65536;
template <class Stream>
auto read_some_into(Stream& stream, boost::beast::flat_buffer& buffer) {
  return read_layer(stream).async_read_some(
      buffer.prepare(boost::beast::read_size(buffer, kMaxRead)), kUseTask);
}

// Commits what a read brought. At the end of the stream the parser is told: a body delimited by
// the close is then complete, anything else an error.
inline boost::system::error_code read_done(boost::system::error_code ec, size_t n,
                                           boost::beast::flat_buffer& buffer, Http1Parser& parser) {
  buffer.commit(n);
  if (ec == asio::error::eof) {
    parser.put_eof(ec);
  }
  return ec;
}

// Reads until the parser has the whole head (kHead) or the whole message (kMessage), parsing
// what is buffered first.
enum class ReadUntil { kHead, kMessage };
template <class Stream>
Task<boost::system::error_code> read_message(Stream& stream, boost::beast::flat_buffer& buffer,
                                             Http1Parser& parser, ReadUntil until) {
  for (;;) {
    if (auto ec = parse_buffered(parser, buffer)) {
      co_return ec;
    }
    if (until == ReadUntil::kHead ? parser.is_header_done() : parser.is_done()) {
      co_return boost::system::error_code{};
    }
    auto [ec, n] = co_await read_some_into(stream, buffer);
    if (auto error = read_done(ec, n, buffer, parser)) {
      co_return error;
    }
  }
}

// Writes are made in two steps. Most fit in the socket's send buffer: write_at_once() then sends
// all of it with one non-blocking send, with no coroutine, deadline or queued completion (a
// timer, an operation and an event-loop round per write, measured at several percent of a
// proxied request's instructions). Only when it took less is write_rest() awaited.

// One non-blocking send; returns the bytes the socket took. `ec` is set on failure (not when the
// socket is merely full).
template <class Buffers>
size_t write_at_once(TcpStream& stream, const Buffers& buffers, boost::system::error_code& ec) {
  auto& socket = stream.socket();
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);  // once per connection: write_some must never block
    if (ec) {
      return 0;
    }
  }
  const size_t written = socket.write_some(buffers, ec);
  if (ec == asio::error::would_block) {
    ec = {};
  }
  return written;
}

// Over TLS nothing is sent at once: the record layer's writes are asynchronous (write_rest).
template <class Stream, class Buffers>
size_t write_at_once(Stream& /*stream*/, const Buffers& /*buffers*/,
                     boost::system::error_code& /*ec*/) {
  return 0;
}

// Writes `buffers` from byte `written` on, asynchronously, within `timeout`.
template <class Stream, class Buffers>
Task<boost::system::error_code> write_rest(Stream& stream, const Buffers& buffers, size_t written,
                                           std::chrono::milliseconds timeout) {
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(written);
  auto& tcp = boost::beast::get_lowest_layer(stream);
  tcp.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, rest, kUseTask);
  tcp.expires_never();
  co_return ec;
}

// Both steps, for writes off the hot path.
template <class Stream, class Buffers>
Task<boost::system::error_code> write_now(Stream& stream, const Buffers& buffers,
                                          std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  const size_t written = write_at_once(stream, buffers, ec);
  if (ec || written == asio::buffer_size(buffers)) {
    co_return ec;
  }
  co_return co_await write_rest(stream, buffers, written, timeout);
}

}  // namespace gw::net
