#pragma once

// The controller's wait queue (QUEUE_MAX_SIZE, QUEUE_TIMEOUT): the requests of one shard waiting
// for a worker of their model below capacity (WaitQueue), and one request's place in it for all
// the times it waits (QueuePlace).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <list>
#include <optional>
#include <string_view>

#include "gw/core/scoped_count.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/io.hpp"

namespace gw::app {

// One shard's waiting requests, oldest first. A finished request wakes the oldest waiter of its
// worker's model not woken already, on each shard that has waiters (they race for the slot; the
// loser keeps its rank); a registration, a lower reported load, a resumed worker or a probe's
// answer wakes every waiter of the model. Waking every waiter whenever a request finished, as
// before, cost each request a resumption and a new timer per waiting request: quadratic work, when
// the controller is busiest. Used on its shard's thread only, but for empty().
class WaitQueue {
 public:
  struct Waiter {
    std::string_view model;             // the worker model it waits for
    net::SteadyTimer* timer = nullptr;  // while it sleeps
    bool woken = false;                 // since it last went to sleep; set early, it does not sleep
  };
  using Position = std::list<Waiter>::iterator;

  Position enter(std::string_view model);
  void exit(Position position);
  // Sleeps until woken or `deadline`, waiting for `model` (a fallback's may differ from the
  // model it entered for).
  net::Task<void> sleep(boost::asio::io_context& io, Position position, std::string_view model,
                        std::chrono::steady_clock::time_point deadline);
  // The oldest waiter of `model` not woken yet, or (`every`) all of them.
  void wake(std::string_view model, bool every);
  // Whether another shard may skip posting wake(): read from any thread. A request enters before
  // it picks once more, so a slot freed after that pick finds it counted here.
  bool empty() const { return size_.load(std::memory_order_relaxed) == 0; }

 private:
  std::list<Waiter> waiters_;
  std::atomic<size_t> size_{0};
};

// A request's place in the wait queue, for all the times it waits: counted in the queued gauge
// and in its shard's WaitQueue while it waits, each wait observed in the histogram, one deadline
// from the first.
class QueuePlace {
 public:
  using Clock = std::chrono::steady_clock;

  QueuePlace(std::atomic<size_t>& queued, WaitQueue& shard, metrics::Metrics& metrics,
             std::string_view model)
      : queued_(queued), shard_(shard), metrics_(metrics), model_(model) {}
  QueuePlace(const QueuePlace&) = delete;
  QueuePlace& operator=(const QueuePlace&) = delete;
  ~QueuePlace() { exit_shard(); }

  bool waiting() const { return slot_.has_value(); }
  Clock::time_point deadline() const { return *deadline_; }
  bool expired() const { return deadline_ && Clock::now() >= *deadline_; }

  // Counted as waiting for `worker_model` from now. The first time only, false when the queue
  // is full (and the refusal counted).
  bool join(std::chrono::milliseconds timeout, size_t max_size, std::string_view worker_model);

  // Sleeps until capacity of `worker_model` may have been freed, or `until`.
  net::Task<void> wait(boost::asio::io_context& io, std::string_view worker_model,
                       Clock::time_point until) {
    return shard_.sleep(io, *position_, worker_model, until);
  }

  // The wait is over: a worker was picked.
  void leave();

  // The client left while waiting: a slot it was woken for goes to the next waiter.
  void abandon(std::string_view worker_model);

  // Gives up at the deadline: a 429 follows.
  void time_out() {
    leave();
    metrics_.queue_rejected(model_);
  }

 private:
  void exit_shard();

  std::atomic<size_t>& queued_;
  WaitQueue& shard_;
  metrics::Metrics& metrics_;
  std::string_view model_;
  std::optional<core::ScopedCount<size_t>> slot_;
  std::optional<WaitQueue::Position> position_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point since_;
};

}  // namespace gw::app
