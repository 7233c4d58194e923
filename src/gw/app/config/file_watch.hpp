#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "gw/net/http_types.hpp"

namespace gw::app {

// Calls `changed` on `executor` whenever the file at `path` gets a new modification time or size
// and keeps it for an interval (checked every `interval`; a save in progress is not read): the
// model table is reloaded when it is edited, as on SIGHUP. A file that cannot be read is skipped
// until it can (the reload then says why it is invalid, if it is).
void watch_file(const net::Executor& executor, std::string path, std::function<void()> changed,
                std::chrono::milliseconds interval = std::chrono::seconds(1));

}  // namespace gw::app
