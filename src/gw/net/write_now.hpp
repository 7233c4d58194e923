#pragma once

// Private to net/: writing to a plain TCP stream without a trip through the event loop when the
// socket can take the bytes at once.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>

#include "gw/net/http_types.hpp"

namespace gw::net {

// Writes all of `buffers`. Most writes fit in the socket's send buffer: one non-blocking send
// then completes them without arming the deadline or queueing a completion (a timer, an
// operation and an event-loop round per write, measured at several percent of a proxied
// request's instructions). What does not fit is written asynchronously within `timeout`.
template <class Buffers>
Task<boost::system::error_code> write_now(boost::beast::tcp_stream& stream, const Buffers& buffers,
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
  auto [wec, n] = co_await asio::async_write(stream, rest, asio::as_tuple(asio::use_awaitable));
  stream.expires_never();
  co_return wec;
}

}  // namespace gw::net
