#include "gw/cluster/circuit_breaker.hpp"

namespace gw::cluster {

void CircuitBreaker::set(State next) {
  if (next != state_) {
    state_ = next;
    ++transitions_;
  }
}

CircuitBreaker::Admission CircuitBreaker::allow(Clock::time_point now) {
  switch (state(now)) {
    case State::kClosed:
      return Admission::kRequest;
    case State::kOpen:
      return Admission::kRefused;
    case State::kHalfOpen:
      set(State::kHalfOpen);
      if (probe_in_flight_) {
        return Admission::kRefused;
      }
      probe_in_flight_ = true;
      return Admission::kTrial;
  }
  return Admission::kRefused;
}

void CircuitBreaker::on_success(bool trial) {
  if (trial) {
    probe_in_flight_ = false;
    set(State::kClosed);
  }
  if (state_ == State::kClosed) {
    consecutive_failures_ = 0;
  }
}

void CircuitBreaker::on_failure(Clock::time_point now, bool trial) {
  if (trial) {
    probe_in_flight_ = false;
    opened_at_ = now;  // the trial failed: open again for a full cooldown
    set(State::kOpen);
    return;
  }
  if (state_ == State::kClosed && ++consecutive_failures_ >= failure_threshold_) {
    opened_at_ = now;
    set(State::kOpen);
  }
}

void CircuitBreaker::on_probe_success() {
  if (state_ == State::kOpen) {
    set(State::kHalfOpen);
  }
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  if (state_ == State::kOpen && now - opened_at_ >= cooldown_) {
    return State::kHalfOpen;
  }
  return state_;
}

std::string_view to_string(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

}  // namespace gw::cluster
