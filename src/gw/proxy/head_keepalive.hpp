#pragma once

#include <chrono>
#include <memory>
#include <utility>

#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"

namespace gw::proxy {

// While a stream's upstream has not sent its response head (a reasoning model that thinks before
// it answers, a server that queues the request): after one keep-alive interval the client's 200
// head is committed with an SSE comment, which every SSE client ignores, and another comment
// follows every interval until the head comes, so that no proxy between gives the stream up. From
// then on a failure is the stream's final error event (the relay sees the writer started), and the
// request is no longer retried elsewhere. For a fast upstream it costs a wheel deadline armed and
// disarmed inside UpstreamClient::send, nothing else.
//
//   HeadKeepAlive keepalive(exchange, client.executor(), stream ? limits.keepalive : {});
//   auto sent = co_await client.send(target, request, keepalive.options(limits));
//   if (keepalive.started()) co_await keepalive.stop();
class HeadKeepAlive {
 public:
  // `interval` 0: off. `executor`: the exchange's (the shard's).
  HeadKeepAlive(net::Exchange& exchange, net::Executor executor, std::chrono::milliseconds interval)
      : exchange_(exchange), executor_(std::move(executor)), interval_(interval) {}
  HeadKeepAlive(const HeadKeepAlive&) = delete;
  HeadKeepAlive& operator=(const HeadKeepAlive&) = delete;

  // send()'s options: the attempt's first-byte limit, and this keep-alive's slow-head action.
  net::SendOptions options(const net::UpstreamLimits& limits);
  // Whether the comments began (the head is committed).
  bool started() const { return ticker_ != nullptr; }
  // Ends the comments once send() returned, waiting for one being written: the caller writes
  // next.
  net::Task<void> stop();

  struct Ticker;  // what the comments' coroutine shares with stop()

 private:
  static void begin(void* self);

  net::Exchange& exchange_;
  net::Executor executor_;
  std::chrono::milliseconds interval_;
  std::shared_ptr<Ticker> ticker_;  // shared with the coroutine that writes the comments
};

}  // namespace gw::proxy
