#include "gw/net/deadline.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <optional>

namespace gw::net {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

// A connected pair of loopback sockets on `io`.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : near(io), far(io) {
    TcpAcceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    near.connect(acceptor.local_endpoint());
    far = acceptor.accept();
  }
  TcpSocket near;
  TcpSocket far;
};

// Starts a read on `socket` that records how it ended, and stops `io` when it does.
void read_until_done(asio::io_context& io, TcpSocket& socket, std::array<char, 16>& buffer,
                     std::optional<boost::system::error_code>& result) {
  socket.async_read_some(asio::buffer(buffer), [&](boost::system::error_code ec, size_t) {
    result = ec;
    io.stop();
  });
}

TEST(Deadline, ExpiryClosesTheSocketAndEndsItsPendingRead) {
  asio::io_context io;
  SocketPair pair(io);
  Deadline deadline(DeadlineWheel::of(io.get_executor()), pair.near);
  std::array<char, 16> buffer{};
  std::optional<boost::system::error_code> result;
  read_until_done(io, pair.near, buffer, result);
  const auto start = std::chrono::steady_clock::now();
  deadline.arm(30ms);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, asio::error::operation_aborted);
  EXPECT_TRUE(deadline.expired());
  EXPECT_FALSE(pair.near.is_open());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(Deadline, DisarmedDeadlineNeverFires) {
  asio::io_context io;
  SocketPair first(io);
  SocketPair second(io);
  auto& wheel = DeadlineWheel::of(io.get_executor());
  Deadline disarmed(wheel, first.near);
  Deadline watched(wheel, second.near);
  disarmed.arm(10ms);
  disarmed.disarm();
  watched.arm(50ms);  // fires after the disarmed one would have
  std::array<char, 16> buffer{};
  std::optional<boost::system::error_code> result;
  read_until_done(io, second.near, buffer, result);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(watched.expired());
  EXPECT_FALSE(disarmed.expired());
  EXPECT_TRUE(first.near.is_open());
}

TEST(Deadline, ShorterDeadlineArmedLaterFiresFirst) {
  asio::io_context io;
  SocketPair slow(io);
  SocketPair fast(io);
  auto& wheel = DeadlineWheel::of(io.get_executor());
  Deadline long_deadline(wheel, slow.near);
  Deadline short_deadline(wheel, fast.near);
  long_deadline.arm(60s);
  short_deadline.arm(20ms);  // another lane, earlier than the wheel waits for
  std::array<char, 16> buffer{};
  std::optional<boost::system::error_code> result;
  read_until_done(io, fast.near, buffer, result);
  io.run();  // would take a minute if the wheel kept waiting for the long deadline
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(short_deadline.expired());
  EXPECT_FALSE(long_deadline.expired());
  EXPECT_TRUE(slow.near.is_open());
}

TEST(Deadline, RearmingReplacesTheEarlierDeadline) {
  asio::io_context io;
  SocketPair a(io);
  SocketPair b(io);
  auto& wheel = DeadlineWheel::of(io.get_executor());
  Deadline rearmed(wheel, a.near);
  Deadline watched(wheel, b.near);
  rearmed.arm(10ms);
  rearmed.arm(60s);
  watched.arm(50ms);  // fires after the first arming of `rearmed` would have
  std::array<char, 16> buffer{};
  std::optional<boost::system::error_code> result;
  read_until_done(io, b.near, buffer, result);
  io.run();
  EXPECT_TRUE(watched.expired());
  EXPECT_FALSE(rearmed.expired());
  EXPECT_TRUE(a.near.is_open());
}

TEST(Deadline, ActionDeadlineRunsItsActionOnlyWhenNotDisarmedInTime) {
  asio::io_context io;
  auto& wheel = DeadlineWheel::of(io.get_executor());
  struct Counter {
    int fired = 0;
    asio::io_context* io = nullptr;
  };
  Counter late{0, &io};
  Counter early{0, &io};
  auto count = [](void* c) {
    auto* counter = static_cast<Counter*>(c);
    ++counter->fired;
    counter->io->stop();
  };
  Deadline cancelled(wheel, count, &early);
  Deadline kept(wheel, count, &late);
  cancelled.arm(10ms);
  kept.arm(40ms);
  cancelled.disarm();
  io.run();  // stopped by the action
  EXPECT_EQ(early.fired, 0);
  EXPECT_EQ(late.fired, 1);
  EXPECT_TRUE(kept.expired());
  EXPECT_FALSE(cancelled.expired());
}

}  // namespace
}  // namespace gw::net
