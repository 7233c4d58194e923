#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gw/net/endpoint.hpp"

namespace gw::app {

// One controller a worker registers and heartbeats with: a CONTROLLER_URL, or one address of a
// CONTROLLER_URL whose host name stands for several controllers (a Kubernetes headless Service).
struct ControllerTarget {
  std::string label;  // for logs: the URL, with the address when pinned to one
  net::Endpoint endpoint;
  bool retired = false;  // the name no longer resolves to this address: its loop ends
};

// Whether the worker is registered with each controller it follows, by label: written by the
// registration loops (shard 0), read by the dashboard on any shard.
class ControllerLinks {
 public:
  void set(const std::string& label, bool registered) {
    std::lock_guard lock(mutex_);
    links_[label] = registered;
  }
  void remove(const std::string& label) {
    std::lock_guard lock(mutex_);
    links_.erase(label);
  }
  std::map<std::string, bool> snapshot() const {
    std::lock_guard lock(mutex_);
    return links_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, bool> links_;
};

// Of the addresses a controller's host name resolves to, those that are one controller each: the
// IPv4 ones, or the IPv6 ones when there is no IPv4 (a dual-stack server, or "localhost", answers
// on both: counted once), without duplicates, sorted.
std::vector<std::string> controller_addresses(const std::vector<std::string>& resolved);

// What a controller URL's name is followed as, given its controller addresses (nullopt: the
// lookup failed) and what is followed now: each address when there are several, else the URL
// itself (""), connected to by name as usual. A failed lookup says nothing about the
// controllers: what is followed stays (the first time, the URL itself, which then fails to
// connect as it would have).
std::vector<std::string> addresses_to_follow(const std::optional<std::vector<std::string>>& found,
                                             const std::vector<std::string>& followed);

}  // namespace gw::app
