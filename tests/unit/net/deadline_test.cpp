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

class DeadlineTest : public testing::Test {
 protected:
  // Reads from `socket` and runs the context until that read ends; returns how it ended.
  boost::system::error_code run_until_read_ends(TcpSocket& socket) {
    std::optional<boost::system::error_code> result;
    socket.async_read_some(asio::buffer(buffer_), [&](boost::system::error_code ec, size_t) {
      result = ec;
      io.stop();
    });
    io.run();
    EXPECT_TRUE(result.has_value());
    return result.value_or(boost::system::error_code{});
  }

  asio::io_context io;
  DeadlineWheel& wheel = DeadlineWheel::of(io.get_executor());

 private:
  std::array<char, 16> buffer_{};
};

TEST_F(DeadlineTest, ExpiryClosesTheSocketAndEndsItsPendingRead) {
  SocketPair pair(io);
  Deadline deadline(wheel, pair.near);
  const auto start = std::chrono::steady_clock::now();
  deadline.arm(30ms);
  EXPECT_EQ(run_until_read_ends(pair.near), asio::error::operation_aborted);
  EXPECT_TRUE(deadline.expired());
  EXPECT_FALSE(pair.near.is_open());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST_F(DeadlineTest, DisarmedDeadlineNeverFires) {
  SocketPair first(io);
  SocketPair second(io);
  Deadline disarmed(wheel, first.near);
  Deadline watched(wheel, second.near);
  disarmed.arm(10ms);
  disarmed.disarm();
  watched.arm(50ms);  // fires after the disarmed one would have
  EXPECT_EQ(run_until_read_ends(second.near), asio::error::operation_aborted);
  EXPECT_TRUE(watched.expired());
  EXPECT_FALSE(disarmed.expired());
  EXPECT_TRUE(first.near.is_open());
}

TEST_F(DeadlineTest, ShorterDeadlineArmedLaterFiresFirst) {
  SocketPair slow(io);
  SocketPair fast(io);
  Deadline long_deadline(wheel, slow.near);
  Deadline short_deadline(wheel, fast.near);
  long_deadline.arm(60s);
  short_deadline.arm(20ms);  // another lane, earlier than the wheel waits for
  // Would take a minute if the wheel kept waiting for the long deadline.
  EXPECT_EQ(run_until_read_ends(fast.near), asio::error::operation_aborted);
  EXPECT_TRUE(short_deadline.expired());
  EXPECT_FALSE(long_deadline.expired());
  EXPECT_TRUE(slow.near.is_open());
}

TEST_F(DeadlineTest, RearmingReplacesTheEarlierDeadline) {
  SocketPair a(io);
  SocketPair b(io);
  Deadline rearmed(wheel, a.near);
  Deadline watched(wheel, b.near);
  rearmed.arm(10ms);
  rearmed.arm(60s);
  watched.arm(50ms);  // fires after the first arming of `rearmed` would have
  EXPECT_EQ(run_until_read_ends(b.near), asio::error::operation_aborted);
  EXPECT_TRUE(watched.expired());
  EXPECT_FALSE(rearmed.expired());
  EXPECT_TRUE(a.near.is_open());
}

TEST_F(DeadlineTest, ActionDeadlineRunsItsActionOnlyWhenNotDisarmedInTime) {
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
