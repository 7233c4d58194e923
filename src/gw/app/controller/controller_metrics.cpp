#include "gw/app/controller/controller_metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <map>

namespace gw::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  return {std::move(name), std::move(help), type, {}};
}

// The families with a sample per worker, labelled by model and worker.
struct PerWorkerFamilies {
  MetricFamily in_flight =
      family("llm_gateway_worker_in_flight",
             "Controller: requests in flight to each worker (its own count)", MetricType::Gauge);
  MetricFamily capacity =
      family("llm_gateway_worker_capacity",
             "Controller: each worker's capacity (concurrent requests)", MetricType::Gauge);
  MetricFamily circuit =
      family("llm_gateway_worker_circuit_state",
             "Controller: each worker's circuit: 0 closed, 1 half-open, 2 open", MetricType::Gauge);
  MetricFamily transitions = family(
      "llm_gateway_worker_circuit_transitions_total",
      "Controller: circuit state changes of each worker since it registered", MetricType::Counter);
  MetricFamily heartbeat_age =
      family("llm_gateway_worker_heartbeat_age_seconds",
             "Controller: seconds since each worker's last heartbeat", MetricType::Gauge);

  void add(const cluster::WorkerView& worker) {
    const auto& r = worker.registration;
    const std::vector<ClientMetric::Label> labels{{"model", r.model_id}, {"worker", r.worker_id}};
    auto gauge = [&](MetricFamily& into, double value) {
      ClientMetric metric;
      metric.label = labels;
      metric.gauge.value = value;
      into.metric.push_back(std::move(metric));
    };
    gauge(in_flight, static_cast<double>(worker.in_flight));
    gauge(capacity, static_cast<double>(r.capacity));
    gauge(circuit, cluster::CircuitBreaker::gauge_value(worker.circuit));
    gauge(heartbeat_age, std::chrono::duration<double>(worker.heartbeat_age).count());
    ClientMetric changes;
    changes.label = labels;
    changes.counter.value = static_cast<double>(worker.circuit_transitions);
    transitions.metric.push_back(std::move(changes));
  }
};

// Registered and healthy workers, a sample per model each.
std::pair<MetricFamily, MetricFamily> per_model_families(
    const std::vector<cluster::WorkerView>& workers) {
  std::pair<MetricFamily, MetricFamily> families{
      family("llm_gateway_workers_registered", "Controller: registered workers", MetricType::Gauge),
      family("llm_gateway_workers_healthy",
             "Controller: workers that are healthy (heartbeat on time, circuit closed)",
             MetricType::Gauge)};
  std::map<std::string, std::pair<int, int>> by_model;  // registered, healthy
  for (const auto& worker : workers) {
    auto& counts = by_model[worker.registration.model_id];
    ++counts.first;
    counts.second += worker.health == cluster::Health::kHealthy ? 1 : 0;
  }
  for (const auto& [model, counts] : by_model) {
    ClientMetric r;
    r.label = {{"model", model}};
    r.gauge.value = counts.first;
    families.first.metric.push_back(r);
    r.gauge.value = counts.second;
    families.second.metric.push_back(std::move(r));
  }
  return families;
}

class WorkerGauges final : public prometheus::Collectable {
 public:
  WorkerGauges(const cluster::WorkerRegistry& registry, const std::atomic<size_t>& queued)
      : registry_(registry), queued_(queued) {}

  std::vector<MetricFamily> Collect() const override {
    const auto workers = registry_.list(std::nullopt, cluster::Clock::now());
    auto [registered, healthy] = per_model_families(workers);
    PerWorkerFamilies per_worker;
    for (const auto& worker : workers) {
      per_worker.add(worker);
    }
    MetricFamily queued = family(
        "llm_gateway_queued_requests",
        "Controller: requests waiting for a worker's capacity (QUEUE_MAX_SIZE)", MetricType::Gauge);
    ClientMetric depth;
    depth.gauge.value = static_cast<double>(queued_.load(std::memory_order_relaxed));
    queued.metric.push_back(std::move(depth));
    return {std::move(registered),
            std::move(healthy),
            std::move(per_worker.in_flight),
            std::move(per_worker.capacity),
            std::move(per_worker.circuit),
            std::move(per_worker.transitions),
            std::move(per_worker.heartbeat_age),
            std::move(queued)};
  }

 private:
  const cluster::WorkerRegistry& registry_;
  const std::atomic<size_t>& queued_;
};

}  // namespace

void add_worker_metrics(metrics::Metrics& metrics, const cluster::WorkerRegistry& registry,
                        const std::atomic<size_t>& queued) {
  metrics.add_collectable(std::make_shared<WorkerGauges>(registry, queued));
}

}  // namespace gw::app
