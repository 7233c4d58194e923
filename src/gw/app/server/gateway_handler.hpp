#pragma once

#include <atomic>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "gw/app/routing/model_table.hpp"
#include "gw/app/routing/table_routing.hpp"
#include "gw/metrics/metrics.hpp"
#include "gw/net/http1_parser.hpp"
#include "gw/net/http_types.hpp"
#include "gw/net/upstream.hpp"
#include "gw/providers/catalog.hpp"
#include "gw/proxy/dashboard.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"

namespace gw::app {

// What every shard's handler shares (immutable once serving starts, apart from the catalog's
// own snapshots).
struct GatewayContext {
  std::shared_ptr<providers::ModelCatalog> catalog;
  TableHolder table;  // the model table (empty without GATEWAY_CONFIG); swapped by reloads
  std::vector<std::string> api_keys;
  RoutingSettings routing;  // its limits are every proxied request's
  std::shared_ptr<metrics::Metrics> metrics = std::make_shared<metrics::Metrics>();
  bool access_log = true;
  std::unique_ptr<const proxy::Dashboard> dashboard;  // /ui
  // When a request for an unknown model last made the providers be listed again (steady clock,
  // milliseconds): at most once per kOnDemandListingInterval, across shards.
  mutable std::atomic<int64_t> last_listing_on_demand{INT64_MIN / 2};

  // Whether an unknown model may trigger a listing now (and if so, notes that it does).
  bool claim_listing_on_demand() const;
};

// The dashboard's view of the context's models; `context` outlives its use.
proxy::DashboardSource gateway_dashboard_source(const GatewayContext& context);

// The OpenAI-compatible API: the model APIs (proxy/model_api.hpp), /v1/models[/{id}], /health,
// /metrics.
class GatewayHandler final : public proxy::ObservedHandler {
 public:
  GatewayHandler(std::shared_ptr<const GatewayContext> context, boost::asio::io_context& io,
                 net::ProxySettings proxies, net::UpstreamTimeouts timeouts);

  net::UpstreamClient& client() { return client_; }

 private:
  net::Task<void> dispatch(net::Exchange& exchange) override;
  // A model API's POST: checked, routed by its model, forwarded (or answered by the echo model).
  net::Task<void> model_request(net::Exchange& exchange, proxy::ModelApi api);
  // GET /v1/models and /v1/models/{id}, in OpenAI's shape or (for Anthropic's clients) theirs.
  net::Task<void> models_request(net::Exchange& exchange);
  // The model's route, noted in the exchange's log.
  tl::expected<providers::Route, core::Error> route_for(net::Exchange& exchange,
                                                        const std::string& model);
  // Whether a model not found makes the providers be listed again before it is looked up once
  // more (a provider started after the gateway, or a model added since the last listing): at
  // most once every few seconds.
  bool relist_for(const tl::expected<providers::Route, core::Error>& route) const;

  std::shared_ptr<const GatewayContext> context_;
  net::UpstreamClient client_;
};

}  // namespace gw::app
