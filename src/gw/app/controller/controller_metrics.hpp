#pragma once

#include <atomic>
#include <memory>

#include "gw/cluster/registry.hpp"
#include "gw/metrics/metrics.hpp"

namespace gw::app {

// Adds the controller's worker families to `metrics`, computed from `registry` at each scrape
// (so a removed worker leaves no stale series): registered and healthy workers by model, and per
// worker its in-flight load, capacity, circuit state and transitions, and heartbeat age; and the
// requests waiting in the capacity queue (`queued`, which must outlive `metrics`' scrapes).
void add_worker_metrics(metrics::Metrics& metrics, const cluster::WorkerRegistry& registry,
                        const std::atomic<size_t>& queued);

}  // namespace gw::app
