#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "gw/net/io.hpp"
#include "gw/net/upstream.hpp"

namespace gw::net {
namespace {

using tcp = asio::ip::tcp;

// Ends our side of `socket` and returns once the peer has acknowledged the end: its stack holds
// it, so its next read finds it (loopback may defer delivery on a busy machine).
void end_and_await_acknowledgement(TcpSocket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  tcp_info info{};
  socklen_t size = sizeof info;
  while (getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &size) == 0 &&
         info.tcpi_state != TCP_FIN_WAIT2 && std::chrono::steady_clock::now() < give_up) {
  }
}

constexpr std::string_view kAnswer =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok";

// A loopback HTTP/1.1 server on the test's event loop that answers the first request on each
// connection (announcing a minute of keep-alive) and then closes the connection: at once, as a
// server closing an idle connection does (`close_when_idle`), or else when the next request has
// arrived, unanswered, as a server that restarts under it does.
class ClosingServer {
 public:
  ClosingServer(asio::io_context& io, bool close_when_idle)
      : acceptor_(io.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        closed_signal_(io.get_executor()),
        close_when_idle_(close_when_idle) {
    closed_signal_.expires_at(SteadyTimer::time_point::max());
    asio::co_spawn(io, accept(), asio::detached);
  }

  Endpoint endpoint() const {
    return *Endpoint::parse("http://127.0.0.1:" +
                            std::to_string(acceptor_.local_endpoint().port()));
  }
  // Returns once the server has closed `count` connections, each after the client acknowledged
  // its end.
  Task<void> closed(int count) {
    while (closed_ < count) {
      co_await closed_signal_.async_wait(kUseTask);
    }
  }

  int connections = 0;
  int requests = 0;

 private:
  Task<void> accept() {
    for (;;) {
      TcpSocket socket(acceptor_.get_executor());
      auto [ec] = co_await acceptor_.async_accept(socket, kUseTask);
      if (ec) {
        co_return;
      }
      ++connections;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  Task<void> serve(TcpSocket socket) {
    std::string data;
    if (co_await read_request(socket, data)) {
      co_await asio::async_write(socket, asio::buffer(kAnswer), kUseTask);
      if (close_when_idle_) {
        end_and_await_acknowledgement(socket);
      } else {
        co_await read_request(socket, data);
      }
    }
    socket.close();
    ++closed_;
    closed_signal_.cancel();
  }

  // One request (head and Content-Length body) from `data` and the socket; false at a close.
  Task<bool> read_request(TcpSocket& socket, std::string& data) {
    auto [ec, head] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n", kUseTask);
    if (ec) {
      co_return false;
    }
    const auto at = data.find("content-length: ");
    const size_t length = at < head ? std::stoul(data.substr(at + 16)) : 0;
    if (data.size() < head + length) {
      auto [bec, n] =
          co_await asio::async_read(socket, asio::dynamic_buffer(data),
                                    asio::transfer_exactly(head + length - data.size()), kUseTask);
      if (bec) {
        co_return false;
      }
    }
    data.erase(0, head + length);
    ++requests;
    co_return true;
  }

  TcpAcceptor acceptor_;
  SteadyTimer closed_signal_;
  bool close_when_idle_;
  int closed_ = 0;
};

struct Outcome {
  bool first_answered = false;
  std::optional<tl::expected<std::string, core::Error>> second;  // its body, or the error
  int connections = 0;                                           // that the server accepted
  int requests = 0;                                              // that it read
};

// Two POSTs in turn through one client: the second finds the first's connection in the pool.
Outcome two_posts(bool close_when_idle, SendOptions options) {
  asio::io_context io;
  ClosingServer server(io, close_when_idle);
  UpstreamClient client(io.get_executor(), {}, {});
  const Endpoint target = server.endpoint();
  const OutboundRequest request{"POST", "/v1/chat/completions", {}, {R"({"model":"m"})"}};
  Outcome outcome;
  asio::co_spawn(
      io,
      [&]() -> Task<void> {
        {
          auto first = co_await client.send(target, request, options);
          if (!first || (*first)->status() != 200 || !co_await (*first)->read_all(100)) {
            io.stop();
            co_return;
          }
          outcome.first_answered = true;
        }  // back in the pool
        if (close_when_idle) {
          co_await server.closed(1);
          // A turn of the event loop, which takes the event of the pooled connection's end (no
          // read waits for it): the check, or unchecked the reset the request draws, must find
          // the end.
          SteadyTimer turn(io.get_executor());
          turn.expires_after(std::chrono::seconds(0));
          co_await turn.async_wait(kUseTask);
        }
        auto second = co_await client.send(target, request, options);
        if (second) {
          outcome.second = co_await (*second)->read_all(100);
        } else {
          outcome.second = tl::unexpected(second.error());
        }
        io.stop();  // the server and the pool wait on
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(outcome.first_answered);
  outcome.connections = server.connections;
  outcome.requests = server.requests;
  return outcome;
}

// The second POST got the server's answer, the server having accepted `connections` and read
// `requests` in all.
void expect_answered(const Outcome& outcome, int connections, int requests) {
  ASSERT_TRUE(outcome.second.has_value());
  ASSERT_TRUE(*outcome.second) << outcome.second->error().message;
  EXPECT_EQ(**outcome.second, "ok");
  EXPECT_EQ(outcome.connections, connections);
  EXPECT_EQ(outcome.requests, requests);
}

SendOptions resending() {
  SendOptions options;
  options.resend_unanswered = true;
  return options;
}

TEST(UpstreamClient, APostSkipsAPooledConnectionItsServerHasClosed) {
  expect_answered(two_posts(true, {}), 2, 2);
}

// Reused without a check, the closed connection answers the request with a reset: sent again on
// a fresh connection.
TEST(UpstreamClient, WithResendUnansweredAPostOnAPooledConnectionItsServerClosedGoesAgain) {
  expect_answered(two_posts(true, resending()), 2, 2);
}

// The server took the POST and closed without a byte of answer: it may have run it, so it is
// not sent again.
TEST(UpstreamClient, APostNothingAnsweredOnAReusedConnectionIsNotSentAgain) {
  const Outcome outcome = two_posts(false, {});
  ASSERT_TRUE(outcome.second.has_value());
  ASSERT_FALSE(*outcome.second);
  EXPECT_EQ(outcome.second->error().errc, core::Errc::kUpstreamError);
  EXPECT_EQ(outcome.connections, 1);
  EXPECT_EQ(outcome.requests, 2);
}

// Unless the caller re-sends unanswered requests anyway (the controller): then once, on a fresh
// connection. Three requests: the first, the second on the reused connection, and once more.
TEST(UpstreamClient, WithResendUnansweredAPostNothingAnsweredOnAReusedConnectionGoesOnceMore) {
  expect_answered(two_posts(false, resending()), 2, 3);
}

}  // namespace
}  // namespace gw::net
