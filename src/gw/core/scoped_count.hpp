#pragma once

#include <atomic>

namespace gw::core {

// Adds one to a shared counter for as long as it lives, whichever way the scope ends (a
// cancelled coroutine unwinds through its destructors: counts stay exact).
template <class T>
class ScopedCount {
 public:
  explicit ScopedCount(std::atomic<T>& count) : count_(count) {
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  ~ScopedCount() { count_.fetch_sub(1, std::memory_order_relaxed); }
  ScopedCount(const ScopedCount&) = delete;
  ScopedCount& operator=(const ScopedCount&) = delete;

 private:
  std::atomic<T>& count_;
};

}  // namespace gw::core
