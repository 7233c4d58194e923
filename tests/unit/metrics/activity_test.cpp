#include "gw/metrics/activity.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gw/metrics/metrics.hpp"

namespace gw::metrics {
namespace {

using std::chrono::seconds;
using WallClock = Activity::WallClock;

// A fixed instant at the start of a slot: tests do not depend on when they run.
const WallClock::time_point kStart{seconds(1'800'000'000)};

RequestSample sample(int status, double duration, std::optional<double> ttft = std::nullopt) {
  RequestSample s;
  s.endpoint = "/v1/chat/completions";
  s.model = "m";
  s.provider = "p";
  s.status = status;
  s.duration = duration;
  s.ttft = ttft;
  s.prompt_tokens = 3;
  s.completion_tokens = 5;
  s.request_id = "req";
  return s;
}

TEST(HistogramQuantile, InterpolatesWithinTheBucketAsPrometheusDoes) {
  const std::vector<double> bounds{1, 2, 4};
  const std::vector<uint32_t> counts{0, 10, 0, 0};  // all in (1, 2]
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.5, bounds, counts), 1.5);
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.95, bounds, counts), 1.95);
  const std::vector<uint32_t> spread{5, 0, 5, 0};  // half in [0, 1], half in (2, 4]
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.5, bounds, spread), 1.0);
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.9, bounds, spread), 3.6);
  const std::vector<uint32_t> beyond{0, 0, 0, 2};  // in +Inf: the highest finite bound
  EXPECT_DOUBLE_EQ(*histogram_quantile(0.5, bounds, beyond), 4.0);
  const std::vector<uint32_t> empty{0, 0, 0, 0};
  EXPECT_FALSE(histogram_quantile(0.5, bounds, empty));
}

TEST(Activity, CountsASlotAndTotalsByStatusClass) {
  Activity activity;
  auto& model = activity.recorder("m");
  Activity::record(model, sample(200, 0.2, 0.05), true, kStart);
  Activity::record(model, sample(404, 0.01), true, kStart + seconds(1));
  Activity::record(model, sample(429, 0.01), true, kStart + seconds(2));
  Activity::record(model, sample(502, 0.01), false, kStart + seconds(3));  // tokens not counted
  Activity::queue_wait(model, 0.3, kStart);
  std::thread([&] { Activity::queue_rejected(activity.recorder("m"), kStart); }).join();

  const auto views = activity.models(seconds(3600), kStart + seconds(4));
  ASSERT_EQ(views.size(), 1U);
  EXPECT_EQ(views[0].model, "m");
  EXPECT_EQ(views[0].totals.requests, 4);
  EXPECT_EQ(views[0].totals.errors, 3);
  EXPECT_EQ(views[0].totals.prompt_tokens, 9);
  EXPECT_EQ(views[0].totals.completion_tokens, 15);
  ASSERT_EQ(views[0].points.size(), 1U);
  const auto& point = views[0].points[0];
  EXPECT_EQ(point.start, 1'800'000'000);
  EXPECT_EQ(point.requests, 4);
  EXPECT_EQ(point.errors_4xx, 1);
  EXPECT_EQ(point.errors_429, 1);
  EXPECT_EQ(point.errors_5xx, 1);
  EXPECT_EQ(point.prompt_tokens, 9);
  ASSERT_TRUE(point.ttft_p50);
  EXPECT_GT(*point.ttft_p50, 0.025);  // in the bucket (0.025, 0.05]
  EXPECT_LE(*point.ttft_p50, 0.05);
  EXPECT_EQ(point.queue_waits, 1);
  EXPECT_EQ(point.queue_rejections, 1);
  ASSERT_TRUE(point.queue_wait_p95);
  EXPECT_LE(*point.queue_wait_p95, 0.5);
}

TEST(Activity, PutsEachDurationInTheMetricsLatencyBucket) {
  const auto& bounds = latency_buckets();
  for (size_t i = 0; i < bounds.size(); ++i) {
    Activity activity;
    Activity::record(activity.recorder("m"), sample(200, bounds[i]), true, kStart);
    const auto p95 = activity.models(seconds(60), kStart)[0].points.at(0).latency_p95;
    ASSERT_TRUE(p95);
    EXPECT_GT(*p95, i == 0 ? 0.0 : bounds[i - 1]) << bounds[i];
    EXPECT_LE(*p95, bounds[i]) << bounds[i];
  }
}

TEST(Activity, KeepsOneHourInFiveSecondSlotsAndForgetsOlderOnes) {
  Activity activity;
  auto& model = activity.recorder("m");
  Activity::record(model, sample(200, 0.1), true, kStart);
  Activity::record(model, sample(200, 0.1), true, kStart + seconds(7));  // the next slot
  auto points = activity.models(seconds(3600), kStart + seconds(9))[0].points;
  ASSERT_EQ(points.size(), 2U);
  EXPECT_EQ(points[0].start + Activity::kSlotSeconds, points[1].start);  // oldest first
  // A window shorter than the age of the first slot leaves it out.
  EXPECT_EQ(activity.models(seconds(5), kStart + seconds(9))[0].points.size(), 1U);

  // An hour later the ring's slot of kStart is reused: the old count is gone, not added to.
  const auto later = kStart + seconds(Activity::kSlots * Activity::kSlotSeconds);
  Activity::record(model, sample(200, 0.1), true, later);
  points = activity.models(seconds(3600), later)[0].points;
  ASSERT_EQ(points.size(), 2U);  // kStart + 7's slot is still within the hour
  EXPECT_EQ(points[0].start, 1'800'000'005);
  EXPECT_EQ(points[1].start, 1'800'000'000 + Activity::kSlots * Activity::kSlotSeconds);
  EXPECT_EQ(points[1].requests, 1);
  EXPECT_EQ(activity.models(seconds(3600), later)[0].totals.requests, 3);  // totals stay

  // Two slots on, the recorder folds `later`'s slot into the hour, where kStart's slot was.
  Activity::record(model, sample(200, 0.1), true, later + seconds(5));
  Activity::record(model, sample(200, 0.1), true, later + seconds(10));
  points = activity.models(seconds(3600), later + seconds(10))[0].points;
  ASSERT_EQ(points.size(), 3U);
  EXPECT_EQ(points[0].start, 1'800'000'000 + Activity::kSlots * Activity::kSlotSeconds);
  EXPECT_EQ(points[0].requests, 1);  // kStart's count is not added to it
}

TEST(Activity, ASlotInTheHourAndInAnotherThreadsRecorderIsAddedUp) {
  Activity activity;
  auto& folding = activity.recorder("m");
  Activity::record(folding, sample(200, 0.1), true, kStart);
  Activity::record(folding, sample(200, 0.1), true, kStart + seconds(5));
  Activity::record(folding, sample(200, 0.1), true, kStart + seconds(10));  // folds kStart's
  std::thread([&] {
    Activity::record(activity.recorder("m"), sample(500, 0.1), true, kStart);  // keeps it
  }).join();
  const auto view = activity.models(seconds(3600), kStart + seconds(10))[0];
  ASSERT_EQ(view.points.size(), 3U);
  EXPECT_EQ(view.points[0].requests, 2);
  EXPECT_EQ(view.points[0].errors_5xx, 1);
  EXPECT_EQ(view.totals.requests, 4);
}

TEST(Activity, ListsRecentRequestsNewestFirstAcrossThreads) {
  Activity activity;
  constexpr int kThreads = 4;
  constexpr int kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&activity, t] {
      auto& recorder = activity.recorder("m");
      for (int i = 0; i < kEach; ++i) {
        RequestSample s = sample(200, 0.1);
        const std::string id = std::to_string(t * kEach + i);
        s.request_id = id;
        activity.remember(s, kStart + std::chrono::milliseconds(t * kEach + i));
        Activity::record(recorder, s, true, kStart);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto recent = activity.recent(10);
  ASSERT_EQ(recent.size(), 10U);
  EXPECT_EQ(recent[0].request_id, std::to_string(kThreads * kEach - 1));
  for (size_t i = 1; i < recent.size(); ++i) {
    EXPECT_GT(recent[i - 1].time, recent[i].time);
  }
  EXPECT_EQ(activity.recent(10'000).size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(activity.models(seconds(60), kStart)[0].totals.requests, kThreads * kEach);
}

TEST(Activity, AViewAddsUpEveryThreadsPartWhileTheyRecordAcrossSlots) {
  // Each thread records into its own recorder and moves through slots, folding its older ones
  // into the model's hour; a view taken meanwhile counts every request exactly once.
  Activity activity;
  constexpr int kThreads = 4;
  constexpr int kSlotsUsed = 12;
  constexpr int kPerSlot = 50;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&activity, &done] {
      auto& recorder = activity.recorder("m");
      for (int slot = 0; slot < kSlotsUsed; ++slot) {
        for (int i = 0; i < kPerSlot; ++i) {
          Activity::record(recorder, sample(200, 0.1), true,
                           kStart + seconds(slot * Activity::kSlotSeconds));
        }
      }
      done.fetch_add(1);
    });
  }
  const auto end = kStart + seconds(kSlotsUsed * Activity::kSlotSeconds);
  auto counted_once = [&] {
    const auto views = activity.models(seconds(3600), end);
    if (views.empty()) {
      return true;  // no recorder yet
    }
    int64_t in_points = 0;
    for (const auto& point : views[0].points) {
      in_points += point.requests;
    }
    return in_points == views[0].totals.requests;
  };
  bool always_once = true;
  while (done.load() < kThreads && always_once) {
    always_once = counted_once();
  }
  for (auto& thread : threads) {
    thread.join();
  }
  ASSERT_TRUE(always_once) << "a view counted a request twice or not at all";
  ASSERT_TRUE(counted_once());
  const auto view = activity.models(seconds(3600), end)[0];
  EXPECT_EQ(view.totals.requests, kThreads * kSlotsUsed * kPerSlot);
  ASSERT_EQ(view.points.size(), static_cast<size_t>(kSlotsUsed));
  for (const auto& point : view.points) {
    EXPECT_EQ(point.requests, kThreads * kPerSlot) << point.start;
  }
}

TEST(Activity, ARingHoldsItsLastRequestsOnly) {
  Activity activity;
  for (size_t i = 0; i < Activity::kRecentPerThread + 5; ++i) {
    RequestSample s = sample(200, 0.1);
    const std::string id = std::to_string(i);
    s.request_id = id;
    activity.remember(s, kStart + std::chrono::milliseconds(i));
  }
  const auto recent = activity.recent(10'000);
  ASSERT_EQ(recent.size(), Activity::kRecentPerThread);
  EXPECT_EQ(recent.front().request_id, std::to_string(Activity::kRecentPerThread + 4));
  EXPECT_EQ(recent.back().request_id, "5");
}

TEST(Activity, MetricsFeedItWithTheSameCountsAsTheirSeries) {
  Metrics metrics;
  metrics.request_started("/v1/chat/completions");
  metrics.record(sample(200, 0.1));
  metrics.request_started("/health");
  RequestSample health;
  health.endpoint = "/health";
  health.status = 200;
  metrics.record(health);  // no model: no history, and not a model API request
  const auto views = metrics.activity().models(seconds(60), WallClock::now());
  ASSERT_EQ(views.size(), 1U);
  EXPECT_EQ(views[0].totals.requests, 1);
  EXPECT_EQ(views[0].totals.prompt_tokens, 3);
  EXPECT_EQ(metrics.activity().recent(10).size(), 1U);
  EXPECT_EQ(metrics.model_requests_in_flight(), 0);
  // The slot histogram has one count per latency bucket and one for +Inf.
  EXPECT_DOUBLE_EQ(*histogram_quantile(1.0, latency_buckets(),
                                       std::vector<uint32_t>(latency_buckets().size() + 1, 1)),
                   latency_buckets().back());
}

}  // namespace
}  // namespace gw::metrics
