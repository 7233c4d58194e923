#pragma once

// Asio types bound to the shard executor (see Executor in http_types.hpp): completion token and
// timer for coroutines anywhere, TCP types for net/.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "gw/net/http_types.hpp"

namespace gw::net {

// `co_await op(..., kUseTask)` resumes with a tuple, error_code first: failures come as values
// (a cancelled coroutine still throws operation_aborted at its next co_await).
inline constexpr auto kUseTask = asio::as_tuple(asio::use_awaitable_t<Executor>{});

using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, Executor>;
using TcpSocket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
using TcpAcceptor = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;
using TcpResolver = asio::ip::basic_resolver<asio::ip::tcp, Executor>;

}  // namespace gw::net
