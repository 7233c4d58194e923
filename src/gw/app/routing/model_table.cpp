#include "gw/app/routing/model_table.hpp"

#include <algorithm>
#include <tuple>

#include "gw/app/config/provider_factory.hpp"

namespace gw::app {

ModelTable::ModelTable(const ModelTableConfig& config, cluster::DeploymentPoolOptions options,
                       metrics::Metrics* metrics)
    : path_(config.path) {
  for (const auto& model_config : config.models) {
    auto model = std::make_unique<TableModel>();
    model->name = model_config.name;
    model->fallbacks_on = model_config.fallbacks_on;
    model->on_stream_failure = model_config.on_stream_failure;
    model->continuation_instruction = model_config.continuation_instruction;
    std::vector<int64_t> weights;
    for (const auto& deployment : model_config.deployments) {
      TableDeployment::Counters counters;
      if (metrics != nullptr) {
        const auto& [name, dname] = std::tie(model_config.name, deployment.name);
        counters = {metrics->deployment_attempts(name, dname, "ok"),
                    metrics->deployment_attempts(name, dname, "rate_limited"),
                    metrics->deployment_attempts(name, dname, "failed"),
                    metrics->deployment_attempts(name, dname, "refused"),
                    metrics->cooldowns(name, dname)};
      }
      model->deployments.push_back(
          {deployment.name, make_provider(deployment.provider), deployment.model, counters});
      weights.push_back(deployment.weight);
    }
    model->pool = std::make_shared<cluster::DeploymentPool>(weights, options);
    models_.push_back(std::move(model));
  }
  // Names were checked against the table when it was read.
  for (size_t i = 0; i < config.models.size(); ++i) {
    for (const auto& fallback : config.models[i].fallbacks) {
      if (const TableModel* target = find(fallback)) {
        models_[i]->fallbacks.push_back(target);
      }
    }
  }
}

const TableModel* ModelTable::find(std::string_view name) const {
  auto it = std::find_if(models_.begin(), models_.end(),
                         [&](const auto& model) { return model->name == name; });
  return it == models_.end() ? nullptr : it->get();
}

}  // namespace gw::app
