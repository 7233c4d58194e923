#include "gw/app/server/model_refresh.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>

#include "gw/net/io.hpp"

namespace gw::app {

using net::Task;

Task<bool> refresh_models_once(providers::ModelCatalog& catalog, net::UpstreamClient& client) {
  bool all_listed = true;
  for (const auto& provider : catalog.providers()) {
    auto request = provider->models_request();
    if (request.path.empty()) {
      continue;  // its models come from configuration
    }
    auto response = co_await client.send(provider->endpoint(), request);
    if (!response) {
      spdlog::warn("could not list the models of {}: {}", provider->name(),
                   response.error().message);
      all_listed = false;
      continue;
    }
    auto body = co_await (*response)->read_all(8u << 20);
    if ((*response)->status() != 200 || !body) {
      spdlog::warn("could not list the models of {}: HTTP {}", provider->name(),
                   (*response)->status());
      all_listed = false;
      continue;
    }
    auto models = provider->parse_models(*body);
    if (!models) {
      spdlog::warn("could not list the models of {}: {}", provider->name(), models.error());
      all_listed = false;
      continue;
    }
    spdlog::info("provider {} lists {} model(s)", provider->name(), models->size());
    catalog.set_models(*provider, std::move(*models));
  }
  co_return all_listed;
}

Task<void> keep_models_current(std::shared_ptr<providers::ModelCatalog> catalog,
                               net::UpstreamClient* client, std::chrono::milliseconds interval) {
  constexpr std::chrono::milliseconds kFirstRetry{1000};
  auto retry = kFirstRetry;
  for (;;) {
    const bool listed = co_await refresh_models_once(*catalog, *client);
    const auto wait = listed ? interval : std::min(retry, interval);
    retry = listed ? kFirstRetry : std::min(retry * 2, interval);
    net::SteadyTimer timer(co_await boost::asio::this_coro::executor, wait);
    co_await timer.async_wait(net::kUseTask);
  }
}

}  // namespace gw::app
