#include "gw/app/controller/queue_place.hpp"

namespace gw::app {

WaitQueue::Position WaitQueue::enter(std::string_view model) {
  size_.fetch_add(1, std::memory_order_relaxed);
  return waiters_.insert(waiters_.end(), Waiter{model});
}

void WaitQueue::exit(Position position) {
  waiters_.erase(position);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

// Parameters by value: the coroutine outlives the caller's expression.
net::Task<void> WaitQueue::sleep(boost::asio::io_context& io, Position position,
                                 std::string_view model,
                                 std::chrono::steady_clock::time_point deadline) {
  position->model = model;
  if (position->woken) {
    position->woken = false;  // woken between its pick and now: picks again at once
    co_return;
  }
  net::SteadyTimer timer(io, deadline);
  // However the sleep ends (woken, deadline, or its frame destroyed at teardown), the waiter no
  // longer points at the timer, and the next wake may be its again.
  struct Asleep {
    Waiter& waiter;
    ~Asleep() {
      waiter.timer = nullptr;
      waiter.woken = false;
    }
  } asleep{*position};
  position->timer = &timer;
  co_await timer.async_wait(net::kUseTask);
}

void WaitQueue::wake(std::string_view model, bool every) {
  for (Waiter& waiter : waiters_) {
    if (waiter.woken || waiter.model != model) {
      continue;
    }
    waiter.woken = true;
    if (waiter.timer != nullptr) {
      waiter.timer->cancel();
    }
    if (!every) {
      return;
    }
  }
}

bool QueuePlace::join(std::chrono::milliseconds timeout, size_t max_size,
                      std::string_view worker_model) {
  if (!deadline_) {
    if (queued_.load(std::memory_order_relaxed) >= max_size) {
      metrics_.queue_rejected(model_);
      return false;
    }
    deadline_ = Clock::now() + timeout;
  }
  slot_.emplace(queued_);
  if (!position_) {
    position_ = shard_.enter(worker_model);
  }
  since_ = Clock::now();
  return true;
}

void QueuePlace::leave() {
  if (slot_) {
    metrics_.queue_wait(model_, std::chrono::duration<double>(Clock::now() - since_).count());
    slot_.reset();
    exit_shard();
  }
}

void QueuePlace::abandon(std::string_view worker_model) {
  leave();
  // Whether it was woken or its deadline came is not known here: a wake too many only makes a
  // waiter pick again.
  shard_.wake(worker_model, false);
}

void QueuePlace::exit_shard() {
  if (position_) {
    shard_.exit(*position_);
    position_.reset();
  }
}

}  // namespace gw::app
