#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gw/metrics/activity.hpp"

namespace prometheus {
class Collectable;
class Counter;
class Registry;
}  // namespace prometheus

namespace gw::metrics {

// Histogram boundaries, in seconds. LLM calls take from milliseconds (a cached or tiny answer) to
// minutes (long generations), so request durations, times to first token and queue waits share
// one wide range; the gap between output tokens and the gateway's own overhead are finer.
const std::vector<double>& latency_buckets();    // 5 ms .. 600 s
const std::vector<double>& token_gap_buckets();  // 1 ms .. 5 s
const std::vector<double>& overhead_buckets();   // 10 µs .. 1 s

// One finished request, as the metrics see it. Label values are bounded by the caller: a route
// name, a configured model/provider/worker or empty, a status code.
struct RequestSample {
  std::string_view endpoint;  // an endpoint_label() value (static storage)
  std::string_view model;     // empty when the request never reached a provider
  std::string_view provider;  // provider name, or worker id on the controller
  int status = 0;
  double duration = 0;                   // seconds
  std::optional<double> ttft;            // streams: to the first event relayed
  std::optional<double> time_per_token;  // streams: (end - first token) / (tokens - 1)
  std::optional<double> overhead;        // time outside upstream calls
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string_view stream_outcome;  // streams only: completed, upstream_error, truncated, ...
  std::string_view request_id;      // for the dashboard's list of recent requests
};

// One labelled counter series, looked up once (when a model table is built) and incremented
// without building labels or taking a lock. Default-constructed: counts nothing.
class SeriesCounter {
 public:
  SeriesCounter() = default;
  void increment() const;

 private:
  friend class Metrics;
  explicit SeriesCounter(prometheus::Counter* counter) : counter_(counter) {}
  prometheus::Counter* counter_ = nullptr;
};

// The process's metric families (all prefixed llm_gateway_). Thread-safe; record() caches the
// labelled series per thread, so the hot path neither takes a lock shared by the threads nor
// builds label maps.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // `endpoint` (here and in RequestSample) is a value of endpoint_label().
  void request_started(std::string_view endpoint);
  void record(const RequestSample& sample);  // also ends the in-flight count
  // kind: connect, timeout, status, reset, protocol.
  void upstream_error(std::string_view provider, std::string_view kind);

  // A background task failed (and is restarted); `task` is one of a fixed set of names.
  void background_failure(std::string_view task);

  // Another attempt of a request (another worker, another deployment).
  void failover(std::string_view model);
  // Model table (labels bounded by the table), resolved when it is built. result: ok,
  // rate_limited, failed, refused.
  SeriesCounter deployment_attempts(std::string_view model, std::string_view deployment,
                                    std::string_view result);
  SeriesCounter cooldowns(std::string_view model, std::string_view deployment);
  void fallback(std::string_view model, std::string_view fallback);

  // Controller.
  void queue_wait(std::string_view model, double seconds);
  void queue_rejected(std::string_view model);

  // Families computed at scrape time (the controller's worker gauges).
  void add_collectable(const std::shared_ptr<prometheus::Collectable>& collectable);

  // The text exposition format 0.0.4.
  std::string serialize() const;

  // The dashboard's view: per-model history and totals, recent model API requests.
  const Activity& activity() const;
  // Model API requests (/v1/*) being served.
  int64_t model_requests_in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The route label for a request path: one of a fixed set, so that no client can add series.
std::string_view endpoint_label(std::string_view path);

}  // namespace gw::metrics
