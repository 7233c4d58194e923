#include "gw/metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <mutex>
#include <span>
#include <unordered_map>

#include "gw/metrics/sharded_histogram.hpp"

namespace gw::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;

std::string label(std::string_view value) {
  return std::string(value);
}

// One thread's handles on every labelled series one kind of request touches, looked up once.
// The counters and the gauge are atomics the threads share; the histograms and the model's
// activity are the thread's own shards.
struct Series {
  Counter* requests = nullptr;
  HistogramShard* duration = nullptr;
  HistogramShard* ttft = nullptr;
  HistogramShard* time_per_token = nullptr;
  HistogramShard* overhead = nullptr;
  Counter* prompt_tokens = nullptr;
  Counter* completion_tokens = nullptr;
  Counter* stream_outcome = nullptr;  // null for non-streaming requests
  Gauge* in_flight = nullptr;
  ModelRecorder* activity = nullptr;  // null without a model
  bool model_api = false;             // a /v1/* request: listed among the recent ones
};

// One thread's handles on a model's wait-queue series (the controller's), looked up once.
struct QueueSeries {
  HistogramShard* wait = nullptr;
  Counter* rejections = nullptr;
  ModelRecorder* activity = nullptr;
};

// Every value endpoint_label() returns: the exact routes, the two parametrised ones, "other".
constexpr size_t kExactEndpoints = 13;
constexpr std::array<std::string_view, kExactEndpoints + 3> kEndpointLabelArray{
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/health",
    "/metrics",
    "/internal/workers/register",
    "/internal/workers/heartbeat",
    "/internal/workers",
    "/ui",
    "/v1/models/{id}",
    "/internal/workers/{id}",
    "other"};
constexpr std::span<const std::string_view> kEndpointLabels{kEndpointLabelArray};

}  // namespace

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                           5,     10,   20,    30,   60,  120,  300, 600};
  return buckets;
}

const std::vector<double>& token_gap_buckets() {
  static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075,
                                           0.1,   0.15,   0.25,  0.5,  1,    2.5,   5};
  return buckets;
}

const std::vector<double>& overhead_buckets() {
  static const std::vector<double> buckets{0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                           0.0005,  0.001,    0.0025,  0.005,  0.01,
                                           0.05,    0.1,      1};
  return buckets;
}

std::string_view endpoint_label(std::string_view path) {
  for (std::string_view known : kEndpointLabels.first(kExactEndpoints)) {
    if (path == known) {
      return known;
    }
  }
  if (path.starts_with("/v1/models/")) {
    return "/v1/models/{id}";
  }
  if (path.starts_with("/internal/workers/")) {
    return "/internal/workers/{id}";
  }
  if (path.starts_with("/ui/")) {
    return "/ui";  // the dashboard's page and API
  }
  return "other";
}

namespace {

// Tells one Metrics from another (a new one may reuse a destroyed one's address): a thread's
// cache of series belongs to one of them.
std::atomic<uint64_t> next_metrics_id{1};

}  // namespace

struct Metrics::Impl {
  const uint64_t id = next_metrics_id.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& requests = prometheus::BuildCounter()
                                  .Name("llm_gateway_requests_total")
                                  .Help(
                                      "Requests answered, by model, provider (or worker), "
                                      "endpoint and HTTP status code")
                                  .Register(*registry);
  ShardedHistogramFamily duration{"llm_gateway_request_duration_seconds",
                                  "Time from request received to response finished",
                                  latency_buckets()};
  ShardedHistogramFamily ttft{"llm_gateway_time_to_first_token_seconds",
                              "Streams: time from request received to the first event "
                              "relayed to the client",
                              latency_buckets()};
  ShardedHistogramFamily time_per_token{"llm_gateway_time_per_output_token_seconds",
                                        "Streams: mean time between output tokens after the first",
                                        token_gap_buckets()};
  ShardedHistogramFamily overhead{
      "llm_gateway_overhead_seconds",
      "Time a request spent in the gateway itself, outside upstream calls", overhead_buckets()};
  Family<Gauge>& in_flight = prometheus::BuildGauge()
                                 .Name("llm_gateway_requests_in_flight")
                                 .Help("Requests being served, by endpoint")
                                 .Register(*registry);
  Family<Counter>& prompt_tokens = prometheus::BuildCounter()
                                       .Name("llm_gateway_prompt_tokens_total")
                                       .Help("Prompt tokens reported by upstreams")
                                       .Register(*registry);
  Family<Counter>& completion_tokens = prometheus::BuildCounter()
                                           .Name("llm_gateway_completion_tokens_total")
                                           .Help("Completion tokens reported by upstreams")
                                           .Register(*registry);
  Family<Counter>& upstream_errors =
      prometheus::BuildCounter()
          .Name("llm_gateway_upstream_errors_total")
          .Help("Failed upstream calls by kind: connect, timeout, status, reset, protocol")
          .Register(*registry);
  Family<Counter>& stream_outcomes =
      prometheus::BuildCounter()
          .Name("llm_gateway_stream_outcomes_total")
          .Help(
              "How streams ended: completed, upstream_error, truncated, client_cancelled, "
              "timeout")
          .Register(*registry);
  Family<Counter>& failovers = prometheus::BuildCounter()
                                   .Name("llm_gateway_failovers_total")
                                   .Help("Requests retried on another worker or deployment")
                                   .Register(*registry);
  Family<Counter>& deployment_attempts =
      prometheus::BuildCounter()
          .Name("llm_gateway_deployment_attempts_total")
          .Help(
              "Model table: attempts per deployment by result (ok, rate_limited, failed, "
              "refused)")
          .Register(*registry);
  Family<Counter>& fallbacks = prometheus::BuildCounter()
                                   .Name("llm_gateway_fallbacks_total")
                                   .Help("Model table: requests passed to a fallback model")
                                   .Register(*registry);
  Family<Counter>& cooldowns =
      prometheus::BuildCounter()
          .Name("llm_gateway_deployment_cooldowns_total")
          .Help("Model table: deployments cooled down after a rate limit (429)")
          .Register(*registry);
  Family<Counter>& background_failures =
      prometheus::BuildCounter()
          .Name("llm_gateway_background_task_failures_total")
          .Help(
              "Background tasks (model refresh, health checks, heartbeats, accepting) that "
              "failed and were restarted")
          .Register(*registry);
  ShardedHistogramFamily queue_wait{"llm_gateway_queue_wait_seconds",
                                    "Controller: time requests waited for a worker below capacity",
                                    latency_buckets()};
  Family<Counter>& queue_rejections =
      prometheus::BuildCounter()
          .Name("llm_gateway_queue_rejections_total")
          .Help("Controller: requests answered 429 because every worker stayed at capacity")
          .Register(*registry);

  std::mutex mutex;  // guards collectables (the families and the activity lock themselves)
  // One gauge per endpoint_label() value, made up front: read without a lock.
  std::unordered_map<std::string_view, Gauge*> in_flight_by_endpoint = make_in_flight_gauges();
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  Activity activity;

  std::unordered_map<std::string_view, Gauge*> make_in_flight_gauges() {
    std::unordered_map<std::string_view, Gauge*> gauges;
    for (std::string_view endpoint : kEndpointLabels) {
      gauges.emplace(endpoint, &in_flight.Add({{"endpoint", label(endpoint)}}));
    }
    return gauges;
  }

  Gauge& in_flight_for(std::string_view endpoint) const {
    auto it = in_flight_by_endpoint.find(endpoint);
    return *(it != in_flight_by_endpoint.end() ? it : in_flight_by_endpoint.find("other"))->second;
  }

  // The calling thread's handles on the series of a label set it has not used before. Each
  // family takes its own lock here, once per thread and label set.
  Series new_series(const RequestSample& s) {
    const prometheus::Labels model_provider{{"model", label(s.model)},
                                            {"provider", label(s.provider)}};
    prometheus::Labels with_endpoint = model_provider;
    with_endpoint.emplace("endpoint", label(s.endpoint));
    prometheus::Labels with_status = with_endpoint;
    with_status.emplace("status", std::to_string(s.status));
    Series made;
    made.requests = &requests.Add(with_status);
    made.duration = &duration.new_shard(with_endpoint);
    made.overhead = &overhead.new_shard({{"endpoint", label(s.endpoint)}});
    if (!s.provider.empty()) {  // series only where they can have values
      made.prompt_tokens = &prompt_tokens.Add(model_provider);
      made.completion_tokens = &completion_tokens.Add(model_provider);
    }
    if (!s.stream_outcome.empty()) {
      made.ttft = &ttft.new_shard(model_provider);
      made.time_per_token = &time_per_token.new_shard(model_provider);
      prometheus::Labels with_outcome = model_provider;
      with_outcome.emplace("outcome", label(s.stream_outcome));
      made.stream_outcome = &stream_outcomes.Add(with_outcome);
    }
    made.in_flight = &in_flight_for(s.endpoint);
    if (!s.model.empty()) {
      made.activity = &activity.recorder(s.model);
    }
    made.model_api = s.endpoint.starts_with("/v1/");
    return made;
  }

  // Each thread keeps its handles on the series it has used, so recording takes no lock another
  // request's thread takes: the counters and gauges are atomic, the histograms the thread's own
  // shards, and the activity the thread's own recorder (whose lock only the dashboard's reads
  // share, and the model's at most once per slot: activity.cpp).
  template <typename Value>
  struct ThreadCache {
    uint64_t owner = 0;
    std::unordered_map<std::string, Value> series;
    std::string key;  // built here between calls: no allocation per request
  };

  // The calling thread's cache of this Metrics' series, emptied when another Metrics used it.
  template <typename Value>
  ThreadCache<Value>& thread_cache() const {
    thread_local ThreadCache<Value> cache;
    if (cache.owner != id) {
      cache.owner = id;
      cache.series.clear();
    }
    return cache;
  }

  // The series under cache.key, made by `make()` on the thread's first use.
  template <typename Value, typename Make>
  static Value& cached(ThreadCache<Value>& cache, Make make) {
    if (auto it = cache.series.find(cache.key); it != cache.series.end()) {
      return it->second;
    }
    return cache.series.emplace(cache.key, make()).first->second;
  }

  Series& thread_series_for(const RequestSample& s) {
    auto& cache = thread_cache<Series>();
    std::string& key = cache.key;
    key.clear();
    key.append(s.endpoint).append(1, '\0').append(s.model).append(1, '\0').append(s.provider);
    key.append(1, '\0').append(std::to_string(s.status)).append(1, '\0').append(s.stream_outcome);
    return cached(cache, [&] { return new_series(s); });
  }

  QueueSeries& thread_queue_series_for(std::string_view model) {
    auto& cache = thread_cache<QueueSeries>();
    cache.key.assign(model);
    return cached(cache, [&] {
      const prometheus::Labels labels{{"model", label(model)}};
      return QueueSeries{&queue_wait.new_shard(labels), &queue_rejections.Add(labels),
                         &activity.recorder(model)};
    });
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::request_started(std::string_view endpoint) {
  impl_->in_flight_for(endpoint).Increment();
}

void Metrics::record(const RequestSample& sample) {
  Series* series = &impl_->thread_series_for(sample);
  series->requests->Increment();
  series->duration->observe(sample.duration);
  if (sample.ttft && series->ttft != nullptr) {
    series->ttft->observe(*sample.ttft);
  }
  if (sample.time_per_token && series->time_per_token != nullptr) {
    series->time_per_token->observe(*sample.time_per_token);
  }
  if (sample.overhead) {
    series->overhead->observe(*sample.overhead);
  }
  if (sample.prompt_tokens > 0 && series->prompt_tokens != nullptr) {
    series->prompt_tokens->Increment(static_cast<double>(sample.prompt_tokens));
  }
  if (sample.completion_tokens > 0 && series->completion_tokens != nullptr) {
    series->completion_tokens->Increment(static_cast<double>(sample.completion_tokens));
  }
  if (series->stream_outcome != nullptr) {
    series->stream_outcome->Increment();
  }
  if (series->activity != nullptr || series->model_api) {
    const auto now = Activity::WallClock::now();
    if (series->activity != nullptr) {
      Activity::record(*series->activity, sample, series->prompt_tokens != nullptr, now);
    }
    if (series->model_api) {
      impl_->activity.remember(sample, now);
    }
  }
  // Last: a scrape made after one that saw no request in flight sees every finished request's
  // series counted.
  series->in_flight->Decrement();
}

void Metrics::upstream_error(std::string_view provider, std::string_view kind) {
  impl_->upstream_errors.Add({{"provider", label(provider)}, {"kind", label(kind)}}).Increment();
}

void Metrics::background_failure(std::string_view task) {
  impl_->background_failures.Add({{"task", label(task)}}).Increment();
}

void Metrics::failover(std::string_view model) {
  impl_->failovers.Add({{"model", label(model)}}).Increment();
}

void SeriesCounter::increment() const {
  if (counter_ != nullptr) {
    counter_->Increment();
  }
}

SeriesCounter Metrics::deployment_attempts(std::string_view model, std::string_view deployment,
                                           std::string_view result) {
  return SeriesCounter(&impl_->deployment_attempts.Add(
      {{"model", label(model)}, {"deployment", label(deployment)}, {"result", label(result)}}));
}

void Metrics::fallback(std::string_view model, std::string_view fallback) {
  impl_->fallbacks.Add({{"model", label(model)}, {"fallback", label(fallback)}}).Increment();
}

SeriesCounter Metrics::cooldowns(std::string_view model, std::string_view deployment) {
  return SeriesCounter(
      &impl_->cooldowns.Add({{"model", label(model)}, {"deployment", label(deployment)}}));
}

void Metrics::queue_wait(std::string_view model, double seconds) {
  QueueSeries& series = impl_->thread_queue_series_for(model);
  series.wait->observe(seconds);
  Activity::queue_wait(*series.activity, seconds, Activity::WallClock::now());
}

void Metrics::queue_rejected(std::string_view model) {
  QueueSeries& series = impl_->thread_queue_series_for(model);
  series.rejections->Increment();
  Activity::queue_rejected(*series.activity, Activity::WallClock::now());
}

const Activity& Metrics::activity() const {
  return impl_->activity;
}

int64_t Metrics::model_requests_in_flight() const {
  double total = 0;
  for (const auto& [endpoint, gauge] : impl_->in_flight_by_endpoint) {
    if (endpoint.starts_with("/v1/")) {
      total += gauge->Value();
    }
  }
  return static_cast<int64_t>(total);
}

void Metrics::add_collectable(const std::shared_ptr<prometheus::Collectable>& collectable) {
  std::lock_guard lock(impl_->mutex);
  impl_->collectables.push_back(collectable);
}

std::string Metrics::serialize() const {
  auto families = impl_->registry->Collect();
  for (const ShardedHistogramFamily* histograms :
       {&impl_->duration, &impl_->ttft, &impl_->time_per_token, &impl_->overhead,
        &impl_->queue_wait}) {
    auto collected = histograms->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> extra;
  {
    std::lock_guard lock(impl_->mutex);
    extra = impl_->collectables;
  }
  for (const auto& collectable : extra) {
    auto more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace gw::metrics
