#include "gw/metrics/sharded_histogram.hpp"

#include <algorithm>
#include <limits>
#include <thread>

namespace gw::metrics {

HistogramShard::HistogramShard(std::span<const double> bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void HistogramShard::observe(double value) {
  // As prometheus-cpp: the first bucket whose upper bound is at least the value, else +Inf.
  const auto bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                          bounds_.begin());
  // The release stores keep the odd sequence before the counts, and the counts before the even
  // one, for a reader that loads them with acquire (Boehm, "Can seqlocks get along with
  // programming language memory models?"): on x86 all of these are plain moves.
  const uint64_t sequence = sequence_.load(std::memory_order_relaxed);
  sequence_.store(sequence + 1, std::memory_order_relaxed);
  counts_[bucket].store(counts_[bucket].load(std::memory_order_relaxed) + 1,
                        std::memory_order_release);
  sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_release);
  sequence_.store(sequence + 2, std::memory_order_release);
}

void HistogramShard::add_to(std::vector<uint64_t>& counts, double& sum) const {
  const size_t buckets = bounds_.size() + 1;
  std::vector<uint64_t> read(buckets);
  double read_sum = 0;
  for (;;) {
    const uint64_t before = sequence_.load(std::memory_order_acquire);
    if (before % 2 == 0) {
      for (size_t i = 0; i < buckets; ++i) {
        read[i] = counts_[i].load(std::memory_order_acquire);
      }
      read_sum = sum_.load(std::memory_order_acquire);
      if (sequence_.load(std::memory_order_relaxed) == before) {
        break;
      }
    }
    std::this_thread::yield();  // its thread is mid-observation: a few instructions
  }
  for (size_t i = 0; i < buckets; ++i) {
    counts[i] += read[i];
  }
  sum += read_sum;
}

ShardedHistogramFamily::ShardedHistogramFamily(std::string name, std::string help,
                                               const std::vector<double>& bounds)
    : name_(std::move(name)), help_(std::move(help)), bounds_(bounds) {}

HistogramShard& ShardedHistogramFamily::new_shard(const prometheus::Labels& labels) {
  std::lock_guard lock(mutex_);
  return *series_[labels].emplace_back(std::make_unique<HistogramShard>(bounds_));
}

std::vector<prometheus::MetricFamily> ShardedHistogramFamily::Collect() const {
  std::lock_guard lock(mutex_);
  if (series_.empty()) {
    return {};  // as prometheus-cpp's families: no series, no family
  }
  prometheus::MetricFamily family{name_, help_, prometheus::MetricType::Histogram, {}};
  family.metric.reserve(series_.size());
  for (const auto& [labels, shards] : series_) {
    std::vector<uint64_t> counts(bounds_.size() + 1);
    double sum = 0;
    for (const auto& shard : shards) {
      shard->add_to(counts, sum);
    }
    prometheus::ClientMetric metric;
    for (const auto& [name, value] : labels) {
      metric.label.push_back({name, value});
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      metric.histogram.bucket.push_back(
          {cumulative, i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity()});
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = sum;
    family.metric.push_back(std::move(metric));
  }
  return {std::move(family)};
}

}  // namespace gw::metrics
