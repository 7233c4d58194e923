#pragma once

// Private to net/: I/O that skips the event loop when it can: parsing bytes already read, and
// writing to a plain TCP stream when the socket can take the bytes at once.

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>

#include "gw/net/http_types.hpp"
#include "gw/net/tcp_stream.hpp"

namespace gw::net {

// Feeds `parser` what `buffer` already holds, without reading: a body that came with its head
// then costs no operation, deadline or event-loop round. Running out of bytes (or, for a
// buffer_body, of room) is not an error; a parse error is returned.
template <class Parser>
boost::system::error_code parse_buffered(Parser& parser, boost::beast::flat_buffer& buffer) {
  namespace http = boost::beast::http;
  boost::system::error_code ec;
  while (!parser.is_done() && buffer.size() > 0) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) {
      return {};
    }
    if (ec || used == 0) {
      break;
    }
  }
  return ec;
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
