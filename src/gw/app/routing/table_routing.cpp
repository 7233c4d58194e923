#include "gw/app/routing/table_routing.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <random>

#include "gw/app/routing/attempt_writer.hpp"
#include "gw/net/io.hpp"
#include "gw/providers/retry_after.hpp"
#include "gw/proxy/relay.hpp"

namespace gw::app {
namespace {

using Clock = std::chrono::steady_clock;
using net::Task;

// A 429 without a usable Retry-After still cools its deployment down a moment.
constexpr std::chrono::seconds kDefaultCooldown{1};
// Less time than this left before the deadline: no attempt is started.
constexpr std::chrono::milliseconds kShortestAttempt{10};
// Before the one retry of a model's only deployment: 100 ms, plus up to as much again at random.
constexpr std::chrono::milliseconds kRetryBackoff{100};

// What a refused attempt says, for the fallback rules (FallbackCause bits; 0: a verdict on the
// request itself, which no other deployment would change).
unsigned cause_of(const net::Response& refusal) {
  const int status = refusal.status;
  if (status == 429) {
    return kFallbackOnRateLimit;
  }
  if (status >= 500) {
    return kFallbackOnError;
  }
  const std::string_view body = refusal.body;
  if (body.find("context_length_exceeded") != std::string_view::npos ||
      body.find("prompt is too long") != std::string_view::npos ||
      body.find("maximum context length") != std::string_view::npos) {
    return kFallbackOnContextWindow;
  }
  if (body.find("content_filter") != std::string_view::npos ||
      body.find("content_policy_violation") != std::string_view::npos) {
    return kFallbackOnContentFilter;
  }
  return 0;
}

std::string_view header_of(const net::Response& response, std::string_view name) {
  for (const auto& header : response.headers) {
    if (net::iequals(header.name, name)) {
      return header.value;
    }
  }
  return {};
}

int64_t whole_seconds(Clock::duration duration) {
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::chrono::duration<double>(duration).count())));
}

class TableRouting {
 public:
  TableRouting(net::Exchange& exchange, const proxy::ModelRequest& request, const TableModel& model,
               net::UpstreamClient& client, metrics::Metrics& metrics,
               const RoutingSettings& settings)
      : exchange_(exchange),
        request_(request),
        model_(model),
        client_(client),
        metrics_(metrics),
        settings_(settings),
        deadline_(exchange.started_at + settings.request_timeout) {}

  Task<void> run() {
    exchange_.log.model_known = true;
    const TableModel* current = &model_;
    size_t next_fallback = 0;
    for (;;) {
      const bool answered = co_await try_model(*current);
      if (answered || proxy::interrupted(exchange_)) {
        co_return;
      }
      if (Clock::now() >= deadline_ || (model_.fallbacks_on & cause_) == 0 ||
          next_fallback >= model_.fallbacks.size()) {
        break;
      }
      const TableModel* fallback = model_.fallbacks[next_fallback++];
      spdlog::warn("[{}] model {}: no deployment could answer; falling back to {}",
                   exchange_.request_id, current->name, fallback->name);
      metrics_.fallback(model_.name, fallback->name);
      current = fallback;
    }
    co_await give_up();
  }

 private:
  // The deployments of `model`, until one answers (true) or none is left that may.
  Task<bool> try_model(const TableModel& model) {
    uint64_t tried = 0;
    bool retried_alone = false;
    for (;;) {
      if (proxy::interrupted(exchange_)) {
        co_return true;  // the session answers (or nobody listens)
      }
      const auto now = Clock::now();
      if (now + kShortestAttempt > deadline_) {
        co_return false;
      }
      auto lease = model.pool->pick(now, tried);
      if (!lease) {
        note_unavailable(model, tried, now);
        co_return false;
      }
      const size_t index = lease->index();
      tried |= uint64_t{1} << index;
      auto refusal = co_await attempt(model, model.deployments[index]);
      if (!refusal) {
        if (answer_failed_) {
          lease->failed(Clock::now());  // the stream broke after it began
        } else if (!proxy::interrupted(exchange_)) {
          lease->succeeded();
        }  // else: the client left, which says nothing about the deployment
        co_return true;
      }
      const unsigned cause = cause_of(*refusal);
      judge(model, model.deployments[index], *lease, *refusal, cause);
      last_ = std::move(*refusal);
      cause_ = cause;
      if (cause == 0) {
        co_await deliver(std::move(*last_));
        co_return true;
      }
      if (cause != kFallbackOnRateLimit && cause != kFallbackOnError) {
        co_return false;  // another deployment of the same model would refuse it too
      }
      if (model.pool->size() == 1 && cause == kFallbackOnError && !retried_alone) {
        // The only deployment: once more, after a short pause, if the deadline allows.
        retried_alone = true;
        static thread_local std::minstd_rand jitter(std::random_device{}());
        const auto pause = kRetryBackoff + std::chrono::milliseconds(jitter() % 100);
        if (Clock::now() + pause >= deadline_) {
          co_return false;
        }
        net::SteadyTimer timer(co_await boost::asio::this_coro::executor, pause);
        co_await timer.async_wait(net::kUseTask);
        tried = 0;
      }
    }
  }

  // One attempt at `deployment`: the answer reached the client (none returned), or it refused
  // before anything was sent (its refusal returned, not sent).
  Task<std::optional<net::Response>> attempt(const TableModel& model,
                                             const TableDeployment& deployment) {
    if (++attempts_ > 1) {
      metrics_.failover(model_.name);
    }
    net::Headers route_headers{{"x-gateway-model", model.name},
                               {"x-gateway-deployment", deployment.name},
                               {"x-gateway-attempts", std::to_string(attempts_)}};
    AttemptWriter writer(exchange_.writer, std::move(route_headers));
    // A copy of the request per attempt: an attempt may rewrite the body (a translation).
    net::Exchange attempt{exchange_.request,        exchange_.request_id, writer,
                          std::move(exchange_.log), exchange_.started_at, exchange_.interruption};
    attempt.log.provider = deployment.name;
    auto limits = settings_.limits;
    // Rounded up: an attempt cut short at the deadline ends at it, not a moment before (which
    // would leave a sliver for one more, doomed, attempt).
    limits.first_byte =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now()));
    co_await proxy::proxy_model_request(attempt, request_, *deployment.provider, deployment.model,
                                        client_, metrics_, limits);
    exchange_.log = std::move(attempt.log);
    auto refusal = writer.take_held();
    if (!refusal) {
      answer_failed_ = !exchange_.log.upstream_error.empty();
      metrics_.deployment_attempt(model.name, deployment.name, answer_failed_ ? "failed" : "ok");
    }
    co_return refusal;
  }

  // What a refusal says about its deployment: a 429 cools it down (for as long as it asks); a
  // 5xx, a connect error or a timeout counts against its circuit; a 4xx verdict does neither.
  void judge(const TableModel& model, const TableDeployment& deployment,
             cluster::DeploymentLease& lease, const net::Response& refusal, unsigned cause) {
    const auto now = Clock::now();
    if (refusal.status == 429) {
      auto wait = providers::retry_after_seconds(header_of(refusal, "retry-after"));
      const Clock::duration cooldown = wait ? Clock::duration(*wait) : kDefaultCooldown;
      model.pool->cool_down(lease.index(), now + cooldown);
      metrics_.cooldown(model.name, deployment.name);
      metrics_.deployment_attempt(model.name, deployment.name, "rate_limited");
      spdlog::warn("[{}] deployment {} of {} answered 429: cooling down for {} s",
                   exchange_.request_id, deployment.name, model.name, whole_seconds(cooldown));
      lease.succeeded();
      return;
    }
    if (cause == kFallbackOnError) {
      metrics_.deployment_attempt(model.name, deployment.name, "failed");
      spdlog::warn("[{}] deployment {} of {} failed with {}", exchange_.request_id, deployment.name,
                   model.name, refusal.status);
      lease.failed(now);
      return;
    }
    metrics_.deployment_attempt(model.name, deployment.name, "refused");
    lease.succeeded();
  }

  // No deployment of `model` may take the request now: all cooling down (a 429 until the first
  // is back) or with their circuit open (a 503). Kept only when no attempt of this model said
  // more.
  void note_unavailable(const TableModel& model, uint64_t tried, Clock::time_point now) {
    if (tried != 0) {
      return;  // the last attempt's refusal says more
    }
    if (auto end = model.pool->cooldown_end(now, 0)) {
      core::Error cooling(
          core::Errc::kRateLimited,
          fmt::format("Every deployment of model '{}' is rate limited; retry later", model.name));
      cooling.retry_after = std::to_string(whole_seconds(*end - now));
      last_ = net::error_response(cooling, exchange_.writer.error_format);
      cause_ = kFallbackOnRateLimit;
      return;
    }
    core::Error down(core::Errc::kServiceUnavailable,
                     fmt::format("No deployment of model '{}' is available right now", model.name));
    down.retry_after = std::to_string(1);  // (a literal here trips GCC 12's -Wrestrict)
    last_ = net::error_response(down, exchange_.writer.error_format);
    cause_ = kFallbackOnError;
  }

  // The client's answer when no attempt succeeded: the last refusal.
  Task<void> give_up() {
    if (!last_) {
      core::Error timeout(core::Errc::kUpstreamTimeout,
                          fmt::format("No answer for model '{}' within {} ms", model_.name,
                                      settings_.request_timeout.count()));
      last_ = net::error_response(timeout, exchange_.writer.error_format);
    }
    co_await deliver(std::move(*last_));
  }

  Task<void> deliver(net::Response response) {
    response.headers.push_back({"x-gateway-model", model_.name});
    response.headers.push_back({"x-gateway-attempts", std::to_string(attempts_)});
    co_await exchange_.writer.send(std::move(response));
  }

  net::Exchange& exchange_;
  const proxy::ModelRequest& request_;
  const TableModel& model_;
  net::UpstreamClient& client_;
  metrics::Metrics& metrics_;
  const RoutingSettings& settings_;
  const Clock::time_point deadline_;
  int attempts_ = 0;
  bool answer_failed_ = false;         // the last attempt's answer began, then its upstream failed
  std::optional<net::Response> last_;  // the last refusal, for the client if nothing better comes
  unsigned cause_ = 0;                 // and its cause
};

}  // namespace

Task<void> serve_table_model(net::Exchange& exchange, const proxy::ModelRequest& request,
                             std::shared_ptr<const ModelTable> table, const TableModel& model,
                             net::UpstreamClient& client, metrics::Metrics& metrics,
                             const RoutingSettings& settings) {
  TableRouting routing(exchange, request, model, client, metrics, settings);
  co_await routing.run();
  table.reset();  // kept until here: the model and its deployments live in it
}

}  // namespace gw::app
