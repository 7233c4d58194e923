#include "gw/cluster/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace gw::cluster {
namespace {

using std::chrono::seconds;
using State = CircuitBreaker::State;
using Admission = CircuitBreaker::Admission;
constexpr bool kTrial = true;
constexpr bool kOrdinary = false;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(3, seconds(30));
  breaker.on_failure(t0, kOrdinary);
  breaker.on_failure(t0, kOrdinary);
  breaker.on_success(kOrdinary);  // resets the streak
  breaker.on_failure(t0, kOrdinary);
  breaker.on_failure(t0, kOrdinary);
  EXPECT_EQ(breaker.state(t0), State::kClosed);
  EXPECT_EQ(breaker.allow(t0), Admission::kRequest);
  breaker.on_failure(t0, kOrdinary);
  EXPECT_EQ(breaker.state(t0), State::kOpen);
  EXPECT_EQ(breaker.allow(t0 + seconds(29)), Admission::kRefused);
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialAndItsSuccessCloses) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  breaker.on_failure(t0, kOrdinary);
  const auto later = t0 + seconds(30);
  EXPECT_EQ(breaker.state(later), State::kHalfOpen);
  EXPECT_EQ(breaker.allow(later), Admission::kTrial);
  EXPECT_EQ(breaker.allow(later), Admission::kRefused);  // only one trial at a time
  breaker.on_success(kTrial);
  EXPECT_EQ(breaker.state(later), State::kClosed);
  EXPECT_EQ(breaker.allow(later), Admission::kRequest);
  EXPECT_EQ(breaker.allow(later), Admission::kRequest);
}

TEST(CircuitBreaker, FailedTrialReopensForAFullCooldown) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  breaker.on_failure(t0, kOrdinary);
  const auto trial_time = t0 + seconds(31);
  ASSERT_EQ(breaker.allow(trial_time), Admission::kTrial);
  breaker.on_failure(trial_time, kTrial);
  EXPECT_EQ(breaker.state(trial_time + seconds(29)), State::kOpen);
  EXPECT_EQ(breaker.state(trial_time + seconds(30)), State::kHalfOpen);
  EXPECT_EQ(to_string(State::kHalfOpen), "half_open");
  EXPECT_GE(breaker.transitions(), 3);  // closed->open->half_open->open
}

// Requests admitted before the circuit opened may end at any time later. Only the trial's outcome
// counts in half-open: an old request that is abandoned does not free the trial's slot (a second
// trial would run alongside), and one that succeeds does not close the circuit untested.
TEST(CircuitBreaker, OnlyTheTrialDecidesAHalfOpenCircuit) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  ASSERT_EQ(breaker.allow(t0), Admission::kRequest);  // a long stream, admitted while closed
  breaker.on_failure(t0, kOrdinary);                  // another request opens the circuit
  const auto later = t0 + seconds(30);
  ASSERT_EQ(breaker.allow(later), Admission::kTrial);
  breaker.on_abandoned(kOrdinary);  // an old request's client left
  EXPECT_EQ(breaker.allow(later), Admission::kRefused);
  breaker.on_success(kOrdinary);  // the old stream finishes
  EXPECT_EQ(breaker.state(later), State::kHalfOpen);
  breaker.on_failure(later, kOrdinary);  // nor does an old failure re-open it
  EXPECT_EQ(breaker.state(later), State::kHalfOpen);
  breaker.on_abandoned(kTrial);  // the trial's client left: the next request is the trial
  EXPECT_EQ(breaker.allow(later), Admission::kTrial);
  breaker.on_success(kTrial);
  EXPECT_EQ(breaker.state(later), State::kClosed);
}

TEST(CircuitBreaker, AnOpenCircuitIgnoresOldOutcomes) {
  const Clock::time_point t0{};
  CircuitBreaker breaker(1, seconds(30));
  breaker.on_failure(t0, kOrdinary);
  breaker.on_success(kOrdinary);  // admitted before it opened
  EXPECT_EQ(breaker.state(t0 + seconds(1)), State::kOpen);
}

}  // namespace
}  // namespace gw::cluster
