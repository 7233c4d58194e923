// Forwarding a chat request to a worker: least-loaded pick, a bounded wait when every worker is
// full, and failover to another worker while nothing has been sent to the client yet.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "gw/app/controller_handler.hpp"
#include "gw/cluster/worker_messages.hpp"
#include "gw/core/scoped_count.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "gw/providers/provider.hpp"
#include "gw/proxy/forwarding.hpp"
#include "gw/proxy/observe.hpp"
#include "gw/proxy/relay.hpp"

namespace gw::app {

using proxy::add_forwarding_headers;
using proxy::interrupted;
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

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A request's place in the controller's wait queue, for all the times it waits: counted in the
// queued gauge while it waits, each wait observed in the histogram, one deadline from the first.
class QueuePlace {
 public:
  using Clock = std::chrono::steady_clock;

  QueuePlace(std::atomic<size_t>& queued, metrics::Metrics& metrics, std::string_view model)
      : queued_(queued), metrics_(metrics), model_(model) {}

  bool waiting() const { return slot_.has_value(); }
  Clock::time_point deadline() const { return *deadline_; }
  bool expired() const { return deadline_ && Clock::now() >= *deadline_; }

  // Counted as waiting from now. The first time only, false when the queue is full (and the
  // refusal counted).
  bool join(std::chrono::milliseconds timeout, size_t max_size) {
    if (!deadline_) {
      if (queued_.load(std::memory_order_relaxed) >= max_size) {
        metrics_.queue_rejected(model_);
        return false;
      }
      deadline_ = Clock::now() + timeout;
    }
    slot_.emplace(queued_);
    since_ = Clock::now();
    return true;
  }

  // The wait is over: a worker was picked, or the client left.
  void leave() {
    if (slot_) {
      metrics_.queue_wait(model_, seconds_since(since_));
      slot_.reset();
    }
  }

  // Gives up at the deadline: a 429 follows.
  void time_out() {
    leave();
    metrics_.queue_rejected(model_);
  }

 private:
  std::atomic<size_t>& queued_;
  metrics::Metrics& metrics_;
  std::string_view model_;
  std::optional<core::ScopedCount<size_t>> slot_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point since_;
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

Task<void> send_last_failure(Exchange& exchange, LastFailure failure) {
  if (failure.status != 0) {
    net::Response response{failure.status, "application/json", {}, std::move(failure.body)};
    if (!failure.retry_after.empty()) {
      response.headers.push_back({"retry-after", std::move(failure.retry_after)});
    }
    co_return co_await net::respond(exchange.writer, std::move(response));
  }
  co_await net::respond_error(exchange.writer, *failure.error);
}

}  // namespace

Task<void> ControllerHandler::wait_for_capacity(std::chrono::steady_clock::time_point deadline) {
  net::SteadyTimer timer(io_, deadline);
  // Registered for wake-ups only while the timer exists, however the wait ends (its frame may
  // also be destroyed suspended, at teardown: before the handler, see HttpServer::run).
  struct Registration {
    std::list<net::SteadyTimer*>& list;
    std::list<net::SteadyTimer*>::iterator it;
    ~Registration() { list.erase(it); }
  } registration{waiters_, waiters_.insert(waiters_.end(), &timer)};
  co_await timer.async_wait(net::kUseTask);
}

Task<void> ControllerHandler::forward_chat(Exchange& exchange, const api::ChatRequestInfo& info) {
  const auto& config = state_->config;
  auto& registry = state_->registry;
  auto& metrics = state_->metrics;
  const auto deadline = exchange.started_at + config.timeouts.first_byte;
  QueuePlace queue(state_->queued, metrics, info.model);
  std::vector<std::string> tried;
  tried.reserve(static_cast<size_t>(config.max_attempts));
  LastFailure last;

  // The worker gets the client's body (it puts its backend's model name in; usage is asked for
  // so that the controller counts tokens too) and the request id, trace context and internal key.
  net::OutboundRequest request;
  request.headers.reserve(8);
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back({"accept", info.stream ? "text/event-stream" : "application/json"});
  request.headers.push_back({"user-agent", providers::kUserAgent});
  request.headers.push_back({"x-request-id", exchange.request_id});
  std::string via;
  add_forwarding_headers(exchange.request, request.headers, via);
  if (!state_->worker_authorization.empty()) {
    request.headers.push_back({"authorization", state_->worker_authorization});
  }
  std::string storage;
  api::upstream_chat_body(exchange.request.body, info, info.model, true, storage, request.body);

  int attempts = 0;
  auto worker_full_backoff = kFirstWorkerFullBackoff;
  while (attempts < config.max_attempts) {
    // Never another attempt for a client that left or at the drain deadline (the session
    // answers that one).
    if (interrupted(exchange)) {
      co_return;
    }
    auto picked = registry.pick(info.model, cluster::Clock::now(), tried);
    const auto* error = std::get_if<cluster::PickError>(&picked);
    if (error != nullptr && *error == cluster::PickError::kAllAtCapacity) {
      if (!queue.waiting()) {
        // Counted as queued before picking once more: a slot freed from now on wakes us.
        if (!queue.join(config.queue_timeout, config.queue_size)) {
          break;  // the queue is full too
        }
        continue;
      }
      if (queue.expired()) {
        queue.time_out();
        break;
      }
      // Woken when capacity may have been freed (then picks again), or at the deadline (then
      // picks one last time), or when the session interrupts the request.
      co_await wait_for_capacity(queue.deadline());
      if (interrupted(exchange)) {
        queue.leave();
        co_return;
      }
      continue;
    }
    if (error != nullptr) {
      if (attempts > 0) {
        break;  // every worker left has been tried
      }
      if (*error == cluster::PickError::kUnknownModel) {
        co_return co_await net::respond_error(
            exchange.writer, {core::Errc::kModelNotFound,
                              fmt::format("The model '{}' does not exist", info.model), "model"});
      }
      core::Error down(core::Errc::kServiceUnavailable,
                       fmt::format("No healthy worker serves model '{}' right now", info.model));
      down.retry_after = seconds_text(config.check_interval);
      co_return co_await net::respond_error(exchange.writer, down);
    }
    queue.leave();

    cluster::Lease lease = std::get<cluster::Lease>(std::move(picked));
    if (attempts++ > 0) {
      metrics.failover(info.model);
    }
    tried.push_back(lease.worker_id());
    exchange.log.provider = lease.worker_id();
    exchange.log.model_known = true;  // it has workers
    request.path = lease.endpoint().base_path + "/v1/chat/completions";
    const auto sent_at = std::chrono::steady_clock::now();
    auto sent = co_await client_.send(lease.endpoint(), request);
    if (!sent) {
      exchange.log.upstream_time += std::chrono::steady_clock::now() - sent_at;
      if (interrupted(exchange)) {
        co_return;  // says nothing about the worker
      }
      spdlog::warn("[{}] worker {} failed: {}", exchange.request_id, lease.worker_id(),
                   sent.error().message);
      metrics.upstream_error(lease.worker_id(), upstream_error_kind(sent.error()));
      lease.failed(cluster::Clock::now());
      last = LastFailure{sent.error()};
      last.error->message =
          fmt::format("worker {} failed: {}", lease.worker_id(), sent.error().message);
      if (std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      continue;
    }
    net::UpstreamResponse& upstream = **sent;
    const int status = upstream.status();
    if (status < 200 || status >= 300) {
      auto body = co_await upstream.read_all(1u << 20);
      if (interrupted(exchange)) {
        co_return;
      }
      exchange.log.upstream_time += std::chrono::steady_clock::now() - sent_at;
      if (status == 429 && upstream.header(cluster::kWorkerFullHeader) == "1") {
        // The worker is still finishing a request we already count as done: not an attempt, not
        // a failure; wait for its slot like any full worker (within the queue's time).
        lease.succeeded();
        last = worker_answer(lease.worker_id(), upstream, std::move(body));
        tried.pop_back();
        --attempts;
        if (!queue.join(config.queue_timeout, config.queue_size)) {
          break;
        }
        if (queue.expired()) {
          queue.time_out();
          break;
        }
        co_await wait_for_capacity(
            std::min(queue.deadline(), std::chrono::steady_clock::now() + worker_full_backoff));
        worker_full_backoff = std::min(worker_full_backoff * 2, kMaxWorkerFullBackoff);
        if (interrupted(exchange)) {
          queue.leave();
          co_return;
        }
        continue;
      }
      metrics.upstream_error(lease.worker_id(), "status");
      if (status < 500) {
        lease.succeeded();  // the worker works: it is full (429), or the request is at fault
      } else {
        lease.failed(cluster::Clock::now());
      }
      last = worker_answer(lease.worker_id(), upstream, std::move(body));
      if (!worth_another_worker(status)) {
        // The worker's verdict on the request itself (400, 404, ...): passed on as is.
        co_return co_await send_last_failure(exchange, std::move(last));
      }
      spdlog::warn("[{}] worker {} answered {}{}", exchange.request_id, lease.worker_id(), status,
                   attempts < config.max_attempts ? "; trying another worker" : "");
      if (std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      continue;
    }
    auto relay = providers::make_pass_through(api::adds_usage_request(info, true));
    const bool stream =
        info.stream && upstream.header("content-type").starts_with("text/event-stream");
    const auto end = co_await relay_success(exchange, upstream, *relay, stream, lease.worker_id(),
                                            config.limits, sent_at, true);
    if (end == RelayEnd::kFailedBeforeResponse) {
      // The worker died or broke off before the client got anything: another worker may answer.
      spdlog::warn("[{}] worker {} failed before its response began ({})", exchange.request_id,
                   lease.worker_id(), exchange.log.upstream_error);
      metrics.upstream_error(lease.worker_id(), exchange.log.upstream_error);
      exchange.log.upstream_error = {};
      lease.failed(cluster::Clock::now());
      last = LastFailure{core::Error(
          core::Errc::kUpstreamError,
          fmt::format("worker {} failed before its response began", lease.worker_id()))};
      if (std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      continue;
    }
    if (end == RelayEnd::kCompleted) {
      lease.succeeded();
    } else if (end == RelayEnd::kUpstreamFailed) {
      lease.failed(cluster::Clock::now());
    }
    co_return;
  }
  if (last.status == 0 && !last.error) {
    core::Error busy(
        core::Errc::kRateLimited,
        fmt::format("Every worker of model '{}' is at capacity; retry later", info.model));
    busy.retry_after = seconds_text(std::chrono::seconds(1));
    co_return co_await net::respond_error(exchange.writer, busy);
  }
  co_await send_last_failure(exchange, std::move(last));
}

}  // namespace gw::app
