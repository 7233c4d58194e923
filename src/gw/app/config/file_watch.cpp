#include "gw/app/config/file_watch.hpp"

#include <filesystem>
#include <optional>
#include <utility>

#include "gw/net/background.hpp"
#include "gw/net/io.hpp"

namespace gw::app {
namespace {

// Its modification time and size: an edit within the clock's granularity (a few ms) still
// changes one of them, mostly.
using Version = std::pair<std::filesystem::file_time_type, uintmax_t>;

std::optional<Version> modified_at(const std::string& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) {
    return std::nullopt;
  }
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? std::nullopt : std::optional(Version(time, size));
}

// Parameters by value: the frame owns them (no lambda captures to outlive). A change is acted on
// once the file has stayed the same for a whole interval: an editor's save (truncate, then write)
// read half-way would be an empty table, which is valid.
net::Task<void> watch(net::Executor executor, std::string path, std::function<void()> changed,
                      std::chrono::milliseconds interval, std::optional<Version> seen) {
  std::optional<Version> settling;
  for (;;) {
    net::SteadyTimer timer(executor, interval);
    co_await timer.async_wait(net::kUseTask);
    auto now = modified_at(path);
    if (!now || now == seen) {
      settling.reset();
      continue;
    }
    if (now != settling) {
      settling = now;  // changed: wait until it stays so
      continue;
    }
    seen = now;
    settling.reset();
    changed();
  }
}

}  // namespace

void watch_file(const net::Executor& executor, std::string path, std::function<void()> changed,
                std::chrono::milliseconds interval) {
  // The version in use is the one there now, before serving starts: an edit made once the
  // process is ready (when the coroutine may not have run yet) is a change.
  const auto seen = modified_at(path);
  net::spawn_background(executor, "config-watch",
                        [executor, path = std::move(path), changed = std::move(changed), interval,
                         seen] { return watch(executor, path, changed, interval, seen); });
}

}  // namespace gw::app
