#pragma once

// A request's place in the controller's wait queue (QUEUE_MAX_SIZE, QUEUE_TIMEOUT), for all the
// times it waits while every worker of its model is full.

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

#include "gw/core/scoped_count.hpp"
#include "gw/metrics/metrics.hpp"

namespace gw::app {

// A request's place in the controller's wait queue, for all the times it waits: counted in the
// queued gauge while it waits, each wait observed in the histogram, one deadline from the first.
class QueuePlace {
 public:
  using Clock = std::chrono::steady_clock;

  QueuePlace(std::atomic<size_t>& queued, metrics::Metrics& metrics, std::string_view model)
      : queued_(queued), metrics_(metrics), model_(model) {}

  bool waiting() const { return slot_.has_value(); }
  Clock::time_point deadline() const { return *deadline_; }
  bool expired() const { return deadline_ && Clock::now() >= *deadline_; }

  // Counted as waiting from now. The first time only, false when the queue is full (and the
  // refusal counted).
  bool join(std::chrono::milliseconds timeout, size_t max_size) {
    if (!deadline_) {
      if (queued_.load(std::memory_order_relaxed) >= max_size) {
        metrics_.queue_rejected(model_);
        return false;
      }
      deadline_ = Clock::now() + timeout;
    }
    slot_.emplace(queued_);
    since_ = Clock::now();
    return true;
  }

  // The wait is over: a worker was picked, or the client left.
  void leave() {
    if (slot_) {
      metrics_.queue_wait(model_, std::chrono::duration<double>(Clock::now() - since_).count());
      slot_.reset();
    }
  }

  // Gives up at the deadline: a 429 follows.
  void time_out() {
    leave();
    metrics_.queue_rejected(model_);
  }

 private:
  std::atomic<size_t>& queued_;
  metrics::Metrics& metrics_;
  std::string_view model_;
  std::optional<core::ScopedCount<size_t>> slot_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point since_;
};

}  // namespace gw::app
