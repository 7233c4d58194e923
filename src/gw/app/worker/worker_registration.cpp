// A worker's side of the internal API: registration with retries, heartbeats, deregistration.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <map>
#include <random>

#include "gw/app/worker/worker_handler.hpp"
#include "gw/net/background.hpp"
#include "gw/net/io.hpp"

namespace gw::app {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using net::Task;

constexpr std::chrono::milliseconds kMaxRetryDelay{60'000};

Task<void> sleep_for(asio::io_context& io, std::chrono::milliseconds delay) {
  net::SteadyTimer timer(io, delay);
  co_await timer.async_wait(net::kUseTask);
}

// Exponential backoff with "equal jitter": half the delay fixed, half random, so that workers
// started together do not retry together.
std::chrono::milliseconds backoff(std::chrono::milliseconds initial, int64_t retry) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const auto cap = std::max(kMaxRetryDelay, initial);
  auto delay = initial;
  for (int64_t i = 0; i < retry && delay < cap; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, cap);
  std::uniform_int_distribution<int64_t> half(0, delay.count() / 2);
  return std::chrono::milliseconds(delay.count() - delay.count() / 2 + half(random));
}

}  // namespace

Task<std::pair<int, std::string>> WorkerHandler::call_controller(const ControllerTarget& target,
                                                                 std::string_view method,
                                                                 std::string path,
                                                                 std::string body) {
  const net::Endpoint& controller = target.endpoint;
  const auto& config = state_->config;
  const std::string authorization =
      config.internal_api_key.empty() ? std::string() : "Bearer " + config.internal_api_key;
  net::OutboundRequest request;
  request.method = method;
  request.path = controller.base_path + path;
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back({"accept", "application/json"});
  request.headers.push_back({"user-agent", providers::kUserAgent});
  if (!authorization.empty()) {
    request.headers.push_back({"authorization", authorization});
  }
  if (!body.empty()) {
    request.body.push_back(body);
  }
  auto sent = co_await control_client_.send(controller, request);
  if (!sent) {
    co_return std::pair<int, std::string>(0, sent.error().message);
  }
  auto answer = co_await (*sent)->read_all(1u << 20);
  co_return std::pair<int, std::string>((*sent)->status(), answer ? *answer : std::string());
}

Task<int> WorkerHandler::register_once(const ControllerTarget& target) {
  const auto& config = state_->config;
  const std::string& url = target.label;
  const json::object registration{{"worker_id", config.worker_id},
                                  {"model_id", config.model_id},
                                  {"url", state_->advertise_url},
                                  {"capacity", config.capacity},
                                  {"current_load", state_->load.load()}};
  auto [status, body] = co_await call_controller(target, "POST", "/internal/workers/register",
                                                 json::serialize(registration));
  state_->links.set(url, status == 200);
  if (status == 200) {
    state_->registered_somewhere = true;
    spdlog::info("registered with the controller at {} as {} (model {}, {})", url, config.worker_id,
                 config.model_id, state_->advertise_url);
    co_return 1;
  }
  if (status == 400 || status == 401 || status == 403) {
    spdlog::critical("the controller at {} refused the registration (HTTP {}): {}", url, status,
                     body);
    co_return -1;
  }
  spdlog::warn("cannot register with the controller at {}: {}", url,
               status == 0 ? body : fmt::format("HTTP {}", status));
  co_return 0;
}

Task<void> WorkerHandler::follow_controllers(size_t index) {
  const net::Endpoint& named = state_->controllers[index];
  const std::string& url = state_->config.controller_urls[index];
  if (net::is_ip_literal(named.host)) {
    add_target(std::make_shared<ControllerTarget>(ControllerTarget{url, named}));
    co_return;
  }
  // Keyed by address; "" is the URL itself (its name one controller, connected to as usual).
  std::map<std::string, std::shared_ptr<ControllerTarget>> followed;
  for (;;) {
    auto resolved = co_await net::resolve_host(named.host, named.port);
    if (state_->draining) {
      co_return;
    }
    std::vector<std::string> now_followed;
    now_followed.reserve(followed.size());
    for (const auto& entry : followed) {
      now_followed.push_back(entry.first);
    }
    const std::vector<std::string> addresses = addresses_to_follow(
        resolved ? std::optional(controller_addresses(*resolved)) : std::nullopt, now_followed);
    for (auto it = followed.begin(); it != followed.end();) {
      if (std::find(addresses.begin(), addresses.end(), it->first) == addresses.end()) {
        spdlog::info("{}: no longer a controller to register with", it->second->label);
        it->second->retired = true;
        state_->links.remove(it->second->label);
        std::erase(targets_, it->second);
        it = followed.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& address : addresses) {
      if (followed.contains(address)) {
        continue;
      }
      auto target = std::make_shared<ControllerTarget>(
          address.empty()
              ? ControllerTarget{url, named}
              : ControllerTarget{fmt::format("{} ({})", url, address), named.at_address(address)});
      followed.emplace(address, target);
      add_target(target);
    }
    co_await sleep_for(io_, state_->config.heartbeat_interval);
    if (state_->draining) {
      co_return;
    }
  }
}

void WorkerHandler::add_target(const std::shared_ptr<ControllerTarget>& target) {
  targets_.push_back(target);
  state_->links.set(target->label, false);
  state_->first_attempts.fetch_add(1);
  net::spawn_background(
      io_.get_executor(), "registration", [this, target] { return stay_registered(target); },
      [state = state_] { state->metrics.background_failure("registration"); });
}

// By value: a coroutine's reference parameter could outlive the object it refers to.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Task<void> WorkerHandler::stay_registered(std::shared_ptr<ControllerTarget> target) {
  // Not a co_await in the condition: GCC 12 miscompiles that (see mock/common.cpp).
  const bool registered = co_await register_first(target);
  if (registered) {
    co_await keep_beating(target);
  }
}

// `target` is stay_registered's, alive while it waits on these.
Task<bool> WorkerHandler::register_first(const std::shared_ptr<ControllerTarget>& target) {
  const auto& config = state_->config;
  for (int64_t retry = 0;; ++retry) {
    const int result = co_await register_once(*target);
    if (result == 1) {
      state_->first_attempts.fetch_sub(1);
      co_return true;
    }
    if (result < 0) {
      state_->give_up();  // a bad key or body: no controller will take it
      co_return false;
    }
    if (retry >= config.registry_retry_count) {
      state_->first_attempts.fetch_sub(1);
      // Another controller may still be on its first attempts (a slow answer): wait for them.
      while (!state_->registered_somewhere && state_->first_attempts.load() > 0) {
        co_await sleep_for(io_, config.registry_retry_delay);
        if (state_->draining || target->retired) {
          co_return false;
        }
      }
      if (!state_->registered_somewhere) {
        spdlog::critical("giving up after {} registration attempts", retry + 1);
        state_->give_up();
        co_return false;
      }
      // Serving through another controller: this one is registered with when it comes back
      // (its heartbeats are answered 404 then).
      spdlog::warn("the controller at {} still cannot be reached; trying every heartbeat",
                   target->label);
      co_return true;
    }
    co_await sleep_for(io_, backoff(config.registry_retry_delay, retry));
    if (state_->draining || target->retired) {
      state_->first_attempts.fetch_sub(1);
      co_return false;
    }
  }
}

Task<void> WorkerHandler::keep_beating(const std::shared_ptr<ControllerTarget>& target) {
  const auto& config = state_->config;
  const std::string& url = target->label;
  bool reachable = true;
  for (;;) {
    co_await sleep_for(io_, config.heartbeat_interval);
    if (state_->draining || target->retired) {
      co_return;
    }
    const json::object beat{{"worker_id", config.worker_id}, {"current_load", state_->load.load()}};
    auto [status, body] = co_await call_controller(*target, "POST", "/internal/workers/heartbeat",
                                                   json::serialize(beat));
    if (state_->draining) {
      co_return;  // deregistered meanwhile: a re-registration now would undo it
    }
    if (status == 404) {
      // The controller restarted or dropped us: register again (the next beat retries if this
      // fails).
      spdlog::warn("the controller at {} does not know this worker; registering again", url);
      co_await register_once(*target);
    } else if (status != 200) {
      state_->links.set(url, false);
      if (reachable) {
        spdlog::warn("heartbeat to {} failed ({}); still serving, will keep trying", url,
                     status == 0 ? body : fmt::format("HTTP {}", status));
      }
      reachable = false;
      continue;
    } else if (!reachable) {
      spdlog::info("the controller at {} answers heartbeats again", url);
      state_->links.set(url, true);
    }
    reachable = true;
  }
}

Task<void> WorkerHandler::deregister() {
  state_->draining = true;
  const std::string path =
      "/internal/workers/" + boost::urls::encode(state_->config.worker_id, boost::urls::pchars);
  // From every controller at once: each call is bounded by the control client's timeouts, and an
  // unreachable controller does not hold up the others. The timer is the "all answered" signal.
  const auto targets = targets_;  // (a copy: the loops may change the list meanwhile)
  auto pending = std::make_shared<size_t>(targets.size());
  auto all_answered = std::make_shared<net::SteadyTimer>(io_, net::SteadyTimer::time_point::max());
  for (const auto& target : targets) {
    asio::co_spawn(io_.get_executor(), deregister_from(target, path),
                   [pending, all_answered](const std::exception_ptr&) {
                     if (--*pending == 0) {
                       all_answered->cancel();
                     }
                   });
  }
  if (*pending > 0) {
    co_await all_answered->async_wait(net::kUseTask);
  }
}

// By value: a coroutine's reference parameter could outlive the object it refers to.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Task<void> WorkerHandler::deregister_from(std::shared_ptr<ControllerTarget> target,
                                          std::string path) {
  auto [status, body] = co_await call_controller(*target, "DELETE", std::move(path), std::string());
  if (status == 200) {
    state_->links.set(target->label, false);
    spdlog::info("deregistered from the controller at {}", target->label);
  } else {
    spdlog::warn("could not deregister from the controller at {}: {}", target->label,
                 status == 0 ? body : fmt::format("HTTP {}", status));
  }
}

}  // namespace gw::app
