#include "gw/app/routing/table_metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace gw::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class DeploymentGauges final : public prometheus::Collectable {
 public:
  explicit DeploymentGauges(const TableHolder& holder) : holder_(holder) {}

  std::vector<MetricFamily> Collect() const override {
    MetricFamily in_flight{"llm_gateway_deployment_in_flight",
                           "Model table: requests in flight to each deployment",
                           MetricType::Gauge,
                           {}};
    MetricFamily circuit{"llm_gateway_deployment_circuit_state",
                         "Model table: each deployment's circuit: 0 closed, 1 half-open, 2 open",
                         MetricType::Gauge,
                         {}};
    MetricFamily cooldown{"llm_gateway_deployment_cooldown_seconds",
                          "Model table: seconds left of each deployment's rate-limit cooldown",
                          MetricType::Gauge,
                          {}};
    const auto table = holder_.read();  // a copy: Collect runs through it
    if (table == nullptr) {
      return {};
    }
    const auto now = cluster::Clock::now();
    for (const auto& model : table->models()) {
      const auto views = model->pool->view(now);
      for (size_t i = 0; i < views.size() && i < model->deployments.size(); ++i) {
        const std::vector<ClientMetric::Label> labels{{"model", model->name},
                                                      {"deployment", model->deployments[i].name}};
        auto gauge = [&](MetricFamily& family, double value) {
          ClientMetric metric;
          metric.label = labels;
          metric.gauge.value = value;
          family.metric.push_back(std::move(metric));
        };
        gauge(in_flight, static_cast<double>(views[i].in_flight));
        gauge(circuit, cluster::CircuitBreaker::gauge_value(views[i].circuit));
        gauge(cooldown, std::chrono::duration<double>(views[i].cooling_for).count());
      }
    }
    return {std::move(in_flight), std::move(circuit), std::move(cooldown)};
  }

 private:
  const TableHolder& holder_;
};

}  // namespace

void add_table_metrics(metrics::Metrics& metrics, const TableHolder& holder) {
  metrics.add_collectable(std::make_shared<DeploymentGauges>(holder));
}

}  // namespace gw::app
