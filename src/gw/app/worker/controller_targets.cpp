#include "gw/app/worker/controller_targets.hpp"

#include <algorithm>

namespace gw::app {

std::vector<std::string> controller_addresses(const std::vector<std::string>& resolved) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (const auto& address : resolved) {
    (address.find(':') == std::string::npos ? v4 : v6).push_back(address);
  }
  std::vector<std::string>& chosen = v4.empty() ? v6 : v4;
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  return chosen;
}

std::vector<std::string> addresses_to_follow(const std::optional<std::vector<std::string>>& found,
                                             const std::vector<std::string>& followed) {
  if (!found && !followed.empty()) {
    return followed;
  }
  if (!found || found->size() < 2) {
    return {std::string()};
  }
  return *found;
}

}  // namespace gw::app
