#include "gw/cluster/least_loaded.hpp"

#include <algorithm>

namespace gw::cluster {
namespace {

// a.load / a.weight < b.load / b.weight, without division (weights are >= 1).
bool less_loaded(const Candidate& a, const Candidate& b) {
  return a.load * b.weight < b.load * a.weight;
}

bool equally_loaded(const Candidate& a, const Candidate& b) {
  return a.load * b.weight == b.load * a.weight;
}

}  // namespace

std::optional<Picked> pick_least_loaded(std::span<Candidate> candidates, Clock::time_point now,
                                        std::mt19937_64& random) {
  std::sort(candidates.begin(), candidates.end(), less_loaded);
  auto first = candidates.begin();
  while (first != candidates.end()) {
    // The equally loaded group at the front: one of them by weight.
    const auto group_end = std::find_if(
        first, candidates.end(), [&](const Candidate& c) { return !equally_loaded(c, *first); });
    int64_t total = 0;
    for (auto it = first; it != group_end; ++it) {
      total += it->weight;
    }
    int64_t ticket = std::uniform_int_distribution<int64_t>(0, total - 1)(random);
    auto chosen = first;
    while (ticket >= chosen->weight) {
      ticket -= chosen->weight;
      ++chosen;
    }
    const auto admission = chosen->breaker->allow(now);
    if (admission != CircuitBreaker::Admission::kRefused) {
      return Picked{chosen->index, admission};
    }
    // Refused (a half-open circuit whose trial is out): dropped, the rest tried in the same order.
    std::rotate(first, chosen, std::next(chosen));
    ++first;
  }
  return std::nullopt;
}

}  // namespace gw::cluster
