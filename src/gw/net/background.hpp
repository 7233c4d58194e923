#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "gw/net/http_types.hpp"

namespace gw::net {

// Runs `body()` on `executor` in the background (model refresh, health checks, heartbeats). A
// body that throws is never lost silently: the failure is logged, reported to `on_failure` (a
// metric), and the body started again after `restart_delay`. A body that returns ends the task.
// Frames still suspended at shutdown are destroyed with the server's pending work.
void spawn_background(Executor executor, std::string name, std::function<Task<void>()> body,
                      std::function<void()> on_failure = {},
                      std::chrono::milliseconds restart_delay = std::chrono::seconds(1));

}  // namespace gw::net
