#pragma once

// Private to net/: deadlines on socket waits that cost no timer operation each.
//
// Beast's tcp_stream arms a timer for every read and cancels it when the read completes: a timer
// operation, a lock and a queued completion per read (several percent of a proxied request's
// instructions, and paid per event on a stream). Here an armed deadline is a node in a lane of
// its shard's wheel, one lane per duration, so every lane expires in order from its head, and one
// timer per shard waits for the earliest head. Arming and disarming only link and unlink a node.
// On expiry the socket is closed, as tcp_stream does: the pending operation ends with
// operation_aborted (and any later one fails), and expired() tells that the deadline did it.
// A deadline can run another action instead (something to start only if a wait lasts).
//
// The three ways the gateway bounds a wait, each where it costs least:
// - this wheel: socket waits on the hot path, armed per read (a request's head and body, an
//   upstream's response, the idle time between a stream's pieces);
// - Beast's tcp_stream expiry: operations made once per connection or on a slow path, where one
//   timer is noise and Beast's composed operations already honour it (connecting to each resolved
//   address in turn, the proxy CONNECT exchange, the TLS handshake, the rest of a write the socket
//   could not take at once, the lingering close after an early error);
// - plain timers (SteadyTimer): waits that are not on a socket (retry back-off, pool sweeps, the
//   drain deadline, a request queued for a worker).

#include <boost/asio/execution_context.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "gw/net/io.hpp"

namespace gw::net {

class DeadlineWheel;

class Deadline {
 public:
  using Action = void (*)(void* context);
  // On expiry: closes `socket`.
  Deadline(DeadlineWheel& wheel, TcpSocket& socket)
      : wheel_(&wheel), action_(&close_socket), context_(&socket) {}
  // On expiry: calls action(context).
  Deadline(DeadlineWheel& wheel, Action action, void* context)
      : wheel_(&wheel), action_(action), context_(context) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  Deadline(Deadline&&) = delete;
  Deadline& operator=(Deadline&&) = delete;

  // Acts `timeout` from now unless disarmed first.
  void arm(std::chrono::milliseconds timeout);
  void disarm();
  bool expired() const { return expired_; }
  // Disarms, and gives the outcome of the wait it covered: a timeout if it fired (the socket is
  // closed then, even if the wait completed in the same turn), else `ec`.
  boost::system::error_code end(boost::system::error_code ec) {
    disarm();
    return expired_ ? boost::system::error_code(boost::beast::error::timeout) : ec;
  }

 private:
  friend class DeadlineWheel;
  static void close_socket(void* socket);

  DeadlineWheel* wheel_;
  Action action_;
  void* context_;
  std::chrono::steady_clock::time_point at_{};
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
  int lane_ = -1;  // -1 while not armed
  bool expired_ = false;
};

// One per io_context (an Asio service), so whatever holds an executor finds its shard's wheel.
// Its timer may still wait for a deadline that was disarmed (it re-aims when it wakes): the
// server stops its contexts explicitly rather than waiting for them to run out of work.
class DeadlineWheel : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;  // NOLINT(readability-identifier-naming): Asio's name

  explicit DeadlineWheel(asio::execution_context& context);
  static DeadlineWheel& of(const Executor& executor);

 private:
  friend class Deadline;
  using Clock = std::chrono::steady_clock;
  struct Lane {
    std::chrono::milliseconds timeout;
    Deadline* head = nullptr;
    Deadline* tail = nullptr;
  };

  void add(Deadline& deadline, std::chrono::milliseconds timeout);
  void remove(Deadline& deadline);
  void wake_at(Clock::time_point at);
  void expire_due();
  void shutdown() override;

  std::vector<Lane> lanes_;  // a handful: one per configured timeout
  std::optional<SteadyTimer> timer_;
  bool waiting_ = false;
  Clock::time_point wake_at_{};
};

inline void Deadline::arm(std::chrono::milliseconds timeout) {
  disarm();
  expired_ = false;
  wheel_->add(*this, timeout);
}

inline void Deadline::disarm() {
  if (lane_ >= 0) {
    wheel_->remove(*this);
  }
}

}  // namespace gw::net
