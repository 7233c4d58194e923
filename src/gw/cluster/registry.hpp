#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <tl/expected.hpp>
#include <variant>
#include <vector>

#include "gw/cluster/circuit_breaker.hpp"
#include "gw/net/endpoint.hpp"

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
  int64_t circuit_transitions = 0;  // since the worker registered
  bool draining = false;
  Clock::duration heartbeat_age{};
};

class WorkerRegistry;

// A request routed to a worker. Counts as in flight from creation (the moment the request is
// sent, not its first byte) until it is finished or destroyed; report the outcome for the breaker.
// The registry must outlive its leases.
class Lease {
 public:
  Lease(WorkerRegistry* registry, std::string worker_id, uint64_t generation,
        std::shared_ptr<const net::Endpoint> endpoint, bool trial)
      : registry_(registry),
        worker_id_(std::move(worker_id)),
        generation_(generation),
        endpoint_(std::move(endpoint)),
        trial_(trial) {}
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease();

  const std::string& worker_id() const { return worker_id_; }
  const net::Endpoint& endpoint() const { return *endpoint_; }
  // Whether this request is its worker's half-open trial (see CircuitBreaker::Admission).
  bool trial() const { return trial_; }
  // A failure that says the worker is unwell (connect error, reset, 5xx, timeout).
  void failed(Clock::time_point now);
  void succeeded();

 private:
  void release(std::optional<bool> success, Clock::time_point now = {});
  WorkerRegistry* registry_;
  std::string worker_id_;
  uint64_t generation_;
  std::shared_ptr<const net::Endpoint> endpoint_;
  bool trial_;
};

// A worker the health checker should probe now (GET /health) because it is suspect.
struct ProbeTarget {
  std::string worker_id;
  uint64_t generation = 0;
  std::shared_ptr<const net::Endpoint> endpoint;
};

enum class PickError { kUnknownModel, kNoHealthyWorker, kAllAtCapacity };

// The controller's workers: model -> workers, id -> worker. Thread-safe (one mutex: every
// operation is short and none does I/O). Time is passed in by the caller.
class WorkerRegistry {
 public:
  explicit WorkerRegistry(RegistryOptions options, uint64_t seed = std::random_device{}());

  // Adds or replaces a worker (re-registering an id replaces it, keeping nothing; leases on the
  // old registration no longer count). Refused when the URL is not an http(s) URL, and when the
  // id is held by a healthy worker at another URL: a live worker's traffic cannot be taken over
  // by whoever registers its id (a restarted worker at a new address gets the id once the old
  // entry has missed heartbeats).
  struct Refusal {
    bool id_taken = false;  // else: a bad URL
    std::string message;
  };
  tl::expected<void, Refusal> register_worker(const Registration& registration,
                                              Clock::time_point now);
  // False when the id is unknown: the worker must register again.
  bool heartbeat(const std::string& worker_id, int64_t current_load, Clock::time_point now);
  bool remove(const std::string& worker_id);
  // False when the id is unknown. A drained worker gets no new requests until resumed (or
  // re-registered).
  bool set_draining(const std::string& worker_id, bool draining);

  // Least-loaded among the model's workers that are healthy, not draining, below capacity and
  // whose circuit allows traffic; ties broken at random. `exclude` skips workers already tried.
  // A worker's load is this controller's own in-flight count plus what the worker last reported
  // beyond it.
  std::variant<Lease, PickError> pick(const std::string& model_id, Clock::time_point now,
                                      const std::vector<std::string>& exclude = {});

  // Marks workers silent for a heartbeat timeout as lost (excluded from routing) and removes
  // those silent for twice that. Returns the ids removed.
  std::vector<std::string> sweep(Clock::time_point now);

  // Workers that are suspect: lost, late with their heartbeat, or with an open circuit.
  std::vector<ProbeTarget> probe_targets(Clock::time_point now) const;
  // A probe's answer. Success counts as a heartbeat and lets an open circuit try again at once.
  void probe_succeeded(const ProbeTarget& target, int64_t current_load, Clock::time_point now);

  // Called (outside the lock, on the calling thread) whenever capacity of a model's workers may
  // have been freed: one slot (`one_slot`: a lease ended), or any number (a worker registered,
  // reported a lower load, resumed or answered a probe). Set before serving starts.
  using CapacityListener = std::function<void(const std::string& model_id, bool one_slot)>;
  void set_capacity_listener(CapacityListener listener) {
    capacity_listener_ = std::move(listener);
  }

  std::vector<WorkerView> list(const std::optional<std::string>& model_id,
                               Clock::time_point now) const;
  std::vector<std::string> models_with_healthy_workers(Clock::time_point now) const;
  bool knows_model(const std::string& model_id) const;

 private:
  friend class Lease;
  struct Worker {
    Registration registration;
    std::shared_ptr<const net::Endpoint> endpoint;
    uint64_t generation = 0;
    int64_t in_flight = 0;
    Clock::time_point last_heartbeat;
    bool draining = false;
    bool lost = false;
    CircuitBreaker breaker;
    // What the worker reported beyond the requests this controller has in flight there (other
    // controllers, direct clients). Reconciling this way, rather than taking the larger of the
    // two, keeps a report made while our own requests were running from counting them twice
    // until the next heartbeat.
    int64_t external_load = 0;

    void note_reported_load() {
      external_load = std::max<int64_t>(0, registration.current_load - in_flight);
    }
    int64_t load() const { return in_flight + external_load; }
  };
  void finish(const std::string& worker_id, uint64_t generation, bool trial,
              std::optional<bool> success, Clock::time_point now);
  void notify_capacity(const std::string& model_id, bool one_slot = false) const;
  bool eligible(Worker& worker, Clock::time_point now) const;
  Health health_of(const Worker& worker, Clock::time_point now) const;

  RegistryOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Worker> workers_;  // by id
  std::mt19937_64 random_;
  uint64_t next_generation_ = 1;
  CapacityListener capacity_listener_;
};

}  // namespace gw::cluster
