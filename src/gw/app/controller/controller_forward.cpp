// Forwarding a model request (chat, embeddings) to a worker: least-loaded pick, a bounded wait when
// every worker is full, and failover to another worker while nothing has been sent to the client
// yet.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "gw/app/controller/controller_handler.hpp"
#include "gw/app/controller/queue_place.hpp"
#include "gw/app/routing/attempt_writer.hpp"
#include "gw/cluster/worker_messages.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "gw/providers/provider.hpp"
#include "gw/providers/responses.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/model_api.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/relay.hpp"
#include "gw/proxy/request_log.hpp"

namespace gw::app {

using proxy::add_anthropic_headers;
using proxy::add_forwarding_headers;
using proxy::interrupted;
using proxy::loop_error;
using proxy::relay_success;
using proxy::RelayEnd;
using proxy::upstream_error_kind;
namespace {

using net::Exchange;
using net::Task;

// A worker's answer that another worker might do better: it is full (429), or it or its backend
// failed (502, 503, 504).
bool worth_another_worker(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Between tries of a worker that said it is full while our count said it had room: woken sooner
// when our own count frees a slot.
constexpr std::chrono::milliseconds kFirstWorkerFullBackoff{25};
constexpr std::chrono::milliseconds kMaxWorkerFullBackoff{500};

// What the client gets when no attempt succeeded: the last worker's own answer if there was one.
struct LastFailure {
  std::optional<core::Error> error;  // the request never got an answer
  int status = 0;
  std::string body;
  std::string retry_after;
};

std::string seconds_text(std::chrono::milliseconds duration) {
  return std::to_string(std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::chrono::duration<double>(duration).count()))));
}

// A worker's non-2xx answer, kept to be passed on as is (or as a 502 when it has no body).
LastFailure worker_answer(const std::string& worker_id, const net::UpstreamResponse& upstream,
                          tl::expected<std::string, core::Error> body) {
  const int status = upstream.status();
  if (!body || body->empty()) {
    return LastFailure{core::Error(core::Errc::kUpstreamError,
                                   fmt::format("worker {} answered HTTP {}", worker_id, status))};
  }
  return LastFailure{std::nullopt, status, std::move(*body),
                     std::string(upstream.header("retry-after"))};
}

Task<void> send_last_failure(net::ResponseWriter& writer, LastFailure failure) {
  if (failure.status != 0) {
    net::Response response{failure.status, "application/json", {}, std::move(failure.body)};
    if (!failure.retry_after.empty()) {
      response.headers.push_back({"retry-after", std::move(failure.retry_after)});
    }
    co_return co_await net::respond(writer, std::move(response));
  }
  co_await net::respond_error(writer, *failure.error);
}

// A worker answers in the client's format: a Responses or Messages stream ends with its own
// terminal event; on chat streams the usage chunk the controller asked for (kStreamUsageHeader)
// is kept from a client that did not.
std::unique_ptr<providers::ResponseTranslator> worker_relay(const ForwardedCall& call) {
  if (call.path == "/v1/responses") {
    return providers::make_responses_pass_through();
  }
  if (call.path.starts_with("/v1/messages")) {  // and its count_tokens
    return providers::make_messages_pass_through();
  }
  return providers::make_pass_through(call.chat != nullptr &&
                                      api::adds_usage_request(*call.chat, true));
}

}  // namespace

// One model request's way to a worker: picks, waits in the queue, attempts and failovers, until
// a worker's answer reaches the client or none can.
class ModelForwarding {
 public:
  ModelForwarding(ControllerHandler& handler, Exchange& exchange, const ForwardedCall& call)
      : handler_(handler),
        state_(*handler.state_),
        config_(state_.config),
        exchange_(exchange),
        log_(proxy::log_of(exchange)),
        call_(call),
        deadline_(exchange.started_at + config_.timeouts.first_byte),
        queue_(state_.queued, handler.wait_queue_, state_.metrics, call.model),
        table_(state_.table()) {
    tried_.reserve(static_cast<size_t>(config_.max_attempts));
    requested_ = find_in_table(call.model);
    target_ = requested_ != nullptr ? &worker_model_of(*requested_) : &call.model;
    answering_ = requested_ != nullptr ? &requested_->name : nullptr;
  }

  Task<void> run() {
    prepare_request();
    for (;;) {
      while (attempts_ < config_.max_attempts) {
        // Never another attempt for a client that left or at the drain deadline (the session
        // answers that one).
        if (interrupted(exchange_)) {
          co_return;
        }
        auto picked = state_.registry.pick(*target_, cluster::Clock::now(), tried_);
        Next next = Next::kTryAgain;
        if (const auto* error = std::get_if<cluster::PickError>(&picked)) {
          next = co_await unpicked(*error);
        } else {
          queue_.leave();
          next = co_await attempt(std::get<cluster::Lease>(std::move(picked)));
        }
        if (next == Next::kDone) {
          co_return;
        }
        if (next == Next::kGiveUp) {
          break;
        }
      }
      if (interrupted(exchange_)) {
        co_return;  // the session answers (or nobody listens)
      }
      if (!fall_back()) {
        break;
      }
    }
    co_await give_up();
  }

 private:
  enum class Next { kTryAgain, kGiveUp, kDone };

  // The worker gets the client's body (it puts its backend's model name in), the request id,
  // trace context and internal key, on chat streams kStreamUsageHeader (the controller counts
  // tokens too); a Messages request also the client's Anthropic version and beta features, which
  // the worker passes on to Anthropic.
  void prepare_request() {
    auto& headers = request_.headers;
    headers.reserve(10);
    headers.push_back({"content-type", "application/json"});
    headers.push_back({"accept", call_.stream ? "text/event-stream" : "application/json"});
    headers.push_back({"user-agent", providers::kUserAgent});
    headers.push_back({"x-request-id", exchange_.request_id});
    add_forwarding_headers(exchange_.request, headers, via_);
    if (!state_.worker_authorization.empty()) {
      headers.push_back({"authorization", state_.worker_authorization});
    }
    if (call_.path.starts_with("/v1/messages")) {
      add_anthropic_headers(exchange_.request, headers);
    }
    if (relays_checked_usage()) {
      headers.push_back({cluster::kCheckedUsageHeader, "1"});
    }
    if (call_.stream && call_.chat != nullptr) {
      headers.push_back({cluster::kStreamUsageHeader, "1"});
    }
    set_body();
  }

  // A plain chat or legacy completion the worker checked passes as the worker answered it, its
  // usage read from the worker's kCheckedUsageHeader: the body's check (the most costly step of
  // relaying it) is done once, by the worker. A table model's answer is renamed, so parsed anyway.
  bool relays_checked_usage() const {
    return !call_.stream && call_.chat != nullptr && answering_ == nullptr;
  }

  // The body for the workers of *target_: the client's, with the model renamed when an alias or a
  // fallback routes it to another model's workers (a worker serves its own model only).
  void set_body() {
    request_.body.clear();
    storage_.clear();
    const std::string_view body = exchange_.request.body;
    if (*target_ == call_.model) {
      request_.body.push_back(body);
    } else {
      storage_ = api::json_quote(*target_);
      request_.body = {body.substr(0, call_.model_begin), storage_, body.substr(call_.model_end)};
    }
  }

  const TableModelConfig* find_in_table(const std::string& name) const {
    for (const auto& model : *table_) {
      if (model.name == name) {
        return &model;
      }
    }
    return nullptr;
  }

  // No worker of the model could answer: its next fallback in the table, if the failure is one
  // the requested model falls back on (every worker at capacity or refusing with 429: a rate
  // limit; anything else: an error).
  bool fall_back() {
    if (requested_ == nullptr || next_fallback_ >= requested_->fallbacks.size() ||
        std::chrono::steady_clock::now() >= deadline_) {
      return false;
    }
    const bool rate_limited = last_.status == 429 || (last_.status == 0 && !last_.error);
    if ((requested_->fallbacks_on & (rate_limited ? kFallbackOnRateLimit : kFallbackOnError)) ==
        0) {
      return false;
    }
    const TableModelConfig* fallback = find_in_table(requested_->fallbacks[next_fallback_++]);
    if (fallback == nullptr) {
      return false;  // checked when the table was read
    }
    spdlog::warn("[{}] model {}: no worker could answer; falling back to {}", exchange_.request_id,
                 call_.model, fallback->name);
    state_.metrics.fallback(call_.model, fallback->name);
    target_ = &worker_model_of(*fallback);
    answering_ = &fallback->name;
    set_body();
    tried_.clear();
    attempts_ = 0;
    worker_full_backoff_ = kFirstWorkerFullBackoff;
    return true;
  }

  // No worker picked: every one full (wait in the queue), or none to serve the model.
  Task<Next> unpicked(cluster::PickError error) {
    if (error == cluster::PickError::kAllAtCapacity) {
      if (!queue_.waiting()) {
        // Counted as queued before picking once more: a slot freed from now on wakes us.
        co_return queue_.join(config_.queue_timeout, config_.queue_size, *target_) ? Next::kTryAgain
                                                                                   : Next::kGiveUp;
      }
      // Woken when capacity may have been freed (then picks again), or at the deadline (then
      // picks one last time), or when the session interrupts the request.
      co_return co_await wait_in_queue(queue_.deadline());
    }
    if (attempts_ > 0) {
      co_return Next::kGiveUp;  // every worker left has been tried
    }
    // Given up on this model: its fallback, if it has one, may serve (give_up() answers else). A
    // fallback without workers is unavailable, not unknown: the client asked for another model.
    if (error == cluster::PickError::kUnknownModel && next_fallback_ == 0) {
      last_ =
          LastFailure{core::Error(core::Errc::kModelNotFound,
                                  fmt::format("The model '{}' does not exist", *target_), "model")};
      co_return Next::kGiveUp;
    }
    core::Error down(core::Errc::kServiceUnavailable,
                     fmt::format("No healthy worker serves model '{}' right now", *target_));
    down.retry_after = seconds_text(config_.check_interval);
    last_ = LastFailure{std::move(down)};
    co_return Next::kGiveUp;
  }

  // Waits (in the queue) until `until`, or sooner when a slot frees, within the queue's time.
  Task<Next> wait_in_queue(std::chrono::steady_clock::time_point until) {
    if (queue_.expired()) {
      queue_.time_out();
      co_return Next::kGiveUp;
    }
    co_await queue_.wait(handler_.io_, *target_, until);
    if (interrupted(exchange_)) {
      queue_.abandon(*target_);
      co_return Next::kDone;
    }
    co_return Next::kTryAgain;
  }

  Task<Next> attempt(cluster::Lease lease) {
    if (attempts_++ > 0) {
      state_.metrics.failover(call_.model);
    }
    ++table_attempts_;
    tried_.push_back(lease.worker_id());
    log_.provider = lease.worker_id();
    log_.model_known = true;  // it has workers
    request_.path = lease.endpoint().base_path;
    request_.path += call_.path;
    const auto sent_at = std::chrono::steady_clock::now();
    auto sent =
        co_await handler_.client_.send(lease.endpoint(), request_, handler_.forward_options_);
    if (!sent) {
      co_return unanswered(lease, std::move(sent.error()), sent_at);
    }
    net::UpstreamResponse& upstream = **sent;
    if (upstream.status() < 200 || upstream.status() >= 300) {
      co_return co_await refused(lease, upstream, sent_at);
    }
    auto translator = worker_relay(call_);
    const bool stream =
        call_.stream && upstream.header("content-type").starts_with("text/event-stream");
    // A table model's answer is relayed under the model's name; any other straight (a coroutine
    // frame fewer per request).
    RelayEnd end = RelayEnd::kInterrupted;
    if (answering_ == nullptr) {
      std::optional<api::Usage> checked;
      if (!stream && relays_checked_usage()) {
        checked = cluster::parse_checked_usage(upstream.header(cluster::kCheckedUsageHeader));
      }
      end = co_await relay_success(exchange_, upstream, *translator, stream, lease.worker_id(),
                                   config_.limits, sent_at, true, checked);
    } else {
      end =
          co_await relay_as_table_model(upstream, *translator, stream, lease.worker_id(), sent_at);
    }
    if (end == RelayEnd::kFailedBeforeResponse) {
      // The worker died or broke off before the client got anything: another worker may answer.
      spdlog::warn("[{}] worker {} failed before its response began ({})", exchange_.request_id,
                   lease.worker_id(), log_.upstream_error);
      state_.metrics.upstream_error(lease.worker_id(), log_.upstream_error);
      log_.upstream_error = {};
      co_return failed(lease, core::Error(core::Errc::kUpstreamError,
                                          fmt::format("worker {} failed before its response began",
                                                      lease.worker_id())));
    }
    if (end == RelayEnd::kCompleted) {
      lease.succeeded();
    } else if (end == RelayEnd::kUpstreamFailed) {
      lease.failed(cluster::Clock::now());
    }
    co_return Next::kDone;
  }

  // The request got no answer from the worker (refused, reset, timed out): counted against the
  // worker unless the client left first.
  Next unanswered(cluster::Lease& lease, core::Error error,
                  std::chrono::steady_clock::time_point sent_at) {
    log_.upstream_time += std::chrono::steady_clock::now() - sent_at;
    if (interrupted(exchange_)) {
      return Next::kDone;  // says nothing about the worker
    }
    spdlog::warn("[{}] worker {} failed: {}", exchange_.request_id, lease.worker_id(),
                 error.message);
    state_.metrics.upstream_error(lease.worker_id(), upstream_error_kind(error));
    error.message = fmt::format("worker {} failed: {}", lease.worker_id(), error.message);
    return failed(lease, std::move(error));
  }

  // The worker failed without an answer: another one is tried while the first-byte time lasts.
  Next failed(cluster::Lease& lease, core::Error error) {
    lease.failed(cluster::Clock::now());
    last_ = LastFailure{std::move(error)};
    return std::chrono::steady_clock::now() >= deadline_ ? Next::kGiveUp : Next::kTryAgain;
  }

  // The worker answered with an error status.
  Task<Next> refused(cluster::Lease& lease, net::UpstreamResponse& upstream,
                     std::chrono::steady_clock::time_point sent_at) {
    const int status = upstream.status();
    auto body = co_await upstream.read_all(1u << 20);
    if (interrupted(exchange_)) {
      co_return Next::kDone;
    }
    log_.upstream_time += std::chrono::steady_clock::now() - sent_at;
    if (status == 429 && upstream.header(cluster::kWorkerFullHeader) == "1") {
      // The worker is still finishing a request we already count as done: not an attempt, not
      // a failure; wait for its slot like any full worker (within the queue's time).
      lease.succeeded();
      last_ = worker_answer(lease.worker_id(), upstream, std::move(body));
      tried_.pop_back();
      --attempts_;
      --table_attempts_;
      if (!queue_.join(config_.queue_timeout, config_.queue_size, *target_)) {
        co_return Next::kGiveUp;
      }
      const auto until = std::chrono::steady_clock::now() + worker_full_backoff_;
      worker_full_backoff_ = std::min(worker_full_backoff_ * 2, kMaxWorkerFullBackoff);
      co_return co_await wait_in_queue(std::min(queue_.deadline(), until));
    }
    state_.metrics.upstream_error(lease.worker_id(), "status");
    if (status < 500) {
      lease.succeeded();  // the worker works: it is full (429), or the request is at fault
    } else {
      lease.failed(cluster::Clock::now());
    }
    last_ = worker_answer(lease.worker_id(), upstream, std::move(body));
    if (!worth_another_worker(status)) {
      // The worker's verdict on the request itself (400, 404, ...): passed on as is.
      co_await answer(std::move(last_));
      co_return Next::kDone;
    }
    spdlog::warn("[{}] worker {} answered {}{}", exchange_.request_id, lease.worker_id(), status,
                 attempts_ < config_.max_attempts ? "; trying another worker" : "");
    co_return std::chrono::steady_clock::now() >= deadline_ ? Next::kGiveUp : Next::kTryAgain;
  }

  // No worker answered: the last one's answer, or a 429 when every worker stayed full.
  Task<void> give_up() {
    if (last_.status == 0 && !last_.error) {
      core::Error busy(
          core::Errc::kRateLimited,
          fmt::format("Every worker of model '{}' is at capacity; retry later", *target_));
      busy.retry_after = seconds_text(std::chrono::seconds(1));
      LastFailure failure{std::move(busy)};  // (no brace temporary in a co_await: GCC 12)
      co_return co_await answer(std::move(failure));
    }
    co_await answer(std::move(last_));
  }

  // A table model's answers carry x-gateway-model (the table model answering: a fallback's name
  // once one is tried), x-gateway-deployment (the worker) and x-gateway-attempts, as `server`'s.
  Task<RelayEnd> relay_as_table_model(net::UpstreamResponse& upstream,
                                      providers::ResponseTranslator& translator, bool stream,
                                      const std::string& worker_id,
                                      std::chrono::steady_clock::time_point sent_at) {
    AttemptWriter writer(exchange_.writer, *answering_, worker_id, table_attempts_, nullptr, false);
    // The relay reads neither the request nor its body: the client's stays where the outbound
    // request views it.
    Exchange routed{net::Request{},       std::move(exchange_.request_id), writer, exchange_.notes,
                    exchange_.started_at, exchange_.interruption};
    const RelayEnd end = co_await relay_success(routed, upstream, translator, stream, worker_id,
                                                config_.limits, sent_at, true);
    exchange_.request_id = std::move(routed.request_id);
    log_.attempts = table_attempts_;
    co_return end;
  }

  // The answer when no worker's reached the client: the last failure.
  Task<void> answer(LastFailure failure) {
    if (answering_ == nullptr) {
      co_return co_await send_last_failure(exchange_.writer, std::move(failure));
    }
    log_.attempts = table_attempts_;
    AttemptWriter writer(exchange_.writer, *answering_, {}, table_attempts_, nullptr, false);
    co_await send_last_failure(writer, std::move(failure));
  }

  ControllerHandler& handler_;
  ControllerState& state_;
  const ControllerConfig& config_;
  Exchange& exchange_;
  proxy::RequestLog& log_;
  const ForwardedCall& call_;
  const std::chrono::steady_clock::time_point deadline_;  // for another attempt
  QueuePlace queue_;
  std::vector<std::string> tried_;
  LastFailure last_;
  int attempts_ = 0;
  std::chrono::milliseconds worker_full_backoff_ = kFirstWorkerFullBackoff;
  net::OutboundRequest request_;
  std::string via_;      // the request's Via header (viewed by it)
  std::string storage_;  // what the request's body views besides the client's body
  std::shared_ptr<const std::vector<TableModelConfig>> table_;  // kept until the request ends
  const TableModelConfig* requested_ = nullptr;                 // the model's entry, if any
  const std::string* target_ = nullptr;     // the workers' model tried now (alias or fallback)
  const std::string* answering_ = nullptr;  // the table model tried now (none: not a table's)
  int table_attempts_ = 0;                  // across the requested model and its fallbacks
  size_t next_fallback_ = 0;
};

Task<void> ControllerHandler::model_request(Exchange& exchange, proxy::ModelApi api,
                                            std::string_view path) {
  const auto& request = exchange.request;
  if (request.method != "POST") {
    co_return co_await net::respond_method_not_allowed(exchange.writer, request, "POST");
  }
  if (auto loop = loop_error(request)) {
    co_return co_await net::respond_error(exchange.writer, *loop);
  }
  auto inspected = proxy::inspect_model_request(api, request.body);
  if (!inspected) {
    co_return co_await net::respond_error(exchange.writer, inspected.error());
  }
  proxy::log_of(exchange).model = inspected->model();
  // Chat and legacy completion streams go with usage asked for (kStreamUsageHeader); Responses,
  // Messages and embeddings as they are.
  const bool asks_usage = api == proxy::ModelApi::kChat || api == proxy::ModelApi::kCompletions;
  const auto [model_begin, model_end] = inspected->model_token();
  const ForwardedCall call{inspected->model(),  path,
                           inspected->stream(), asks_usage ? inspected->chat() : nullptr,
                           model_begin,         model_end};
  // Forwarded from this frame (not one of its own): a coroutine frame fewer per request.
  ModelForwarding forwarding(*this, exchange, call);
  co_await forwarding.run();
}

}  // namespace gw::app
