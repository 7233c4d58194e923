// What the single-process gateway's dashboard shows of its models: the model table's deployments
// (in flight, circuit, cooldown) and the providers' listed models.

#include <set>

#include "gw/app/server/gateway_handler.hpp"

namespace gw::app {
namespace {

std::vector<proxy::DashboardModel> gateway_models(const GatewayContext& context) {
  std::vector<proxy::DashboardModel> models;
  std::set<std::string, std::less<>> seen;
  const auto now = cluster::Clock::now();
  if (const auto& table = context.table.read()) {
    for (const auto& model : table->models()) {
      proxy::DashboardModel shown{model->name, {}};
      const auto views = model->pool->view(now);
      for (size_t i = 0; i < views.size() && i < model->deployments.size(); ++i) {
        proxy::DashboardBackend backend{model->deployments[i].name, "deployment"};
        backend.circuit_state = cluster::to_string(views[i].circuit);
        backend.in_flight = views[i].in_flight;
        backend.cooldown_seconds = std::chrono::duration<double>(views[i].cooling_for).count();
        shown.backends.push_back(std::move(backend));
      }
      seen.insert(model->name);
      models.push_back(std::move(shown));
    }
  }
  for (const auto& listed : context.catalog->public_models()) {
    if (seen.insert(listed.entry.id).second) {
      proxy::DashboardModel shown{listed.entry.id, {}};
      shown.backends.push_back({std::string(listed.owner), "provider"});
      models.push_back(std::move(shown));
    }
  }
  return models;
}

}  // namespace

proxy::DashboardSource gateway_dashboard_source(const GatewayContext& context) {
  return {"server", [&context] { return gateway_models(context); }, {}, {}};
}

}  // namespace gw::app
