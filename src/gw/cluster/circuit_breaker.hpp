#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace gw::cluster {

using Clock = std::chrono::steady_clock;

// Per-worker circuit breaker: closed -> open after `failure_threshold` consecutive failures
// (connect errors, resets, 5xx, timeouts; never 4xx), open for `cooldown`, then half-open lets one
// probe through; its success closes the circuit, its failure re-opens it. Time is passed in, so
// tests drive it without sleeping. Not thread-safe: the registry serialises access.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // A state as the circuit gauges report it: 0 closed, 1 half-open, 2 open.
  static double gauge_value(State state) {
    return state == State::kOpen ? 2 : state == State::kHalfOpen ? 1 : 0;
  }
  // What allow() lets through: nothing, an ordinary request, or the half-open trial. Outcomes are
  // reported with whether the request was the trial: only the trial's outcome may close or
  // re-open a half-open circuit, and requests admitted before the circuit opened (a long stream
  // ending late) neither close it nor hold its trial slot.
  enum class Admission { kRefused, kRequest, kTrial };

  CircuitBreaker(int failure_threshold, Clock::duration cooldown)
      : failure_threshold_(failure_threshold), cooldown_(cooldown) {}

  // Whether a request may be sent now; in half-open, once (the trial) until the trial reports.
  Admission allow(Clock::time_point now);
  void on_success(bool trial);
  void on_failure(Clock::time_point now, bool trial);
  // An active health probe found the worker answering: an open circuit need not wait out its
  // cooldown and goes half-open at once (the next request is its trial).
  void on_probe_success();
  // A request ended without saying anything about the worker (the client left, the worker was
  // merely full): if it was the trial, the slot is freed for the next request.
  void on_abandoned(bool trial) {
    if (trial) {
      probe_in_flight_ = false;
    }
  }

  State state(Clock::time_point now) const;
  int64_t transitions() const { return transitions_; }

 private:
  void set(State next);

  int failure_threshold_;
  Clock::duration cooldown_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
  int64_t transitions_ = 0;
};

std::string_view to_string(CircuitBreaker::State state);

}  // namespace gw::cluster
