#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "gw/cluster/circuit_breaker.hpp"

namespace gw::cluster {

struct RegistryOptions {
  Clock::duration heartbeat_timeout = std::chrono::seconds(60);  // silent that long: lost
  int breaker_failures = 5;
  Clock::duration breaker_cooldown = std::chrono::seconds(30);
};

struct Registration {
  std::string worker_id;
  std::string model_id;
  std::string url;
  int64_t capacity = 10;
  int64_t current_load = 0;
};

enum class Health { kHealthy, kSuspect, kLost };
std::string_view to_string(Health health);

// What /internal/workers shows of a worker.
struct WorkerView {
  Registration registration;
  int64_t in_flight = 0;  // the controller's own count of requests it sent there
  Health health = Health::kHealthy;
  CircuitBreaker::State circuit = CircuitBreaker::State::kClosed;
  bool draining = false;
  Clock::duration heartbeat_age{};
};

class WorkerRegistry;

// A request routed to a worker. Counts as in flight from creation (the moment the request is
// sent, not its first byte) until it is finished or destroyed; report the outcome for the breaker.
// The registry must outlive its leases.
class Lease {
 public:
  Lease(WorkerRegistry* registry, std::string worker_id, std::string url)
      : registry_(registry), worker_id_(std::move(worker_id)), url_(std::move(url)) {}
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease();

  const std::string& worker_id() const { return worker_id_; }
  const std::string& url() const { return url_; }
  // A failure that says the worker is unwell (connect error, reset, 5xx, timeout).
  void failed(Clock::time_point now);
  void succeeded();

 private:
  void release(std::optional<bool> success, Clock::time_point now = {});
  WorkerRegistry* registry_;
  std::string worker_id_;
  std::string url_;
};

enum class PickError { kUnknownModel, kNoHealthyWorker, kAllAtCapacity };

// The controller's workers: model -> workers, id -> worker. Thread-safe (one mutex: every
// operation is short and none does I/O). Time is passed in by the caller.
class WorkerRegistry {
 public:
  explicit WorkerRegistry(RegistryOptions options, uint64_t seed = std::random_device{}());

  // Adds or replaces a worker (re-registering an id replaces it, keeping nothing).
  void register_worker(const Registration& registration, Clock::time_point now);
  // False when the id is unknown: the worker must register again.
  bool heartbeat(const std::string& worker_id, int64_t current_load, Clock::time_point now);
  bool remove(const std::string& worker_id);
  void set_draining(const std::string& worker_id, bool draining);

  // Least-loaded among the model's workers that are healthy, not draining, below capacity and
  // whose circuit allows traffic; ties broken at random. `exclude` skips workers already tried.
  std::variant<Lease, PickError> pick(const std::string& model_id, Clock::time_point now,
                                      const std::vector<std::string>& exclude = {});

  // Marks workers silent for a heartbeat timeout as lost (excluded from routing) and removes
  // those silent for twice that. Returns the ids removed.
  std::vector<std::string> sweep(Clock::time_point now);

  std::vector<WorkerView> list(const std::optional<std::string>& model_id,
                               Clock::time_point now) const;
  std::vector<std::string> models_with_healthy_workers(Clock::time_point now) const;
  bool knows_model(const std::string& model_id) const;

 private:
  friend class Lease;
  struct Worker {
    Registration registration;
    int64_t in_flight = 0;
    Clock::time_point last_heartbeat;
    bool draining = false;
    bool lost = false;
    CircuitBreaker breaker;
  };
  void finish(const std::string& worker_id, std::optional<bool> success, Clock::time_point now);
  bool eligible(Worker& worker, Clock::time_point now) const;
  Health health_of(const Worker& worker, Clock::time_point now) const;

  RegistryOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Worker> workers_;  // by id
  std::mt19937_64 random_;
};

}  // namespace gw::cluster
