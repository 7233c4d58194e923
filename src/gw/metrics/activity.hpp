#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gw::metrics {

struct RequestSample;

// One 5-second slot of a model's history, as the dashboard shows it. Counts are within the slot.
struct HistoryPoint {
  int64_t start = 0;  // unix seconds
  int64_t requests = 0;
  int64_t errors_4xx = 0;  // 400..499 except 429
  int64_t errors_429 = 0;
  int64_t errors_5xx = 0;
  std::optional<double> latency_p50;  // seconds; none without requests
  std::optional<double> latency_p95;
  std::optional<double> ttft_p50;  // seconds; none without streams
  std::optional<double> ttft_p95;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t queue_waits = 0;
  std::optional<double> queue_wait_p95;
  int64_t queue_rejections = 0;
};

// A model's counts since start: the same numbers its /metrics series add up to.
struct ModelTotals {
  int64_t requests = 0;
  int64_t errors = 0;  // status >= 400
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct ModelActivityView {
  std::string model;
  ModelTotals totals;
  std::vector<HistoryPoint> points;  // slots with any activity, oldest first
};

// A finished model API request, as the dashboard lists it: never content or keys.
struct RecentRequest {
  double time = 0;  // unix seconds, when its response finished
  std::string request_id;
  std::string endpoint;
  std::string model;
  std::string backend;
  int status = 0;
  double duration = 0;  // seconds
  std::optional<double> ttft;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string stream_outcome;  // empty for non-streaming requests
};

class ModelRecorder;

// What the dashboard shows without a Prometheus: per model, counts since start and the last hour
// in fixed 5-second slots (a ring: memory stays fixed per model and thread, whatever the
// traffic), and the last model API requests. Thread-safe. A thread records into its own part of
// a model's record (its recorder: totals and two slots) and its own ring of recent requests,
// whose locks only it and the dashboard's reads take; when it moves to a new slot, it folds the
// older one it holds into the model's hour, under the model's lock (once per slot at most).
class Activity {
 public:
  static constexpr int kSlotSeconds = 5;
  static constexpr int kSlots = 720;  // one hour
  static constexpr size_t kRecentPerThread = 500;
  using WallClock = std::chrono::system_clock;

  Activity();
  ~Activity();
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;

  // The calling thread's recorder of the model's record (both made on first use), for it alone
  // to record into. Valid as long as this Activity. Model names must be bounded by the caller
  // (configured ones only), as metrics labels are.
  ModelRecorder& recorder(std::string_view model);

  // `count_tokens`: whether /metrics counts this sample's tokens (it does when there is a
  // provider). Each on the recorder's own thread only.
  static void record(ModelRecorder& recorder, const RequestSample& sample, bool count_tokens,
                     WallClock::time_point now);
  static void queue_wait(ModelRecorder& recorder, double seconds, WallClock::time_point now);
  static void queue_rejected(ModelRecorder& recorder, WallClock::time_point now);
  // Remembers a finished model API request among the recent ones.
  void remember(const RequestSample& sample, WallClock::time_point now);

  // Every model with a record: its totals and the slots of the last `window` (≤ one hour).
  std::vector<ModelActivityView> models(std::chrono::seconds window,
                                        WallClock::time_point now) const;
  // The last `limit` requests remembered, newest first.
  std::vector<RecentRequest> recent(size_t limit) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The q-quantile (0..1) of a histogram with the given upper bounds (counts has one more: +Inf),
// linear within a bucket as Prometheus' histogram_quantile; none when empty.
std::optional<double> histogram_quantile(double q, const std::vector<double>& bounds,
                                         std::span<const uint32_t> counts);

}  // namespace gw::metrics
