#include "gw/metrics/activity.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>

#include "gw/metrics/metrics.hpp"

namespace gw::metrics {

namespace {

// latency_buckets()' bounds (a unit test checks they are the same), here as a constant: finding
// a sample's bucket is on every request's path.
constexpr std::array kLatencyBounds{0.005, 0.01, 0.025, 0.05, 0.1,  0.25,  0.5,   1.0,  2.5,
                                    5.0,   10.0, 20.0,  30.0, 60.0, 120.0, 300.0, 600.0};

using Histogram = std::array<uint32_t, kLatencyBounds.size() + 1>;  // the last: +Inf

void observe(Histogram& histogram, double seconds) {
  const auto at = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds) -
                  kLatencyBounds.begin();
  ++histogram[static_cast<size_t>(at)];
}

struct Slot {
  int64_t index = -1;  // unix seconds / kSlotSeconds; another value: the slot is stale
  uint32_t requests = 0;
  uint32_t errors_4xx = 0;
  uint32_t errors_429 = 0;
  uint32_t errors_5xx = 0;
  uint32_t queue_waits = 0;
  uint32_t queue_rejections = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  Histogram latency{};
  Histogram ttft{};
  Histogram queue_wait{};
};

int64_t slot_index(Activity::WallClock::time_point now) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return seconds / Activity::kSlotSeconds;
}

HistoryPoint point_of(const Slot& slot) {
  const auto& bounds = latency_buckets();
  HistoryPoint point;
  point.start = slot.index * Activity::kSlotSeconds;
  point.requests = slot.requests;
  point.errors_4xx = slot.errors_4xx;
  point.errors_429 = slot.errors_429;
  point.errors_5xx = slot.errors_5xx;
  point.latency_p50 = histogram_quantile(0.5, bounds, slot.latency);
  point.latency_p95 = histogram_quantile(0.95, bounds, slot.latency);
  point.ttft_p50 = histogram_quantile(0.5, bounds, slot.ttft);
  point.ttft_p95 = histogram_quantile(0.95, bounds, slot.ttft);
  point.prompt_tokens = slot.prompt_tokens;
  point.completion_tokens = slot.completion_tokens;
  point.queue_waits = slot.queue_waits;
  point.queue_wait_p95 = histogram_quantile(0.95, bounds, slot.queue_wait);
  point.queue_rejections = slot.queue_rejections;
  return point;
}

// Tells one Activity from another (a new one may reuse a destroyed one's address): a thread's
// recent-requests ring belongs to one of them.
std::atomic<uint64_t> next_activity_id{1};

// Text kept in place, cut at N bytes: a recent request is copied with no allocation and less work
// than std::string's assign.
template <size_t N>
struct FixedText {
  std::array<char, N> bytes{};
  size_t size = 0;
  void set(std::string_view text) {
    size = std::min(text.size(), N);
    std::copy_n(text.data(), size, bytes.data());
  }
  std::string str() const { return {bytes.data(), size}; }
};

struct StoredRequest {
  double time = 0;
  FixedText<64> request_id;
  std::string_view endpoint;  // an endpoint_label() value: static
  FixedText<128> model;
  FixedText<128> backend;
  FixedText<24> stream_outcome;
  int status = 0;
  double duration = 0;
  std::optional<double> ttft;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;

  RecentRequest request() const {
    return {time,
            request_id.str(),
            std::string(endpoint),
            model.str(),
            backend.str(),
            status,
            duration,
            ttft,
            prompt_tokens,
            completion_tokens,
            stream_outcome.str()};
  }
};

// One thread's recent requests. Its lock is taken by its thread and by readers only.
struct RecentRing {
  std::mutex mutex;
  std::vector<StoredRequest> entries = std::vector<StoredRequest>(Activity::kRecentPerThread);
  size_t next = 0;
  size_t size = 0;
};

void add(Histogram& into, const Histogram& from) {
  for (size_t i = 0; i < into.size(); ++i) {
    into[i] += from[i];
  }
}

// Adds `from`'s counts to `into`, a slot of the same index.
void add(Slot& into, const Slot& from) {
  into.requests += from.requests;
  into.errors_4xx += from.errors_4xx;
  into.errors_429 += from.errors_429;
  into.errors_5xx += from.errors_5xx;
  into.queue_waits += from.queue_waits;
  into.queue_rejections += from.queue_rejections;
  into.prompt_tokens += from.prompt_tokens;
  into.completion_tokens += from.completion_tokens;
  add(into.latency, from.latency);
  add(into.ttft, from.ttft);
  add(into.queue_wait, from.queue_wait);
}

void add(ModelTotals& into, const ModelTotals& from) {
  into.requests += from.requests;
  into.errors += from.errors;
  into.prompt_tokens += from.prompt_tokens;
  into.completion_tokens += from.completion_tokens;
}

}  // namespace

// A model's record: the last hour's slots that its recorders have folded in, and the recorders.
class ModelActivity {
 public:
  explicit ModelActivity(std::string name) : name_(std::move(name)) {}

  ModelRecorder& new_recorder();

  ModelActivityView view(int64_t first, int64_t last) const;

 private:
  friend class ModelRecorder;

  // Under mutex_: adds a recorder's finished slot to the hour (unless the hour has moved past it).
  void fold(const Slot& finished);

  const std::string name_;
  mutable std::mutex mutex_;  // taken before a recorder's own lock, never after
  std::vector<Slot> slots_ = std::vector<Slot>(Activity::kSlots);
  std::vector<std::unique_ptr<ModelRecorder>> recorders_;
};

// One thread's part of a model's record: its totals and its current and previous slots. Only its
// thread records, under a lock only it and the dashboard's reads take; when its thread moves to
// a new slot, the oldest one it holds goes into the model's hour.
class ModelRecorder {
 public:
  explicit ModelRecorder(ModelActivity& model) : model_(model) {}

  // Calls `update(slot, totals)` on the current slot.
  template <typename Update>
  void at(Activity::WallClock::time_point now, Update update) {
    const int64_t index = slot_index(now);
    Slot& slot = slots_[static_cast<size_t>(index) % slots_.size()];
    if (slot.index != index) {  // only this thread writes the index: read without the lock
      start(slot, index);
    }
    std::lock_guard lock(mutex_);
    update(slot, totals_);
  }

  // Under the model's lock: adds this recorder's totals, and its slots within [first, last] to
  // `window` (window[i] is slot first + i).
  void add_to(ModelTotals& totals, std::vector<Slot>& window, int64_t first, int64_t last) const {
    std::lock_guard lock(mutex_);
    add(totals, totals_);
    for (const Slot& slot : slots_) {
      if (slot.index >= first && slot.index <= last) {
        Slot& into = window[static_cast<size_t>(slot.index - first)];
        into.index = slot.index;
        add(into, slot);
      }
    }
  }

 private:
  // Folds what `slot` held into the model's hour and starts it afresh as slot `index`. The
  // model's lock first, as a view takes them: the slot is in exactly one place for a view.
  void start(Slot& slot, int64_t index) {
    std::lock_guard model_lock(model_.mutex_);
    std::lock_guard lock(mutex_);
    if (slot.index >= 0) {
      model_.fold(slot);
    }
    slot = Slot{};
    slot.index = index;
  }

  ModelActivity& model_;
  mutable std::mutex mutex_;
  ModelTotals totals_;
  std::array<Slot, 2> slots_;
};

ModelRecorder& ModelActivity::new_recorder() {
  std::lock_guard lock(mutex_);
  return *recorders_.emplace_back(std::make_unique<ModelRecorder>(*this));
}

void ModelActivity::fold(const Slot& finished) {
  Slot& slot = slots_[static_cast<size_t>(finished.index % Activity::kSlots)];
  if (slot.index == finished.index) {
    add(slot, finished);
  } else if (slot.index < finished.index) {  // the ring's slot is an hour older: reused
    slot = finished;
  }
}

ModelActivityView ModelActivity::view(int64_t first, int64_t last) const {
  ModelActivityView view{name_, {}, {}};
  std::vector<Slot> window(static_cast<size_t>(last - first + 1));
  std::lock_guard lock(mutex_);
  for (int64_t index = first; index <= last; ++index) {
    const Slot& slot = slots_[static_cast<size_t>(index % Activity::kSlots)];
    if (slot.index == index) {
      window[static_cast<size_t>(index - first)] = slot;
    }
  }
  for (const auto& recorder : recorders_) {
    recorder->add_to(view.totals, window, first, last);
  }
  for (const Slot& slot : window) {
    if (slot.index >= 0) {
      view.points.push_back(point_of(slot));
    }
  }
  return view;
}

struct Activity::Impl {
  const uint64_t id = next_activity_id.fetch_add(1, std::memory_order_relaxed);
  mutable std::mutex mutex;  // guards the two maps below (their entries lock themselves)
  std::map<std::string, std::unique_ptr<ModelActivity>, std::less<>> models;
  std::vector<std::unique_ptr<RecentRing>> rings;

  RecentRing& thread_ring() {
    struct Cache {
      uint64_t owner = 0;
      RecentRing* ring = nullptr;
    };
    thread_local Cache cache;
    if (cache.owner != id) {
      std::lock_guard lock(mutex);
      cache.ring = rings.emplace_back(std::make_unique<RecentRing>()).get();
      cache.owner = id;
    }
    return *cache.ring;
  }
};

Activity::Activity() : impl_(std::make_unique<Impl>()) {}
Activity::~Activity() = default;

ModelRecorder& Activity::recorder(std::string_view model) {
  struct Cache {
    uint64_t owner = 0;
    std::map<std::string, ModelRecorder*, std::less<>> recorders;
  };
  thread_local Cache cache;
  if (cache.owner != impl_->id) {  // another Activity used this thread: its recorders are its own
    cache.owner = impl_->id;
    cache.recorders.clear();
  }
  if (auto it = cache.recorders.find(model); it != cache.recorders.end()) {
    return *it->second;
  }
  ModelActivity* record = nullptr;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->models.find(model);
    if (it == impl_->models.end()) {
      it = impl_->models
               .emplace(std::string(model), std::make_unique<ModelActivity>(std::string(model)))
               .first;
    }
    record = it->second.get();
  }
  ModelRecorder& made = record->new_recorder();
  cache.recorders.emplace(std::string(model), &made);
  return made;
}

void Activity::record(ModelRecorder& recorder, const RequestSample& sample, bool count_tokens,
                      WallClock::time_point now) {
  const int64_t prompt = count_tokens ? std::max<int64_t>(0, sample.prompt_tokens) : 0;
  const int64_t completion = count_tokens ? std::max<int64_t>(0, sample.completion_tokens) : 0;
  recorder.at(now, [&](Slot& slot, ModelTotals& totals) {
    ++totals.requests;
    totals.errors += sample.status >= 400 ? 1 : 0;
    totals.prompt_tokens += prompt;
    totals.completion_tokens += completion;
    ++slot.requests;
    if (sample.status == 429) {
      ++slot.errors_429;
    } else if (sample.status >= 500) {
      ++slot.errors_5xx;
    } else if (sample.status >= 400) {
      ++slot.errors_4xx;
    }
    observe(slot.latency, sample.duration);
    if (sample.ttft) {
      observe(slot.ttft, *sample.ttft);
    }
    slot.prompt_tokens += prompt;
    slot.completion_tokens += completion;
  });
}

void Activity::queue_wait(ModelRecorder& recorder, double seconds, WallClock::time_point now) {
  recorder.at(now, [&](Slot& slot, ModelTotals&) {
    ++slot.queue_waits;
    observe(slot.queue_wait, seconds);
  });
}

void Activity::queue_rejected(ModelRecorder& recorder, WallClock::time_point now) {
  recorder.at(now, [](Slot& slot, ModelTotals&) { ++slot.queue_rejections; });
}

void Activity::remember(const RequestSample& sample, WallClock::time_point now) {
  RecentRing& ring = impl_->thread_ring();
  std::lock_guard lock(ring.mutex);
  StoredRequest& entry = ring.entries[ring.next];
  ring.next = (ring.next + 1) % ring.entries.size();
  ring.size = std::min(ring.size + 1, ring.entries.size());
  entry.time = std::chrono::duration<double>(now.time_since_epoch()).count();
  entry.request_id.set(sample.request_id);
  entry.endpoint = sample.endpoint;
  entry.model.set(sample.model);
  entry.backend.set(sample.provider);
  entry.status = sample.status;
  entry.duration = sample.duration;
  entry.ttft = sample.ttft;
  entry.prompt_tokens = sample.prompt_tokens;
  entry.completion_tokens = sample.completion_tokens;
  entry.stream_outcome.set(sample.stream_outcome);
}

std::vector<ModelActivityView> Activity::models(std::chrono::seconds window,
                                                WallClock::time_point now) const {
  const int64_t last = slot_index(now);
  const int64_t slots = std::clamp<int64_t>(window.count() / kSlotSeconds, 1, kSlots);
  std::vector<const ModelActivity*> models;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [name, model] : impl_->models) {
      models.push_back(model.get());
    }
  }
  std::vector<ModelActivityView> views;
  views.reserve(models.size());
  for (const auto* model : models) {
    views.push_back(model->view(last - slots + 1, last));
  }
  return views;
}

std::vector<RecentRequest> Activity::recent(size_t limit) const {
  std::vector<RecentRing*> rings;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& ring : impl_->rings) {
      rings.push_back(ring.get());
    }
  }
  std::vector<RecentRequest> all;
  for (auto* ring : rings) {
    std::lock_guard lock(ring->mutex);
    const size_t capacity = ring->entries.size();
    for (size_t i = 0; i < ring->size; ++i) {
      all.push_back(ring->entries[(ring->next + capacity - 1 - i) % capacity].request());
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const RecentRequest& a, const RecentRequest& b) { return a.time > b.time; });
  if (all.size() > limit) {
    all.resize(limit);
  }
  return all;
}

std::optional<double> histogram_quantile(double q, const std::vector<double>& bounds,
                                         std::span<const uint32_t> counts) {
  uint64_t total = 0;
  for (uint32_t count : counts) {
    total += count;
  }
  if (total == 0) {
    return std::nullopt;
  }
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && static_cast<double>(below + counts[i]) >= rank) {
      if (i >= bounds.size()) {
        return bounds.back();  // in +Inf: the highest finite bound, as Prometheus does
      }
      const double lower = i == 0 ? 0.0 : bounds[i - 1];
      const double within = (rank - static_cast<double>(below)) / counts[i];
      return lower + (bounds[i] - lower) * within;
    }
    below += counts[i];
  }
  return bounds.back();
}

}  // namespace gw::metrics
