#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "gw/app/controller/queue_place.hpp"

namespace gw::app {
namespace {

using namespace std::chrono_literals;

// Requests asleep in one shard's queue, each noting when it wakes (in order), then leaving the
// queue as a request that picked a worker does, or (`stays`) staying in it as one that found
// every worker full again.
struct Sleepers {
  WaitQueue queue;
  std::vector<std::string> woke;
  // Last, so first destroyed: its sleepers' frames leave the queue before it goes, as a server's
  // sessions end before its handlers.
  boost::asio::io_context io;

  WaitQueue::Position sleep(std::string name, std::string_view model, bool stays = false,
                            std::chrono::steady_clock::duration timeout = 1h) {
    auto position = queue.enter(model);
    start(std::move(name), position, model, stays, timeout);
    return position;
  }
  // Sleeps (again) from an existing place.
  void start(std::string name, WaitQueue::Position position, std::string_view model,
             bool stays = false, std::chrono::steady_clock::duration timeout = 1h) {
    boost::asio::co_spawn(
        io,
        [](Sleepers& s, std::string who, WaitQueue::Position place, std::string_view waits_for,
           bool stay,
           std::chrono::steady_clock::time_point deadline) -> net::Task<void> {
          co_await s.queue.sleep(s.io, place, waits_for, deadline);
          s.woke.push_back(who);
          if (!stay) {
            s.queue.exit(place);
          }
        }(*this, std::move(name), position, model, stays,
                                                           std::chrono::steady_clock::now() +
                                                               timeout),
        boost::asio::detached);
  }
  // Runs what is ready (the sleepers falling asleep, or waking).
  void settle() {
    io.restart();
    io.poll();
  }
};

TEST(WaitQueue, AFreedSlotWakesTheOldestWaiterOfItsModelOnly) {
  Sleepers s;
  s.sleep("a1", "a");
  s.sleep("b1", "b");
  s.sleep("a2", "a");
  s.sleep("a3", "a");
  s.settle();
  EXPECT_TRUE(s.woke.empty());
  s.queue.wake("a", false);
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1"}));
  s.queue.wake("b", false);
  s.queue.wake("a", false);
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1", "b1", "a2"}));
}

TEST(WaitQueue, TwoSlotsFreedBeforeTheFirstWaiterRunsWakeTwoWaiters) {
  Sleepers s;
  s.sleep("a1", "a");
  s.sleep("a2", "a");
  s.sleep("a3", "a");
  s.settle();
  s.queue.wake("a", false);
  s.queue.wake("a", false);  // a1 is woken but has not run yet: this one is a2's
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1", "a2"}));
}

TEST(WaitQueue, AWaiterThatLostTheRaceKeepsItsRank) {
  Sleepers s;
  const auto first = s.sleep("a1", "a", true);
  s.sleep("a2", "a");
  s.settle();
  s.queue.wake("a", false);
  s.settle();
  ASSERT_EQ(s.woke, (std::vector<std::string>{"a1"}));
  // a1 found no worker free (another shard's request took the slot): asleep again, still first.
  s.start("a1 again", first, "a");
  s.settle();
  s.queue.wake("a", false);
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1", "a1 again"}));
}

TEST(WaitQueue, EveryWaiterOfTheModelWakesWhenManySlotsMayBeFree) {
  Sleepers s;
  s.sleep("a1", "a");
  s.sleep("b1", "b");
  s.sleep("a2", "a");
  s.settle();
  s.queue.wake("a", true);
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1", "a2"}));
}

TEST(WaitQueue, AWakeBeforeTheSleepIsNotLost) {
  Sleepers s;
  const auto position = s.queue.enter("a");
  s.queue.wake("a", false);  // between its pick and its sleep
  s.start("a1", position, "a");
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1"}));
}

TEST(WaitQueue, ASleeperWakesAtItsDeadline) {
  Sleepers s;
  s.sleep("a1", "a", false, 1ms);
  EXPECT_FALSE(s.queue.empty());
  s.io.run();  // until the deadline wakes it
  EXPECT_EQ(s.woke, (std::vector<std::string>{"a1"}));
  EXPECT_TRUE(s.queue.empty());
}

TEST(WaitQueue, AWaiterWaitsForItsCurrentModel) {
  Sleepers s;
  const auto position = s.queue.enter("a");
  s.start("fallback", position, "b");  // it fell back to b's workers while in the queue
  s.settle();
  s.queue.wake("a", false);
  s.settle();
  EXPECT_TRUE(s.woke.empty());
  s.queue.wake("b", false);
  s.settle();
  EXPECT_EQ(s.woke, (std::vector<std::string>{"fallback"}));
}

}  // namespace
}  // namespace gw::app
