#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace gw::core {

namespace published_detail {
inline std::atomic<uint64_t> next_id{1};
}  // namespace published_detail

// A value that a writer replaces wholesale (a model list's refresh, a table's reload) and that
// every request reads, on every thread. A reader keeps, per thread, the value it last read and
// the publication it came from; it takes the lock only when a newer one has been published since.
// So reading takes no lock the threads share and writes no reference count they all write: a
// shared_ptr copied per request would have every thread increment the same counter. (Not
// std::atomic<shared_ptr>: libstdc++ 12 implements it with a spin lock, and its load releases
// that lock with relaxed order, which ThreadSanitizer reports as a race with the next store.)
// A thread keeps the value it last read until it reads again or ends, possibly after the owner
// of the Published is gone (the main thread runs a shard): T's destructor must not touch
// anything but the value itself.
template <typename T>
class Published {
 public:
  explicit Published(std::shared_ptr<const T> initial = nullptr) : value_(std::move(initial)) {}
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // The current value. The reference stays valid until the calling thread's next read() of a
  // Published<T>: copy it to keep the value across a suspension.
  const std::shared_ptr<const T>& read() const {
    thread_local Cache cache;
    const uint64_t version = version_.load(std::memory_order_acquire);
    if (cache.owner != id_ || cache.version != version) {
      std::shared_ptr<const T> superseded;  // freed after the lock, if this thread held the last
      const std::lock_guard lock(mutex_);
      cache.owner = id_;
      cache.version = version_.load(std::memory_order_relaxed);
      superseded = std::exchange(cache.value, value_);
    }
    return cache.value;
  }

  void publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mutex_);
      value_.swap(next);
      version_.fetch_add(1, std::memory_order_release);
    }
    // The old value goes here, outside the lock, or in the read() of the last thread that held it
    // (also outside the lock).
  }

 private:
  struct Cache {
    uint64_t owner = 0;
    uint64_t version = 0;
    std::shared_ptr<const T> value;
  };

  // Tells one Published from another (a new one may take a destroyed one's address).
  const uint64_t id_ = published_detail::next_id.fetch_add(1, std::memory_order_relaxed);
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace gw::core
