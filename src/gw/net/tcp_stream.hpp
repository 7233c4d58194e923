#pragma once

// Private to net/: Beast's timed TCP stream on the shard executor.

#include <boost/beast/core/tcp_stream.hpp>

#include "gw/net/io.hpp"

namespace gw::net {

using TcpStream = boost::beast::basic_stream<asio::ip::tcp, Executor>;

}  // namespace gw::net
