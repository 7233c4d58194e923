#pragma once

// The model table as routing uses it: each table model's deployments (an adapter each, with its
// own endpoint and key), their shared state (cluster::DeploymentPool) and the fallbacks. Built
// from the file's ModelTableConfig; replaced wholesale on reload, while requests in flight keep
// the table they started with.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gw/app/config/model_table_file.hpp"
#include "gw/cluster/deployment_pool.hpp"
#include "gw/core/published.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/providers/provider.hpp"

namespace gw::app {

struct TableDeployment {
  std::string name;
  std::unique_ptr<providers::Provider> provider;
  std::string model;  // the upstream's
  // llm_gateway_deployment_attempts_total by result, and its cooldowns.
  struct Counters {
    metrics::SeriesCounter ok, rate_limited, failed, refused, cooldowns;
  } counters;
};

struct TableModel {
  std::string name;
  std::vector<TableDeployment> deployments;
  std::shared_ptr<cluster::DeploymentPool> pool;  // by deployment index
  std::vector<const TableModel*> fallbacks;       // in the same table
  unsigned fallbacks_on = 0;                      // FallbackCause bits
  StreamFailure on_stream_failure = StreamFailure::kTerminate;
  std::string continuation_instruction;
};

class ModelTable {
 public:
  // `metrics`: where the deployments' series are registered (none counted without).
  ModelTable(const ModelTableConfig& config, cluster::DeploymentPoolOptions options,
             metrics::Metrics* metrics = nullptr);
  ModelTable(const ModelTable&) = delete;
  ModelTable& operator=(const ModelTable&) = delete;

  const std::string& path() const { return path_; }
  const TableModel* find(std::string_view name) const;
  const std::vector<std::unique_ptr<TableModel>>& models() const { return models_; }

 private:
  std::string path_;
  std::vector<std::unique_ptr<TableModel>> models_;  // stable addresses for the fallbacks
};

// The table in use, swapped by a reload: a request reads the current one (without a lock the
// threads share) and keeps a copy of the pointer while it routes by it.
using TableHolder = core::Published<ModelTable>;

}  // namespace gw::app
