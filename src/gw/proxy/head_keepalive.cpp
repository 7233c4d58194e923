#include "gw/proxy/head_keepalive.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "gw/net/io.hpp"

namespace gw::proxy {
namespace {

constexpr std::string_view kComment = ": keep-alive\n\n";

}  // namespace

struct HeadKeepAlive::Ticker {
  explicit Ticker(const net::Executor& executor) : tick(executor), done(executor) {
    done.expires_at(net::SteadyTimer::time_point::max());
  }
  net::SteadyTimer tick;
  net::SteadyTimer done;  // never expires: cancelled when the comments end
  bool stop = false;
  bool finished = false;
};

namespace {

// Its own coroutine, beside the one waiting for the upstream's head: the first comment at once
// (with the head), then one each interval, until told to stop. It touches the exchange only
// between the stop checks, and stop() waits for it to finish.
net::Task<void> write_comments(std::shared_ptr<HeadKeepAlive::Ticker> ticker,
                               net::Exchange& exchange, std::chrono::milliseconds interval);

}  // namespace

net::SendOptions HeadKeepAlive::options(const net::UpstreamLimits& limits) {
  net::SendOptions options;
  options.first_byte = limits.first_byte;
  if (interval_.count() > 0) {
    options.slow_head_after = interval_;
    options.slow_head_action = &HeadKeepAlive::begin;
    options.slow_head_context = this;
  }
  return options;
}

void HeadKeepAlive::begin(void* self) {
  auto& keepalive = *static_cast<HeadKeepAlive*>(self);
  if (keepalive.ticker_ || keepalive.exchange_.writer.started()) {
    return;
  }
  keepalive.ticker_ = std::make_shared<Ticker>(keepalive.executor_);
  boost::asio::co_spawn(keepalive.executor_,
                        write_comments(keepalive.ticker_, keepalive.exchange_, keepalive.interval_),
                        boost::asio::detached);
}

net::Task<void> HeadKeepAlive::stop() {
  ticker_->stop = true;
  ticker_->tick.cancel();
  // A cancellation of this wait (the client left, the drain deadline) must not end it early: the
  // comments' coroutine may be writing, and the caller writes next.
  while (!ticker_->finished) {
    co_await ticker_->done.async_wait(net::kUseTask);
  }
}

namespace {

net::Task<void> write_comments(std::shared_ptr<HeadKeepAlive::Ticker> ticker,
                               net::Exchange& exchange, std::chrono::milliseconds interval) {
  while (!ticker->stop) {
    bool ok = false;
    if (exchange.writer.started()) {
      ok = co_await exchange.writer.write(kComment);
    } else {
      ok = co_await exchange.writer.start_stream(200, "text/event-stream", {}, {}, kComment);
    }
    if (!ok || ticker->stop) {
      break;
    }
    ticker->tick.expires_after(interval);
    co_await ticker->tick.async_wait(net::kUseTask);
  }
  ticker->finished = true;
  ticker->done.cancel();
}

}  // namespace

}  // namespace gw::proxy
