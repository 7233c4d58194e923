#pragma once

// Private to net/: one system call fewer per reused upstream connection.

#include "gw/net/io.hpp"

namespace gw::net {

// Asio's epoll reactor tries a read before it waits for readiness, and keeps trying first until a
// read has returned end-of-stream. On a reused keep-alive connection that try always finds
// nothing: the request has only just been written, so the response cannot have arrived. nginx
// skips it (a short read marks its socket not ready); this does the same, once the caller has
// seen the socket's receive queue empty: the socket's next read then waits for the readiness
// event that any byte or close arriving later raises.
//
// Only for a socket served by this thread's event loop, with no read in flight, right after a
// check that found nothing to read (UpstreamPool::take). A no-op where the reactor is not
// Boost 1.81's epoll reactor, whose per-socket state this reaches.
void await_readiness_before_next_read(TcpSocket& socket);

}  // namespace gw::net
