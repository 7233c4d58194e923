// What the controller's dashboard shows (its workers by model) and the worker actions it offers:
// register, drain or resume, remove: the internal API's operations under the dashboard's access.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "gw/app/controller/controller_handler.hpp"
#include "gw/core/logging.hpp"

namespace gw::app {
namespace {

namespace json = boost::json;
using net::Exchange;
using net::Task;

constexpr std::string_view kWorkersPath = "/ui/api/workers";
constexpr std::string_view kDrainSuffix = "/drain";

std::vector<proxy::DashboardModel> controller_models(const ControllerState& state) {
  std::map<std::string, proxy::DashboardModel, std::less<>> models;
  for (const auto& view : state.registry.list(std::nullopt, cluster::Clock::now())) {
    const auto& registration = view.registration;
    auto& model = models[registration.model_id];
    model.id = registration.model_id;
    proxy::DashboardBackend worker{registration.worker_id, "worker"};
    worker.url = registration.url;
    worker.health = cluster::to_string(view.health);
    worker.circuit_state = cluster::to_string(view.circuit);
    worker.in_flight = view.in_flight;
    worker.capacity = registration.capacity;
    worker.heartbeat_age_seconds = std::chrono::duration<double>(view.heartbeat_age).count();
    worker.draining = view.draining;
    model.backends.push_back(std::move(worker));
  }
  std::vector<proxy::DashboardModel> listed;
  listed.reserve(models.size());
  for (auto& [id, model] : models) {
    listed.push_back(std::move(model));
  }
  return listed;
}

// POST /ui/api/workers/{id}/drain {"draining": bool}
Task<void> drain_worker(Exchange& exchange, cluster::WorkerRegistry& registry,
                        std::string_view raw_id) {
  boost::system::error_code ec;
  const json::value body = json::parse(exchange.request.body, ec);
  const json::value* draining =
      body.is_object() ? body.as_object().if_contains("draining") : nullptr;
  if (ec || draining == nullptr || !draining->is_bool()) {
    co_return co_await net::respond_error(
        exchange.writer, {core::Errc::kInvalidRequest,
                          "The body must be a JSON object with a boolean 'draining'", "draining"});
  }
  const std::string id = net::percent_decode(raw_id);
  if (!registry.set_draining(id, draining->get_bool())) {
    co_return co_await net::respond_error(exchange.writer, unknown_worker(id));
  }
  spdlog::info("worker {} {} from the dashboard", core::log_text(id),
               draining->get_bool() ? "drained" : "resumed");
  const json::value answer{{"status", "ok"}, {"worker_id", id}, {"draining", draining->get_bool()}};
  net::Response response{200, "application/json", {}, json::serialize(answer)};
  co_await net::respond(exchange.writer, std::move(response));
}

Task<void> worker_action(Exchange& exchange, ControllerState& state) {
  const auto& request = exchange.request;
  const std::string_view path = request.path();
  if (path == kWorkersPath) {
    if (request.method != "POST") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
    }
    co_return co_await register_worker(exchange, state.registry);
  }
  if (path.size() <= kWorkersPath.size() + 1 || path[kWorkersPath.size()] != '/') {
    co_return co_await net::respond_error(
        exchange.writer,
        {core::Errc::kNotFound, fmt::format("Invalid URL ({} {})", request.method, path)});
  }
  std::string_view id = path.substr(kWorkersPath.size() + 1);
  if (id.ends_with(kDrainSuffix)) {
    if (request.method != "POST") {
      co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
    }
    id.remove_suffix(kDrainSuffix.size());
    co_return co_await drain_worker(exchange, state.registry, id);
  }
  if (request.method != "DELETE") {
    co_return co_await net::respond_method_not_allowed(exchange.writer, request, "DELETE");
  }
  co_await deregister_worker(exchange, state.registry, id);
}

}  // namespace

proxy::DashboardSource controller_dashboard_source(ControllerState& state) {
  return {"controller",
          [&state] { return controller_models(state); },
          {},
          [&state](Exchange& exchange) { return worker_action(exchange, state); }};
}

}  // namespace gw::app
