#include "gw/cluster/deployment_pool.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>

#include "gw/cluster/least_loaded.hpp"

namespace gw::cluster {

DeploymentLease::~DeploymentLease() {
  release(std::nullopt);
}

void DeploymentLease::failed(Clock::time_point now) {
  release(false, now);
}

void DeploymentLease::succeeded() {
  release(true);
}

void DeploymentLease::release(std::optional<bool> success, Clock::time_point now) {
  if (pool_) {
    pool_->finish(index_, trial_, success, now);
    pool_.reset();
  }
}

DeploymentPool::DeploymentPool(const std::vector<int64_t>& weights, DeploymentPoolOptions options,
                               uint64_t seed)
    : random_(seed) {
  deployments_.reserve(weights.size());
  for (const int64_t weight : weights) {
    deployments_.push_back(
        Deployment{std::max<int64_t>(1, weight),
                   0,
                   CircuitBreaker(options.breaker_failures, options.breaker_cooldown),
                   {}});
  }
}

std::optional<DeploymentLease> DeploymentPool::pick(Clock::time_point now, uint64_t tried) {
  std::lock_guard lock(mutex_);
  boost::container::small_vector<Candidate, 8> candidates;
  for (size_t i = 0; i < deployments_.size(); ++i) {
    auto& deployment = deployments_[i];
    if ((i < 64 && (tried >> i & 1U) != 0) || now < deployment.cooling_until ||
        deployment.breaker.state(now) == CircuitBreaker::State::kOpen) {
      continue;
    }
    candidates.push_back({deployment.in_flight, deployment.weight, &deployment.breaker, i});
  }
  auto picked = pick_least_loaded(candidates, now, random_);
  if (!picked) {
    return std::nullopt;
  }
  ++deployments_[picked->index].in_flight;
  return DeploymentLease(shared_from_this(), picked->index,
                         picked->admission == CircuitBreaker::Admission::kTrial);
}

void DeploymentPool::cool_down(size_t index, Clock::time_point until) {
  std::lock_guard lock(mutex_);
  auto& cooling_until = deployments_.at(index).cooling_until;
  cooling_until = std::max(cooling_until, until);
}

std::optional<Clock::time_point> DeploymentPool::cooldown_end(Clock::time_point now,
                                                              uint64_t tried) const {
  std::lock_guard lock(mutex_);
  std::optional<Clock::time_point> earliest;
  for (size_t i = 0; i < deployments_.size(); ++i) {
    const auto& deployment = deployments_[i];
    if ((i < 64 && (tried >> i & 1U) != 0) ||
        deployment.breaker.state(now) == CircuitBreaker::State::kOpen) {
      continue;
    }
    if (now >= deployment.cooling_until) {
      return std::nullopt;  // one is not cooling down
    }
    earliest = std::min(earliest.value_or(deployment.cooling_until), deployment.cooling_until);
  }
  return earliest;
}

std::vector<DeploymentView> DeploymentPool::view(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<DeploymentView> out;
  out.reserve(deployments_.size());
  for (const auto& deployment : deployments_) {
    out.push_back({deployment.in_flight, deployment.breaker.state(now),
                   std::max(Clock::duration::zero(), deployment.cooling_until - now)});
  }
  return out;
}

void DeploymentPool::finish(size_t index, bool trial, std::optional<bool> success,
                            Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto& deployment = deployments_[index];
  deployment.in_flight = std::max<int64_t>(0, deployment.in_flight - 1);
  if (!success.has_value()) {
    deployment.breaker.on_abandoned(trial);
  } else if (*success) {
    deployment.breaker.on_success(trial);
  } else {
    deployment.breaker.on_failure(now, trial);
  }
}

}  // namespace gw::cluster
