#include "gw/net/read_readiness.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <string>

namespace gw::net {
namespace {

using tcp = asio::ip::tcp;

// A connected loopback pair: `ours` is read through the event loop, `peer` writes and closes.
// A far timer keeps the loop busy, so that poll() also takes readiness events no read waits for.
struct Connection {
  asio::io_context context;
  TcpSocket ours{context.get_executor()};
  TcpSocket peer{context.get_executor()};
  SteadyTimer busy{context.get_executor()};
  std::string read;
  std::optional<boost::system::error_code> outcome;
  char buffer[64] = {};

  Connection() {
    TcpAcceptor acceptor(context.get_executor(),
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(ours);
    busy.expires_after(std::chrono::hours(1));
    busy.async_wait([](boost::system::error_code) {});
  }
  // Writes `bytes`, waits until our receive queue holds `queued` bytes, then lets the loop take
  // what is ready.
  void send(std::string_view bytes, size_t queued) {
    asio::write(peer, asio::buffer(bytes));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ours.available() < queued && std::chrono::steady_clock::now() < give_up) {
    }
    ASSERT_EQ(ours.available(), queued);
    context.poll();
  }
  // The hint, then a read, which must not have completed yet.
  void start_hinted_read() {
    await_readiness_before_next_read(ours);
    ours.async_read_some(asio::buffer(buffer), [this](boost::system::error_code ec, size_t n) {
      outcome = ec;
      read.append(buffer, n);
    });
    context.poll();
    EXPECT_FALSE(outcome.has_value());
  }
};

// Fails, rather than skips, where the hint is a no-op (another Boost, another reactor): the
// saved system call is then gone, and this says so.
TEST(ReadReadiness, AReadAfterTheHintWaitsForTheNextReadinessEventInsteadOfTryingFirst) {
  Connection c;
  // Bytes whose readiness event the loop has already taken: without the hint a read would find
  // them at once. With it, the read waits, which is why the hint is only given right after a
  // check that found the queue empty.
  c.send("hello", 5);
  c.start_hinted_read();

  c.send(" world", 11);  // a new event: the read takes everything there is
  ASSERT_TRUE(c.outcome.has_value());
  EXPECT_FALSE(*c.outcome);
  EXPECT_EQ(c.read, "hello world");
}

TEST(ReadReadiness, AReadAfterTheHintGetsBytesThatArriveLater) {
  Connection c;
  c.start_hinted_read();
  c.send("response", 8);
  ASSERT_TRUE(c.outcome.has_value());
  EXPECT_FALSE(*c.outcome);
  EXPECT_EQ(c.read, "response");
}

TEST(ReadReadiness, AReadAfterTheHintSeesAPeerThatClosesLater) {
  Connection c;
  c.start_hinted_read();
  c.peer.close();
  c.context.run_one_for(std::chrono::seconds(10));  // the close's readiness event
  ASSERT_TRUE(c.outcome.has_value());
  EXPECT_EQ(*c.outcome, asio::error::eof);
}

}  // namespace
}  // namespace gw::net
