#include "gw/cluster/registry.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <set>
#include <utility>

#include "gw/cluster/least_loaded.hpp"

namespace gw::cluster {

std::string_view to_string(Health health) {
  switch (health) {
    case Health::kHealthy:
      return "healthy";
    case Health::kSuspect:
      return "suspect";
    case Health::kLost:
      return "lost";
  }
  return "healthy";
}

Lease::Lease(Lease&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)),
      worker_id_(std::move(other.worker_id_)),
      generation_(other.generation_),
      endpoint_(std::move(other.endpoint_)),
      trial_(other.trial_) {}

Lease::~Lease() {
  release(std::nullopt);
}

void Lease::failed(Clock::time_point now) {
  release(false, now);
}

void Lease::succeeded() {
  release(true);
}

void Lease::release(std::optional<bool> success, Clock::time_point now) {
  if (registry_ != nullptr) {
    registry_->finish(worker_id_, generation_, trial_, success, now);
    registry_ = nullptr;
  }
}

WorkerRegistry::WorkerRegistry(RegistryOptions options, uint64_t seed)
    : options_(options), random_(seed) {}

tl::expected<void, WorkerRegistry::Refusal> WorkerRegistry::register_worker(
    const Registration& registration, Clock::time_point now) {
  auto endpoint = net::Endpoint::parse(registration.url);
  if (!endpoint) {
    return tl::unexpected(Refusal{false, endpoint.error()});
  }
  {
    std::lock_guard lock(mutex_);
    if (auto it = workers_.find(registration.worker_id);
        it != workers_.end() && it->second.registration.url != registration.url &&
        health_of(it->second, now) == Health::kHealthy) {
      return tl::unexpected(
          Refusal{true, "worker id is held by a healthy worker at " + it->second.registration.url});
    }
    Worker worker{registration,
                  std::make_shared<const net::Endpoint>(std::move(*endpoint)),
                  next_generation_++,
                  0,
                  now,
                  false,
                  false,
                  CircuitBreaker(options_.breaker_failures, options_.breaker_cooldown)};
    worker.note_reported_load();
    workers_.insert_or_assign(registration.worker_id, std::move(worker));
  }
  notify_capacity(registration.model_id);
  return {};
}

void WorkerRegistry::notify_capacity(const std::string& model_id, bool one_slot) const {
  if (capacity_listener_) {
    capacity_listener_(model_id, one_slot);
  }
}

bool WorkerRegistry::heartbeat(const std::string& worker_id, int64_t current_load,
                               Clock::time_point now) {
  std::unique_lock lock(mutex_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return false;
  }
  const bool lower = current_load < it->second.registration.current_load;
  it->second.registration.current_load = current_load;
  it->second.note_reported_load();
  it->second.last_heartbeat = now;
  it->second.lost = false;
  if (lower) {
    const std::string model_id = it->second.registration.model_id;
    lock.unlock();
    notify_capacity(model_id);
  }
  return true;
}

bool WorkerRegistry::remove(const std::string& worker_id) {
  std::lock_guard lock(mutex_);
  return workers_.erase(worker_id) > 0;
}

bool WorkerRegistry::set_draining(const std::string& worker_id, bool draining) {
  std::string model_id;
  {
    std::lock_guard lock(mutex_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) {
      return false;
    }
    if (it->second.draining == draining) {
      return true;
    }
    it->second.draining = draining;
    model_id = it->second.registration.model_id;
  }
  if (!draining) {
    notify_capacity(model_id);  // waiting requests may take the resumed worker
  }
  return true;
}

bool WorkerRegistry::eligible(Worker& worker, Clock::time_point now) const {
  if (worker.lost || worker.draining) {
    return false;
  }
  if (worker.load() >= worker.registration.capacity) {
    return false;
  }
  return worker.breaker.state(now) != CircuitBreaker::State::kOpen;
}

std::variant<Lease, PickError> WorkerRegistry::pick(const std::string& model_id,
                                                    Clock::time_point now,
                                                    const std::vector<std::string>& exclude) {
  std::lock_guard lock(mutex_);
  bool known = false;
  bool any_full = false;  // a worker that would take the request but for its capacity
  // Inline: no allocation per pick for a model's usual handful of workers.
  boost::container::small_vector<Worker*, 16> workers;
  boost::container::small_vector<Candidate, 16> candidates;
  for (auto& [id, worker] : workers_) {
    if (worker.registration.model_id != model_id) {
      continue;
    }
    known = true;
    if (std::find(exclude.begin(), exclude.end(), id) != exclude.end()) {
      continue;
    }
    const int64_t load = worker.load();
    const bool alive = !worker.lost && !worker.draining &&
                       worker.breaker.state(now) == CircuitBreaker::State::kClosed;
    if (alive && load >= worker.registration.capacity) {
      any_full = true;
    }
    if (eligible(worker, now)) {
      candidates.push_back({load, 1, &worker.breaker, workers.size()});
      workers.push_back(&worker);
    }
  }
  if (!known) {
    return PickError::kUnknownModel;
  }
  if (auto picked = pick_least_loaded(candidates, now, random_)) {
    Worker& worker = *workers[picked->index];
    ++worker.in_flight;
    return Lease(this, worker.registration.worker_id, worker.generation, worker.endpoint,
                 picked->admission == CircuitBreaker::Admission::kTrial);
  }
  return any_full ? PickError::kAllAtCapacity : PickError::kNoHealthyWorker;
}

void WorkerRegistry::finish(const std::string& worker_id, uint64_t generation, bool trial,
                            std::optional<bool> success, Clock::time_point now) {
  std::string model_id;
  {
    std::lock_guard lock(mutex_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end() || it->second.generation != generation) {
      return;  // deregistered or replaced meanwhile: the lease no longer counts
    }
    Worker& worker = it->second;
    worker.in_flight = std::max<int64_t>(0, worker.in_flight - 1);
    if (!success.has_value()) {
      worker.breaker.on_abandoned(trial);
    } else if (*success) {
      worker.breaker.on_success(trial);
    } else {
      worker.breaker.on_failure(now, trial);
    }
    model_id = worker.registration.model_id;
  }
  notify_capacity(model_id, true);
}

std::vector<std::string> WorkerRegistry::sweep(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> removed;
  for (auto it = workers_.begin(); it != workers_.end();) {
    const auto age = now - it->second.last_heartbeat;
    if (age >= 2 * options_.heartbeat_timeout) {
      removed.push_back(it->first);
      it = workers_.erase(it);
      continue;
    }
    if (age >= options_.heartbeat_timeout) {
      it->second.lost = true;  // in-flight counts are kept: the sweep never resets load
    }
    ++it;
  }
  return removed;
}

std::vector<ProbeTarget> WorkerRegistry::probe_targets(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<ProbeTarget> out;
  for (const auto& [id, worker] : workers_) {
    if (health_of(worker, now) != Health::kHealthy) {
      out.push_back({id, worker.generation, worker.endpoint});
    }
  }
  return out;
}

void WorkerRegistry::probe_succeeded(const ProbeTarget& target, int64_t current_load,
                                     Clock::time_point now) {
  std::string model_id;
  {
    std::lock_guard lock(mutex_);
    auto it = workers_.find(target.worker_id);
    if (it == workers_.end() || it->second.generation != target.generation) {
      return;
    }
    Worker& worker = it->second;
    worker.registration.current_load = current_load;
    worker.note_reported_load();
    worker.last_heartbeat = now;
    worker.lost = false;
    worker.breaker.on_probe_success();
    model_id = worker.registration.model_id;
  }
  notify_capacity(model_id);
}

Health WorkerRegistry::health_of(const Worker& worker, Clock::time_point now) const {
  if (worker.lost) {
    return Health::kLost;
  }
  if (worker.breaker.state(now) != CircuitBreaker::State::kClosed ||
      now - worker.last_heartbeat >= options_.heartbeat_timeout / 2) {
    return Health::kSuspect;
  }
  return Health::kHealthy;
}

std::vector<WorkerView> WorkerRegistry::list(const std::optional<std::string>& model_id,
                                             Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<WorkerView> out;
  for (const auto& [id, worker] : workers_) {
    if (model_id && worker.registration.model_id != *model_id) {
      continue;
    }
    out.push_back({worker.registration, worker.in_flight, health_of(worker, now),
                   worker.breaker.state(now), worker.breaker.transitions(), worker.draining,
                   now - worker.last_heartbeat});
  }
  return out;
}

std::vector<std::string> WorkerRegistry::models_with_healthy_workers(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::set<std::string> models;
  for (const auto& [id, worker] : workers_) {
    if (!worker.lost && !worker.draining &&
        worker.breaker.state(now) != CircuitBreaker::State::kOpen) {
      models.insert(worker.registration.model_id);
    }
  }
  return {models.begin(), models.end()};
}

bool WorkerRegistry::knows_model(const std::string& model_id) const {
  std::lock_guard lock(mutex_);
  return std::any_of(workers_.begin(), workers_.end(), [&](const auto& entry) {
    return entry.second.registration.model_id == model_id;
  });
}

}  // namespace gw::cluster
