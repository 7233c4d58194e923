#pragma once

// Private to net/: one system call fewer per reused upstream connection.

#include "gw/net/io.hpp"

namespace gw::net {

// Asio's epoll reactor tries a read before it waits for readiness. It stops trying first only
// after a read that brought nothing (end-of-stream or an error), and every readiness event turns
// the try back on. On a reused keep-alive connection that try finds nothing (or, unchecked, the
// close of a connection the server ended, which the peer's reset to the request reports too): the
// request has only just been written, so the response cannot have arrived. nginx skips it (a short
// read marks its socket not ready); this does the same: the socket's next read waits for the
// readiness event that any byte or close arriving later raises.
//
// The precondition is what makes that safe: whatever the socket's receive queue holds, a later
// event announces. Either the queue was just found empty and no turn of its event loop has run
// since (so no event was taken in between), or a request is about to be written to the peer:
// its answer raises an event, and so does the reset with which a peer that has closed answers it
// (the read's deadline bounds a peer that does neither). Hence only on the thread that alone runs
// the socket's io_context, with no read in flight, right after such a check or before such a
// write (UpstreamPool::take). A no-op where the reactor is not Boost 1.81's epoll reactor, whose
// per-socket state this reaches.
void await_readiness_before_next_read(TcpSocket& socket);

}  // namespace gw::net
