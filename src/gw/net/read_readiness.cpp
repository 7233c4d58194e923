#include "gw/net/read_readiness.hpp"

#include <boost/asio/detail/config.hpp>  // BOOST_ASIO_HAS_EPOLL, tested below
#include <boost/version.hpp>

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define GW_EPOLL_REACTOR_HINT 1
#include <boost/asio/detail/epoll_reactor.hpp>
#endif

namespace gw::net {

#ifdef GW_EPOLL_REACTOR_HINT
namespace {

using Reactor = asio::detail::epoll_reactor;
using DescriptorState = Reactor::descriptor_state;

// The reactor's per-socket flags and their lock are private members. An explicit instantiation
// may name private members ([temp.spec]/6): Expose<> hands each one out through a friend
// function, the one way to reach them without changing the library. The Boost version is pinned
// above because these are internals.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag /*tag*/) { return Member; }
};
struct TrySpeculative {
  using type = bool (DescriptorState::*)[Reactor::max_ops];
  friend type member(TrySpeculative tag);
};
struct StateMutex {
  using type = asio::detail::conditionally_enabled_mutex DescriptorState::*;
  friend type member(StateMutex tag);
};
template struct Expose<TrySpeculative, &DescriptorState::try_speculative_>;
template struct Expose<StateMutex, &DescriptorState::mutex_>;

// basic_socket's implementation is a protected member: a derived class may name it.
struct SocketImplementation : TcpSocket {
  static auto& of(TcpSocket& socket) {
    return (socket.*&SocketImplementation::impl_).get_implementation();
  }
};

}  // namespace

void await_readiness_before_next_read(TcpSocket& socket) {
  DescriptorState* state = SocketImplementation::of(socket).reactor_data_;
  if (state == nullptr) {
    return;
  }
  // The lock only keeps this write from racing the reactor's (it orders nothing: see the
  // precondition). A TCP socket is always registered with the reactor, which Asio also requires
  // before it stops trying first.
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(state->*member(StateMutex{}));
  (state->*member(TrySpeculative{}))[Reactor::read_op] = false;
}
#else
void await_readiness_before_next_read(TcpSocket& /*socket*/) {}
#endif

}  // namespace gw::net
