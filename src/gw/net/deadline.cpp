#include "gw/net/deadline.hpp"

#include <boost/asio/io_context.hpp>

namespace gw::net {

asio::execution_context::id DeadlineWheel::id;

void Deadline::close_socket(void* socket) {
  boost::system::error_code ignored;
  static_cast<TcpSocket*>(socket)->close(ignored);
}

DeadlineWheel::DeadlineWheel(asio::execution_context& context)
    : asio::execution_context::service(context) {
  // Only io_contexts run this code's sockets (see Executor).
  timer_.emplace(static_cast<asio::io_context&>(context));
}

DeadlineWheel& DeadlineWheel::of(const Executor& executor) {
  return asio::use_service<DeadlineWheel>(executor.context());
}

void DeadlineWheel::add(Deadline& deadline, std::chrono::milliseconds timeout) {
  size_t lane = 0;
  while (lane < lanes_.size() && lanes_[lane].timeout != timeout) {
    ++lane;
  }
  if (lane == lanes_.size()) {
    lanes_.push_back(Lane{timeout});
  }
  Lane& l = lanes_[lane];
  deadline.at_ = Clock::now() + timeout;
  deadline.lane_ = static_cast<int>(lane);
  deadline.prev_ = l.tail;
  deadline.next_ = nullptr;
  (l.tail != nullptr ? l.tail->next_ : l.head) = &deadline;
  l.tail = &deadline;
  // A lane's newest entry expires last in it; the timer moves only for an earlier one than it
  // waits for (a shorter lane that was empty). A wake-up that finds nothing due just re-aims.
  if (!waiting_ || deadline.at_ < wake_at_) {
    wake_at(deadline.at_);
  }
}

void DeadlineWheel::remove(Deadline& deadline) {
  Lane& l = lanes_[static_cast<size_t>(deadline.lane_)];
  (deadline.prev_ != nullptr ? deadline.prev_->next_ : l.head) = deadline.next_;
  (deadline.next_ != nullptr ? deadline.next_->prev_ : l.tail) = deadline.prev_;
  deadline.prev_ = deadline.next_ = nullptr;
  deadline.lane_ = -1;
}

void DeadlineWheel::wake_at(Clock::time_point at) {
  if (!timer_) {
    return;  // shutting down
  }
  waiting_ = true;
  wake_at_ = at;
  timer_->expires_at(at);  // cancels the earlier wait, whose handler then does nothing
  timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      waiting_ = false;
      expire_due();
    }
  });
}

void DeadlineWheel::expire_due() {
  const auto now = Clock::now();
  std::optional<Clock::time_point> next;
  // By index: an action may arm deadlines, which can add a lane.
  for (size_t i = 0; i < lanes_.size(); ++i) {  // NOLINT(modernize-loop-convert)
    while (lanes_[i].head != nullptr && lanes_[i].head->at_ <= now) {
      Deadline& due = *lanes_[i].head;
      remove(due);
      due.expired_ = true;
      due.action_(due.context_);
    }
  }
  for (const Lane& lane : lanes_) {
    if (lane.head != nullptr && (!next || lane.head->at_ < *next)) {
      next = lane.head->at_;
    }
  }
  if (next) {
    wake_at(*next);
  }
}

void DeadlineWheel::shutdown() {
  // Frames destroyed while the context shuts down may still disarm: the lanes stay valid.
  timer_.reset();
  waiting_ = false;
}

}  // namespace gw::net
