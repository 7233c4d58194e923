#include "gw/cluster/deployment_pool.hpp"

#include <gtest/gtest.h>

#include <array>

#include "gw/cluster/least_loaded.hpp"

namespace gw::cluster {
namespace {

using std::chrono::seconds;
const Clock::time_point t0{};

DeploymentPoolOptions options() {
  return {2, seconds(30)};
}

std::shared_ptr<DeploymentPool> pool(std::vector<int64_t> weights) {
  return std::make_shared<DeploymentPool>(weights, options(), 7);
}

TEST(LeastLoaded, IdleCandidatesShareByWeight) {
  CircuitBreaker a(5, seconds(1));
  CircuitBreaker b(5, seconds(1));
  std::mt19937_64 random(1);
  std::array<int, 2> picks{};
  for (int i = 0; i < 3000; ++i) {
    std::array<Candidate, 2> candidates{Candidate{0, 2, &a, 0}, Candidate{0, 1, &b, 1}};
    auto picked = pick_least_loaded(candidates, t0, random);
    ASSERT_TRUE(picked);
    ++picks.at(picked->index);
  }
  // Two in three for weight 2: well inside 1,800..2,200 for 3,000 draws.
  EXPECT_GT(picks[0], 1800);
  EXPECT_LT(picks[0], 2200);
}

TEST(LeastLoaded, LeastLoadPerWeightWins) {
  CircuitBreaker a(5, seconds(1));
  CircuitBreaker b(5, seconds(1));
  std::mt19937_64 random(1);
  for (int i = 0; i < 100; ++i) {
    // 3 in flight at weight 2 (1.5 each) beats 2 in flight at weight 1.
    std::array<Candidate, 2> candidates{Candidate{2, 1, &b, 1}, Candidate{3, 2, &a, 0}};
    EXPECT_EQ(pick_least_loaded(candidates, t0, random)->index, 0U);
  }
}

TEST(LeastLoaded, ARefusingBreakerPassesToTheNext) {
  CircuitBreaker open(1, seconds(30));
  open.on_failure(t0, false);
  CircuitBreaker closed(1, seconds(30));
  std::mt19937_64 random(1);
  std::array<Candidate, 2> candidates{Candidate{0, 1, &open, 0}, Candidate{5, 1, &closed, 1}};
  EXPECT_EQ(pick_least_loaded(candidates, t0, random)->index, 1U);
  std::array<Candidate, 1> only_open{Candidate{0, 1, &open, 0}};
  EXPECT_FALSE(pick_least_loaded(only_open, t0, random));
}

TEST(DeploymentPool, CountsInFlightUntilTheLeaseEnds) {
  auto deployments = pool({1, 1});
  auto first = deployments->pick(t0, 0);
  ASSERT_TRUE(first);
  auto second = deployments->pick(t0, 0);
  ASSERT_TRUE(second);
  EXPECT_NE(first->index(), second->index());
  const size_t freed = first->index();
  first.reset();
  auto third = deployments->pick(t0, 0);
  EXPECT_EQ(third->index(), freed);
  EXPECT_EQ(deployments->view(t0)[second->index()].in_flight, 1);
}

TEST(DeploymentPool, TriedDeploymentsAreSkipped) {
  auto deployments = pool({1, 1, 1});
  for (int i = 0; i < 20; ++i) {
    auto lease = deployments->pick(t0, 0b101);
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->index(), 1U);
  }
  EXPECT_FALSE(deployments->pick(t0, 0b111));
}

TEST(DeploymentPool, FailuresOpenTheCircuitAndItsTrialClosesIt) {
  auto deployments = pool({1, 1});
  for (int i = 0; i < 2; ++i) {
    auto lease = deployments->pick(t0, 0b10);  // deployment 0 only
    ASSERT_TRUE(lease);
    lease->failed(t0);
  }
  EXPECT_EQ(deployments->view(t0)[0].circuit, CircuitBreaker::State::kOpen);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(deployments->pick(t0, 0)->index(), 1U);  // traffic goes around it
  }
  EXPECT_FALSE(deployments->pick(t0, 0b10));
  auto trial = deployments->pick(t0 + seconds(30), 0b10);  // cooled off: one trial
  ASSERT_TRUE(trial);
  EXPECT_FALSE(deployments->pick(t0 + seconds(30), 0b10));
  trial->succeeded();
  EXPECT_EQ(deployments->view(t0 + seconds(30))[0].circuit, CircuitBreaker::State::kClosed);
}

TEST(DeploymentPool, ACooldownIsOnlyEverExtended) {
  auto deployments = pool({1, 1});
  deployments->cool_down(0, t0 + seconds(2));
  deployments->cool_down(0, t0 + seconds(1));  // a later, shorter one does not shorten it
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(deployments->pick(t0 + seconds(1), 0)->index(), 1U);
  }
  EXPECT_FALSE(deployments->cooldown_end(t0, 0));  // deployment 1 is not cooling down
  EXPECT_EQ(deployments->cooldown_end(t0, 0b10), t0 + seconds(2));
  EXPECT_FALSE(deployments->pick(t0 + seconds(1), 0b10));
  EXPECT_TRUE(deployments->pick(t0 + seconds(2), 0b10));
  deployments->cool_down(0, t0 + seconds(5));  // a longer one extends it
  EXPECT_FALSE(deployments->pick(t0 + seconds(4), 0b10));
  EXPECT_EQ(deployments->view(t0 + seconds(4))[0].cooling_for, seconds(1));
}

TEST(DeploymentPool, ALeaseKeepsItsPoolAlive) {
  auto deployments = pool({1});
  auto lease = deployments->pick(t0, 0);
  std::weak_ptr<DeploymentPool> weak = deployments;
  deployments.reset();  // a reload replaced the table
  EXPECT_FALSE(weak.expired());
  lease->succeeded();
  lease.reset();
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace gw::cluster
