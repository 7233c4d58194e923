#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace gw::metrics {

// One thread's part of one histogram series. Only its thread observes into it, so an
// observation is plain loads and stores: no lock and no cache line another thread writes. A
// scrape reads it through a sequence count (a seqlock), so its count and sum always agree.
class HistogramShard {
 public:
  explicit HistogramShard(std::span<const double> bounds);

  void observe(double value);  // the owning thread only

  // Adds this shard's bucket counts (not cumulative; one more than the bounds: +Inf) and sum.
  void add_to(std::vector<uint64_t>& counts, double& sum) const;

 private:
  std::span<const double> bounds_;
  std::atomic<uint64_t> sequence_{0};  // odd while an observation is being written
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// A histogram family (the text format's buckets, sum and count per label set) whose series are
// recorded per thread: each thread takes its own shard of a series once and observes into it;
// a scrape adds the shards up. prometheus-cpp's Histogram takes a mutex per observation, which
// every thread recording the same model would share.
class ShardedHistogramFamily final : public prometheus::Collectable {
 public:
  ShardedHistogramFamily(std::string name, std::string help, const std::vector<double>& bounds);

  // A new shard of the series with these labels, for the calling thread to keep: this takes the
  // family's lock, once per thread and series.
  HistogramShard& new_shard(const prometheus::Labels& labels);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;  // guards series_ (the shards are read without it)
  std::map<prometheus::Labels, std::vector<std::unique_ptr<HistogramShard>>> series_;
};

}  // namespace gw::metrics
