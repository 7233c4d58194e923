#include "gw/net/background.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>

namespace gw::net {
namespace {

TEST(SpawnBackground, AFailingTaskIsCountedAndStartedAgainUntilItEnds) {
  boost::asio::io_context io;
  int runs = 0;
  int failures = 0;
  spawn_background(
      io.get_executor(), "test",
      [&]() -> Task<void> {
        if (++runs < 3) {
          throw std::runtime_error("boom");
        }
        co_return;
      },
      [&] { ++failures; }, std::chrono::milliseconds(1));
  io.run();  // returns once the task has ended for good
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(failures, 2);
}

TEST(SpawnBackground, ATaskThatReturnsIsNotStartedAgain) {
  boost::asio::io_context io;
  int runs = 0;
  int failures = 0;
  spawn_background(
      io.get_executor(), "test",
      [&]() -> Task<void> {
        ++runs;
        co_return;
      },
      [&] { ++failures; }, std::chrono::milliseconds(1));
  io.run();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace gw::net
