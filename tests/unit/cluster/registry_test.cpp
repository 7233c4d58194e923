#include "gw/cluster/registry.hpp"

#include <gtest/gtest.h>

#include <set>

namespace gw::cluster {
namespace {

using std::chrono::seconds;
const Clock::time_point t0{};

RegistryOptions options() {
  RegistryOptions o;
  o.heartbeat_timeout = seconds(10);
  o.breaker_failures = 2;
  o.breaker_cooldown = seconds(30);
  return o;
}

Registration worker(std::string id, std::string model = "llama3", int64_t capacity = 10) {
  return {std::move(id), std::move(model), "http://127.0.0.1:1", capacity, 0};
}

Lease take(WorkerRegistry& registry, const std::string& model, Clock::time_point now = t0,
           const std::vector<std::string>& exclude = {}) {
  auto picked = registry.pick(model, now, exclude);
  EXPECT_TRUE(std::holds_alternative<Lease>(picked));
  return std::get<Lease>(std::move(picked));
}

TEST(WorkerRegistry, LeastLoadedCountsFromTheMomentOfSending) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  auto first = take(registry, "llama3");
  auto second = take(registry, "llama3");
  EXPECT_NE(first.worker_id(), second.worker_id());  // the busier one is not chosen
  auto third = take(registry, "llama3");
  {
    auto fourth = take(registry, "llama3");
    EXPECT_NE(third.worker_id(), fourth.worker_id());
  }
  // The fourth finished: its worker is now the less loaded one.
  std::string idle = third.worker_id() == "a" ? "b" : "a";
  EXPECT_EQ(take(registry, "llama3").worker_id(), idle);
}

TEST(WorkerRegistry, AHealthyWorkersIdCannotBeTakenFromAnotherUrl) {
  WorkerRegistry registry(options(), 1);
  ASSERT_TRUE(registry.register_worker(worker("a"), t0));
  Registration rogue = worker("a");
  rogue.url = "http://127.0.0.1:2";
  auto refused = registry.register_worker(rogue, t0 + seconds(1));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().id_taken);
  EXPECT_EQ(take(registry, "llama3", t0 + seconds(1)).endpoint().port, 1);
  // The same URL re-registers (a worker that restarted in place).
  EXPECT_TRUE(registry.register_worker(worker("a"), t0 + seconds(2)));
  // Once the entry has missed heartbeats (suspect after half the timeout), a worker restarted at
  // a new address takes its id.
  EXPECT_TRUE(registry.register_worker(rogue, t0 + seconds(2) + seconds(5)));
  EXPECT_EQ(take(registry, "llama3", t0 + seconds(8)).endpoint().port, 2);
}

TEST(WorkerRegistry, TiesAreBrokenAtRandom) {
  WorkerRegistry registry(options(), 7);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) {
    seen.insert(take(registry, "llama3").worker_id());  // released at once: always a tie
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
}

TEST(WorkerRegistry, ReportedLoadCountsToo) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  ASSERT_TRUE(registry.heartbeat("a", 5, t0));
  for (int i = 0; i < 5; ++i) {
    auto lease = take(registry, "llama3");
    EXPECT_EQ(lease.worker_id(), "b");
  }
}

TEST(WorkerRegistry, AReportMadeDuringOurOwnRequestsDoesNotCountThemTwice) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  auto on_a = take(registry, "llama3", t0, {"b"});
  auto on_b = take(registry, "llama3", t0, {"a"});
  ASSERT_TRUE(registry.heartbeat("b", 1, t0));  // b reports our own request
  { auto done = std::move(on_b); }              // which then finishes
  // a has one request of ours in flight, b none: b is chosen (a stale "1" from b would tie).
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(take(registry, "llama3", t0).worker_id(), "b");
  }
  ASSERT_TRUE(registry.heartbeat("b", 3, t0));  // three requests from elsewhere
  EXPECT_EQ(take(registry, "llama3", t0).worker_id(), "a");
}

TEST(WorkerRegistry, CapacityUnknownModelAndNoHealthyWorker) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a", "llama3", 1), t0);
  auto held = take(registry, "llama3");
  auto full = registry.pick("llama3", t0);
  ASSERT_TRUE(std::holds_alternative<PickError>(full));
  EXPECT_EQ(std::get<PickError>(full), PickError::kAllAtCapacity);
  EXPECT_EQ(std::get<PickError>(registry.pick("mistral", t0)), PickError::kUnknownModel);
  registry.set_draining("a", true);
  EXPECT_EQ(std::get<PickError>(registry.pick("llama3", t0)), PickError::kNoHealthyWorker);
}

TEST(WorkerRegistry, ExcludeSkipsWorkersAlreadyTried) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(take(registry, "llama3", t0, {"a"}).worker_id(), "b");
  }
}

TEST(WorkerRegistry, SilentWorkersLeaveRoutingThenTheRegistry) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  ASSERT_TRUE(registry.heartbeat("b", 0, t0 + seconds(9)));
  EXPECT_TRUE(registry.sweep(t0 + seconds(10)).empty());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(take(registry, "llama3", t0 + seconds(10)).worker_id(), "b");
  }
  auto views = registry.list(std::string("llama3"), t0 + seconds(10));
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].health, Health::kLost);
  EXPECT_EQ(registry.sweep(t0 + seconds(20)), std::vector<std::string>{"a"});
  EXPECT_FALSE(registry.heartbeat("a", 0, t0 + seconds(21)));  // unknown: must re-register
  registry.register_worker(worker("a"), t0 + seconds(21));
  EXPECT_EQ(registry.list(std::nullopt, t0 + seconds(21)).size(), 2u);
}

TEST(WorkerRegistry, FailuresOpenTheCircuitAndAProbeClosesIt) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  for (int i = 0; i < 2; ++i) {
    auto lease = take(registry, "llama3", t0, {"b"});
    lease.failed(t0);
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(take(registry, "llama3", t0).worker_id(), "b");
  }
  auto views = registry.list(std::nullopt, t0);
  EXPECT_EQ(views[0].circuit, CircuitBreaker::State::kOpen);
  EXPECT_EQ(views[0].health, Health::kSuspect);
  const auto later = t0 + seconds(30);
  auto probe = take(registry, "llama3", later, {"b"});
  EXPECT_EQ(probe.worker_id(), "a");
  // While the probe is out, no second request goes to the half-open worker.
  EXPECT_EQ(std::get<PickError>(registry.pick("llama3", later, {"b"})),
            PickError::kNoHealthyWorker);
  probe.succeeded();
  EXPECT_EQ(registry.list(std::nullopt, later)[0].circuit, CircuitBreaker::State::kClosed);
}

TEST(WorkerRegistry, ReRegistrationReplacesAndSweepNeverResetsLoad) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  auto lease = take(registry, "llama3");
  registry.sweep(t0 + seconds(1));
  EXPECT_EQ(registry.list(std::nullopt, t0 + seconds(1))[0].in_flight, 1);
  auto replaced = worker("a", "mistral", 4);
  registry.register_worker(replaced, t0 + seconds(2));
  auto views = registry.list(std::nullopt, t0 + seconds(2));
  EXPECT_EQ(views[0].registration.model_id, "mistral");
  EXPECT_EQ(views[0].registration.capacity, 4);
  EXPECT_EQ(registry.models_with_healthy_workers(t0 + seconds(2)),
            std::vector<std::string>{"mistral"});
  EXPECT_TRUE(registry.remove("a"));
  EXPECT_FALSE(registry.knows_model("mistral"));
}

TEST(WorkerRegistry, LeasesOfAReplacedRegistrationNoLongerCount) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a", "llama3", 1), t0);
  auto old = take(registry, "llama3");
  registry.register_worker(worker("a", "llama3", 1), t0);
  auto fresh = take(registry, "llama3");
  old.failed(t0);  // must neither free the new registration's slot nor count against it
  EXPECT_EQ(std::get<PickError>(registry.pick("llama3", t0)), PickError::kAllAtCapacity);
  EXPECT_EQ(registry.list(std::nullopt, t0)[0].circuit, CircuitBreaker::State::kClosed);
}

TEST(WorkerRegistry, AnAbandonedTrialFreesTheHalfOpenSlot) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  for (int i = 0; i < 2; ++i) {
    take(registry, "llama3").failed(t0);
  }
  const auto later = t0 + seconds(30);
  { auto trial = take(registry, "llama3", later); }  // the client left: no verdict
  auto next = take(registry, "llama3", later);       // the next request is the trial
  next.succeeded();
  EXPECT_EQ(registry.list(std::nullopt, later)[0].circuit, CircuitBreaker::State::kClosed);
}

TEST(WorkerRegistry, AHalfOpenWorkerWithItsTrialOutDoesNotBlockTheOthers) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  for (int i = 0; i < 2; ++i) {
    take(registry, "llama3", t0, {"b"}).failed(t0);
  }
  const auto later = t0 + seconds(30);
  auto busy_b = take(registry, "llama3", later, {"a"});  // b: load 1, a: load 0 but half-open
  auto trial = take(registry, "llama3", later);
  EXPECT_EQ(trial.worker_id(), "a");
  // a is still the least loaded, but its one trial is out: b takes the request.
  EXPECT_EQ(take(registry, "llama3", later).worker_id(), "b");
}

TEST(WorkerRegistry, RejectsAUrlThatDoesNotParse) {
  WorkerRegistry registry(options(), 1);
  auto bad = worker("a");
  bad.url = "not a url";
  EXPECT_FALSE(registry.register_worker(bad, t0).has_value());
  EXPECT_FALSE(registry.knows_model("llama3"));
}

TEST(WorkerRegistry, ProbesFindSuspectsAndSuccessRestoresThem) {
  WorkerRegistry registry(options(), 1);
  registry.register_worker(worker("a"), t0);
  registry.register_worker(worker("b"), t0);
  EXPECT_TRUE(registry.probe_targets(t0).empty());
  for (int i = 0; i < 2; ++i) {
    take(registry, "llama3", t0, {"b"}).failed(t0);
  }
  ASSERT_TRUE(registry.heartbeat("a", 0, t0 + seconds(9)));
  registry.sweep(t0 + seconds(10));  // b is lost, a has an open circuit
  auto targets = registry.probe_targets(t0 + seconds(10));
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(std::get<PickError>(registry.pick("llama3", t0 + seconds(10))),
            PickError::kNoHealthyWorker);
  for (const auto& target : targets) {
    registry.probe_succeeded(target, 0, t0 + seconds(10));
  }
  // b is back in routing; a's circuit is half-open without waiting out its cooldown.
  auto views = registry.list(std::nullopt, t0 + seconds(10));
  EXPECT_EQ(views[0].circuit, CircuitBreaker::State::kHalfOpen);
  EXPECT_EQ(views[1].health, Health::kHealthy);
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    seen.insert(take(registry, "llama3", t0 + seconds(10)).worker_id());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
}

TEST(WorkerRegistry, TellsWhenCapacityMayHaveBeenFreed) {
  WorkerRegistry registry(options(), 1);
  std::vector<std::pair<std::string, bool>> calls;  // model, one slot
  registry.set_capacity_listener(
      [&](const std::string& model, bool one_slot) { calls.emplace_back(model, one_slot); });
  registry.register_worker(worker("a"), t0);
  EXPECT_EQ(calls, (std::vector<std::pair<std::string, bool>>{{"llama3", false}}));
  take(registry, "llama3");  // the lease ends: one slot
  EXPECT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls.back(), std::make_pair(std::string("llama3"), true));
  ASSERT_TRUE(registry.heartbeat("a", 3, t0));
  EXPECT_EQ(calls.size(), 2U);  // a higher load frees nothing
  ASSERT_TRUE(registry.heartbeat("a", 1, t0));
  EXPECT_EQ(calls.size(), 3U);
  EXPECT_EQ(calls.back(), std::make_pair(std::string("llama3"), false));
  ASSERT_TRUE(registry.set_draining("a", true));
  EXPECT_EQ(calls.size(), 3U);
  ASSERT_TRUE(registry.set_draining("a", false));
  EXPECT_EQ(calls.size(), 4U);
  EXPECT_EQ(calls.back(), std::make_pair(std::string("llama3"), false));
}

}  // namespace
}  // namespace gw::cluster
