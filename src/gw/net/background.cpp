#include "gw/net/background.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "gw/net/io.hpp"

namespace gw::net {
namespace {

Task<void> supervise(std::string name, std::function<Task<void>()> body,
                     std::function<void()> on_failure, std::chrono::milliseconds restart_delay) {
  for (;;) {
    std::string failure;
    try {
      co_await body();
      co_return;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    spdlog::error("background task {} failed: {}; restarting it in {} ms", name, failure,
                  restart_delay.count());
    if (on_failure) {
      on_failure();
    }
    SteadyTimer pause(co_await asio::this_coro::executor, restart_delay);
    co_await pause.async_wait(kUseTask);
  }
}

}  // namespace

void spawn_background(Executor executor, std::string name, std::function<Task<void>()> body,
                      std::function<void()> on_failure, std::chrono::milliseconds restart_delay) {
  asio::co_spawn(executor,
                 supervise(std::move(name), std::move(body), std::move(on_failure), restart_delay),
                 asio::detached);
}

}  // namespace gw::net
