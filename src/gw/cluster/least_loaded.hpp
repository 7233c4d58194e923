#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>

#include "gw/cluster/circuit_breaker.hpp"

namespace gw::cluster {

// One place a request could go (a worker, a deployment), as the balancing rule sees it.
struct Candidate {
  int64_t load = 0;    // requests in flight there
  int64_t weight = 1;  // its share of the traffic, >= 1
  CircuitBreaker* breaker = nullptr;
  size_t index = 0;  // the caller's own
};

struct Picked {
  size_t index = 0;  // Candidate::index
  CircuitBreaker::Admission admission = CircuitBreaker::Admission::kRequest;
};

// The balancing rule the controller (its workers) and the model table (its deployments) share:
// least load per weight first; among equals, at random in proportion to weight (so idle
// deployments of weights 2 and 1 get two requests in three and one in three); the first whose
// breaker admits the request (a half-open circuit admits one trial at a time; a refusal moves on
// to the next). None when every breaker refuses. `candidates` is reordered.
std::optional<Picked> pick_least_loaded(std::span<Candidate> candidates, Clock::time_point now,
                                        std::mt19937_64& random);

}  // namespace gw::cluster
