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

  CircuitBreaker(int failure_threshold, Clock::duration cooldown)
      : failure_threshold_(failure_threshold), cooldown_(cooldown) {}

  // Whether a request may be sent now; in half-open, true once (the probe) until it reports.
  bool allow(Clock::time_point now);
  void on_success();
  void on_failure(Clock::time_point now);
  // An active health probe found the worker answering: an open circuit need not wait out its
  // cooldown and goes half-open at once (the next request is its trial).
  void on_probe_success();
  // A request ended without saying anything about the worker (the client left, the worker was
  // merely full): a half-open trial slot is freed for the next request.
  void on_abandoned() { probe_in_flight_ = false; }

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
