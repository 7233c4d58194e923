#include "gw/cluster/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace gw::cluster {
namespace {

using std::chrono::seconds;
using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(3, seconds(30));
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  breaker.on_success();  // resets the streak
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  EXPECT_EQ(breaker.state(t0), State::kClosed);
  EXPECT_TRUE(breaker.allow(t0));
  breaker.on_failure(t0);
  EXPECT_EQ(breaker.state(t0), State::kOpen);
  EXPECT_FALSE(breaker.allow(t0 + seconds(29)));
}

TEST(CircuitBreaker, HalfOpenLetsOneProbeAndItsSuccessCloses) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  breaker.on_failure(t0);
  const auto later = t0 + seconds(30);
  EXPECT_EQ(breaker.state(later), State::kHalfOpen);
  EXPECT_TRUE(breaker.allow(later));
  EXPECT_FALSE(breaker.allow(later));  // only one probe at a time
  breaker.on_success();
  EXPECT_EQ(breaker.state(later), State::kClosed);
  EXPECT_TRUE(breaker.allow(later));
  EXPECT_TRUE(breaker.allow(later));
}

TEST(CircuitBreaker, FailedProbeReopensForAFullCooldown) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  breaker.on_failure(t0);
  const auto probe_time = t0 + seconds(31);
  ASSERT_TRUE(breaker.allow(probe_time));
  breaker.on_failure(probe_time);
  EXPECT_EQ(breaker.state(probe_time + seconds(29)), State::kOpen);
  EXPECT_EQ(breaker.state(probe_time + seconds(30)), State::kHalfOpen);
  EXPECT_EQ(to_string(State::kHalfOpen), "half_open");
  EXPECT_GE(breaker.transitions(), 3);  // closed->open->half_open->open
}

}  // namespace
}  // namespace gw::cluster
