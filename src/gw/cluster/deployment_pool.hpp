#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gw/cluster/circuit_breaker.hpp"

namespace gw::cluster {

struct DeploymentPoolOptions {
  int breaker_failures = 5;
  Clock::duration breaker_cooldown = std::chrono::seconds(30);
};

// What /ui and the metrics show of a deployment.
struct DeploymentView {
  int64_t in_flight = 0;
  CircuitBreaker::State circuit = CircuitBreaker::State::kClosed;
  Clock::duration cooling_for{};  // zero when not cooling down
};

class DeploymentPool;

// A request sent to one deployment: counted in flight from the pick until the lease ends; its
// outcome goes to the deployment's breaker. Keeps its pool alive (a reloaded table replaces the
// pool; requests in flight finish on the old one).
class DeploymentLease {
 public:
  DeploymentLease(std::shared_ptr<DeploymentPool> pool, size_t index, bool trial)
      : pool_(std::move(pool)), index_(index), trial_(trial) {}
  DeploymentLease(DeploymentLease&& other) noexcept = default;
  DeploymentLease& operator=(DeploymentLease&&) = delete;
  DeploymentLease(const DeploymentLease&) = delete;
  ~DeploymentLease();

  size_t index() const { return index_; }
  // The deployment is unwell: a connect error, a reset, a 5xx, a timeout.
  void failed(Clock::time_point now);
  // The deployment answered (a 4xx verdict on the request and a 429 included: it works).
  void succeeded();

 private:
  void release(std::optional<bool> success, Clock::time_point now = {});
  std::shared_ptr<DeploymentPool> pool_;
  size_t index_;
  bool trial_;
};

// The deployments of one model of the table and what routing knows of each: requests in flight,
// the circuit breaker, the rate-limit cooldown. Thread-safe (a short lock per operation); time is
// passed in.
class DeploymentPool : public std::enable_shared_from_this<DeploymentPool> {
 public:
  DeploymentPool(const std::vector<int64_t>& weights, DeploymentPoolOptions options,
                 uint64_t seed = std::random_device{}());

  size_t size() const { return deployments_.size(); }

  // Least loaded per weight (pick_least_loaded) among the deployments not in `tried` (a bit per
  // index), not cooling down, whose circuit admits a request. None when no deployment can.
  std::optional<DeploymentLease> pick(Clock::time_point now, uint64_t tried);

  // A 429 (or a 503 with Retry-After): no request goes there until `until`. A cooldown is only
  // ever extended, never shortened, by a later one.
  void cool_down(size_t index, Clock::time_point until);
  // The earliest time one of the untried deployments whose circuit is not open stops cooling
  // down, if they all are cooling down (for the Retry-After of a refusal).
  std::optional<Clock::time_point> cooldown_end(Clock::time_point now, uint64_t tried) const;

  std::vector<DeploymentView> view(Clock::time_point now) const;

 private:
  friend class DeploymentLease;
  struct Deployment {
    int64_t weight = 1;
    int64_t in_flight = 0;
    CircuitBreaker breaker;
    Clock::time_point cooling_until{};
  };
  void finish(size_t index, bool trial, std::optional<bool> success, Clock::time_point now);

  mutable std::mutex mutex_;
  std::vector<Deployment> deployments_;
  std::mt19937_64 random_;
};

}  // namespace gw::cluster
