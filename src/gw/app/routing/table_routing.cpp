#include "gw/app/routing/table_routing.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <random>

#include "gw/app/routing/attempt_writer.hpp"
#include "gw/app/routing/stream_continuation.hpp"
#include "gw/net/io.hpp"
#include "gw/providers/common/retry_after.hpp"
#include "gw/proxy/relay.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::app {
namespace {

using Clock = std::chrono::steady_clock;
using net::Task;

// A 429 without a usable Retry-After still cools its deployment down a moment; one with a very
// long one (a daily quota) for an hour at most, then a request finds out again.
constexpr std::chrono::seconds kDefaultCooldown{1};
constexpr std::chrono::seconds kLongestCooldown{3600};
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
  // 401, 403 and 404 answer a request whose key, endpoint and model the table chose: the
  // deployment is misconfigured (a revoked key, a deleted Azure deployment), not the request.
  if (status >= 500 || status == 401 || status == 403 || status == 404) {
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
        log_(proxy::log_of(exchange)),
        request_(&request),
        model_(model),
        client_(client),
        metrics_(metrics),
        settings_(settings),
        deadline_(exchange.started_at + settings.request_timeout) {
    // A stream whose head went out before any event may go on elsewhere; one with events only
    // where the model continues broken streams, and only chat streams (their events are what the
    // rewriting knows: a Responses or Messages stream terminates).
    if (request.stream()) {
      const bool continues = model.on_stream_failure == StreamFailure::kContinue &&
                             request.api == proxy::ModelApi::kChat;
      continuation_.emplace(continues ? StreamContinuation::Mode::kContinue
                                      : StreamContinuation::Mode::kRetryBeforeFirstEvent,
                            model.continuation_instruction);
    }
  }

  // A model's deployment picked for the next attempt, or none: every deployment tried, or none
  // may take the request now (the refusal to give the client is noted), or the deadline is near.
  std::optional<cluster::DeploymentLease> pick(const TableModel& model, uint64_t tried) {
    const auto now = Clock::now();
    if (now + kShortestAttempt > deadline_) {
      return std::nullopt;
    }
    picked_at_ = now;
    auto lease = model.pool->pick(now, tried);
    if (!lease) {
      note_unavailable(model, tried, now);
    }
    return lease;
  }

  // The outcome of an attempt whose answer reached the client, for its deployment's circuit.
  void answered(cluster::DeploymentLease& lease) {
    if (answer_failed_) {
      lease.failed(Clock::now());  // the stream broke after it began
    } else if (!proxy::interrupted(exchange_)) {
      lease.succeeded();
    }  // else: the client left, which says nothing about the deployment
  }

  // The next model to try once `current` could not answer: a fallback, if the cause is one the
  // requested model falls back on and there is time left.
  const TableModel* next_model(const TableModel& current) {
    if (Clock::now() + kShortestAttempt > deadline_ || (model_.fallbacks_on & cause_) == 0 ||
        next_fallback_ >= model_.fallbacks.size()) {
      return nullptr;
    }
    const TableModel* fallback = model_.fallbacks[next_fallback_++];
    spdlog::warn("[{}] model {}: no deployment could answer; falling back to {}",
                 exchange_.request_id, current.name, fallback->name);
    metrics_.fallback(model_.name, fallback->name);
    return fallback;
  }

  // Once more on a model's only deployment after a 5xx, a connect error or a timeout: how long to
  // pause first (none when it was retried already or the deadline does not allow it).
  std::optional<std::chrono::milliseconds> pause_before_retrying_alone(const TableModel& model) {
    if (model.pool->size() != 1 || cause_ != kFallbackOnError || retried_alone_) {
      return std::nullopt;
    }
    retried_alone_ = true;
    static thread_local std::minstd_rand jitter(std::random_device{}());
    const auto pause = kRetryBackoff + std::chrono::milliseconds(jitter() % 100);
    if (Clock::now() + pause >= deadline_) {
      return std::nullopt;
    }
    return pause;
  }

  // One attempt at `deployment`: the answer reached the client (none returned), or it refused
  // before anything was sent (its refusal returned, not sent).
  Task<std::optional<net::Response>> attempt(const TableModel& model,
                                             const TableDeployment& deployment) {
    if (++attempts_ > 1) {
      metrics_.failover(model_.name);
    }
    StreamContinuation* continuation = continuation_ ? &*continuation_ : nullptr;
    AttemptWriter writer(exchange_.writer, model.name, deployment.name, attempts_, continuation);
    // The request itself for chat, completions and embeddings, whose bodies are sent as they are
    // (spliced); a copy for the APIs an attempt may translate, which rewrites the body.
    const bool translatable =
        request_->api == proxy::ModelApi::kResponses || request_->api == proxy::ModelApi::kMessages;
    net::Exchange attempt{
        translatable ? net::Request(exchange_.request) : std::move(exchange_.request),
        std::move(exchange_.request_id),  // moved back after (no copy)
        writer,
        exchange_.notes,  // the same log: the attempt notes its provider, outcome and tokens
        exchange_.started_at,
        exchange_.interruption};
    log_.provider = deployment.name;
    log_.upstream_error = {};  // what an earlier attempt's failure noted
    log_.outcome.clear();
    log_.prompt_tokens = log_.completion_tokens = -1;  // and its tokens
    auto limits = settings_.limits;
    // In whole seconds, rounded up: an attempt cut short at the deadline ends at it or just after,
    // not a moment before (which would leave a sliver for one more, doomed, attempt); and the
    // deadline wheel keeps a lane per distinct duration, so durations must not vary by the
    // millisecond.
    limits.first_byte = std::chrono::ceil<std::chrono::seconds>(deadline_ - picked_at_);
    co_await proxy::proxy_model_request(attempt, *request_, *deployment.provider, deployment.model,
                                        client_, metrics_, limits);
    exchange_.request_id = std::move(attempt.request_id);
    log_.attempts = attempts_;
    if (!translatable) {
      exchange_.request = std::move(attempt.request);
    }
    auto refusal = writer.take_held();
    const bool broke_off = !refusal && writer.broke_off();
    if (broke_off) {
      refusal = co_await continue_elsewhere(model, deployment);
    }
    if (!refusal) {
      answer_failed_ = !log_.upstream_error.empty();
      (answer_failed_ ? deployment.counters.failed : deployment.counters.ok).increment();
      if (!broke_off && continuation_ && continuation_->resuming()) {
        add_carried_usage();  // (a break that ended the stream logged the carried tokens)
      }
    }
    co_return refusal;
  }

  // A chat stream broke off at `deployment` and its model continues such streams: the request
  // becomes the conversation plus the partial answer, and the break a refusal that sends it to
  // the next deployment or fallback. When the answer cannot be continued, the stream ends with
  // its final error event (none returned).
  Task<std::optional<net::Response>> continue_elsewhere(const TableModel& model,
                                                        const TableDeployment& deployment) {
    continuation_->carry_usage(log_.prompt_tokens, log_.completion_tokens);
    broken_outcome_ = log_.outcome;
    broken_error_ = log_.upstream_error;
    // The client's body, before any continuation replaced it.
    const std::string& original = original_body_.empty() ? exchange_.request.body : original_body_;
    auto body = continuation_->next_body(original);
    if (body && !body->empty() && original_body_.empty()) {
      original_body_ = std::move(exchange_.request.body);
    }
    if (body && !body->empty()) {
      exchange_.request.body = std::move(*body);
      auto inspected = proxy::inspect_model_request(proxy::ModelApi::kChat, exchange_.request.body);
      if (inspected) {
        continued_request_ = std::move(*inspected);
        request_ = &*continued_request_;
      } else {
        body.reset();
      }
    }
    if (body) {
      spdlog::warn("[{}] the stream of {} broke off at deployment {}; going on elsewhere",
                   exchange_.request_id, model.name, deployment.name);
      co_return net::Response{502, "application/json", {}, {}};
    }
    spdlog::warn("[{}] the stream of {} broke off at deployment {} and cannot be continued",
                 exchange_.request_id, model.name, deployment.name);
    co_await finish_broken_stream();
    co_return std::nullopt;
  }

  // The client's continued stream could not be completed: it ends as the first break would have,
  // with the tokens the broken attempts reported.
  Task<void> finish_broken_stream() {
    log_.outcome = broken_outcome_;
    log_.upstream_error = broken_error_.empty() ? "reset" : broken_error_;
    log_.prompt_tokens = continuation_->carried_prompt_tokens();
    log_.completion_tokens = continuation_->carried_completion_tokens();
    co_await exchange_.writer.finish_stream(continuation_->held_failure());
  }

  // A continued stream's tokens: the last attempt's and those the broken ones reported.
  void add_carried_usage() {
    auto& log = log_;
    log.prompt_tokens =
        std::max<int64_t>(log.prompt_tokens, 0) + continuation_->carried_prompt_tokens();
    log.completion_tokens =
        std::max<int64_t>(log.completion_tokens, 0) + continuation_->carried_completion_tokens();
  }

  // What a refusal says about its deployment: a 429 cools it down (for as long as it asks); a
  // 5xx, a connect error or a timeout counts against its circuit; a 4xx verdict does neither.
  // The refusal is kept for the client (if nothing better comes); its cause is returned.
  unsigned judge(const TableModel& model, size_t index, cluster::DeploymentLease& lease,
                 net::Response refusal) {
    const TableDeployment& deployment = model.deployments[index];
    cause_ = cause_of(refusal);
    last_ = std::move(refusal);
    last_model_ = &model;
    account(model, deployment, lease, *last_);
    if (!request_->stream() && !log_.upstream_error.empty()) {
      // The upstream answered 2xx, then its body failed: the generation ran (and is billed), so
      // the request is never replayed; the client gets the failure. (A stream that failed before
      // its first event is retried, as the controller does.)
      cause_ = 0;
    }
    return cause_;
  }

  void account(const TableModel& model, const TableDeployment& deployment,
               cluster::DeploymentLease& lease, const net::Response& refusal) {
    const auto now = Clock::now();
    if (refusal.status == 429) {
      auto wait = providers::retry_after_seconds(header_of(refusal, "retry-after"));
      const Clock::duration cooldown =
          wait ? Clock::duration(std::min(*wait, kLongestCooldown)) : kDefaultCooldown;
      model.pool->cool_down(lease.index(), now + cooldown);
      deployment.counters.cooldowns.increment();
      deployment.counters.rate_limited.increment();
      spdlog::warn("[{}] deployment {} of {} answered 429: cooling down for {} s",
                   exchange_.request_id, deployment.name, model.name, whole_seconds(cooldown));
      lease.succeeded();
      return;
    }
    if (cause_ == kFallbackOnError) {
      deployment.counters.failed.increment();
      spdlog::warn("[{}] deployment {} of {} failed with {}", exchange_.request_id, deployment.name,
                   model.name, refusal.status);
      lease.failed(now);
      return;
    }
    deployment.counters.refused.increment();
    lease.succeeded();
  }

  // No deployment of `model` may take the request now: all cooling down (a 429 until the first
  // is back) or with their circuit open (a 503). Kept only when no attempt of this model said
  // more.
  void note_unavailable(const TableModel& model, uint64_t tried, Clock::time_point now) {
    if (tried != 0 || (last_ && &model == last_model_)) {
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
    return deliver_last();
  }

  Task<void> deliver_last() { return deliver(std::move(*last_)); }

  // The response is the coroutine's own (by value): it outlives the write.
  Task<void> deliver(net::Response response) {
    if (continuation_ && exchange_.writer.started()) {
      co_return co_await finish_broken_stream();  // a continued stream's answer began already
    }
    AttemptWriter writer(exchange_.writer, model_.name, {}, attempts_, nullptr, false);
    co_await writer.send(std::move(response));
  }

  net::Exchange& exchange_;
  proxy::RequestLog& log_;
  const proxy::ModelRequest* request_;  // the client's, or its continuation
  const TableModel& model_;
  net::UpstreamClient& client_;
  metrics::Metrics& metrics_;
  const RoutingSettings& settings_;
  const Clock::time_point deadline_;
  Clock::time_point picked_at_;  // when the attempt's deployment was picked
  int attempts_ = 0;
  size_t next_fallback_ = 0;
  bool retried_alone_ = false;
  bool answer_failed_ = false;         // the last attempt's answer began, then its upstream failed
  std::optional<net::Response> last_;  // the last refusal, for the client if nothing better comes
  const TableModel* last_model_ = nullptr;  // whose deployment gave it
  unsigned cause_ = 0;                      // and its cause
  // A broken stream continued elsewhere (on_stream_failure: continue): the recording, the
  // client's body, the request that continues it, and how the break was logged.
  std::optional<StreamContinuation> continuation_;
  std::string original_body_;
  std::optional<proxy::ModelRequest> continued_request_;
  std::string broken_outcome_;
  std::string_view broken_error_;
};

}  // namespace

// `table`: a parameter of the coroutine, so its frame keeps the table (and `model` in it) alive
// until the request ends.
Task<void> serve_table_model(net::Exchange& exchange, const proxy::ModelRequest& request,
                             [[maybe_unused]] std::shared_ptr<const ModelTable> table,
                             const TableModel& model, net::UpstreamClient& client,
                             metrics::Metrics& metrics, const RoutingSettings& settings) {
  // One coroutine for the loops (attempt() is the other): a frame per request is part of the
  // route's cost.
  TableRouting routing(exchange, request, model, client, metrics, settings);
  proxy::log_of(exchange).model_known = true;
  for (const TableModel* current = &model; current != nullptr;
       current = routing.next_model(*current)) {
    uint64_t tried = 0;
    routing.retried_alone_ = false;
    while (auto lease = routing.pick(*current, tried)) {
      if (proxy::interrupted(exchange)) {
        co_return;  // the session answers (or nobody listens)
      }
      const size_t index = lease->index();
      tried |= uint64_t{1} << index;
      auto refusal = co_await routing.attempt(*current, current->deployments[index]);
      if (!refusal) {
        routing.answered(*lease);
        co_return;
      }
      const unsigned cause = routing.judge(*current, index, *lease, std::move(*refusal));
      if (cause == 0) {
        co_return co_await routing.deliver_last();
      }
      if (cause != kFallbackOnRateLimit && cause != kFallbackOnError) {
        break;  // another deployment of the same model would refuse it too
      }
      if (auto pause = routing.pause_before_retrying_alone(*current)) {
        net::SteadyTimer timer(co_await boost::asio::this_coro::executor, *pause);
        co_await timer.async_wait(net::kUseTask);
        tried = 0;
      }
    }
    if (proxy::interrupted(exchange)) {
      co_return;
    }
  }
  co_await routing.give_up();
}

}  // namespace gw::app
