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
// then costs no operation, deadline or event-loop round. Running out of bytes (or, for a
// buffer_body, of room) is not an error; a parse error is returned.
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

// Reads once (what the peer has sent, up to 64 KiB) into `buffer`. At the end of the stream the
// parser is told: a body delimited by the close is then complete, anything else an error.
template <class Stream>
Task<boost::system::error_code> read_more(Stream& stream, boost::beast::flat_buffer& buffer,
                                          Http1Parser& parser) {
  constexpr size_t kMaxRead = 65536;
  auto [ec, n] = co_await read_layer(stream).async_read_some(
      buffer.prepare(boost::beast::read_size(buffer, kMaxRead)), kUseTask);
  buffer.commit(n);
  if (ec == asio::error::eof) {
    parser.put_eof(ec);
  }
  co_return ec;
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
    if (auto ec = co_await read_more(stream, buffer, parser)) {
      co_return ec;
    }
  }
}

// Writes all of `buffers`. Most writes fit in the socket's send buffer: one non-blocking send
// then completes them without arming the deadline or queueing a completion (a timer, an
// operation and an event-loop round per write, measured at several percent of a proxied
// request's instructions). What does not fit is written asynchronously within `timeout`.
template <class Buffers>
Task<boost::system::error_code> write_now(TcpStream& stream, const Buffers& buffers,
                                          std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  auto& socket = stream.socket();
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);  // once per connection: write_some must never block
    if (ec) {
      co_return ec;
    }
  }
  const size_t total = asio::buffer_size(buffers);
  const size_t written = socket.write_some(buffers, ec);
  if (!ec && written == total) {
    co_return ec;
  }
  if (ec && ec != asio::error::would_block) {
    co_return ec;
  }
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(written);
  stream.expires_after(timeout);
  auto [wec, n] = co_await asio::async_write(stream, rest, kUseTask);
  stream.expires_never();
  co_return wec;
}

}  // namespace gw::net
