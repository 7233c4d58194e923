#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace gw::core {

enum class LogFormat { kText, kJson };

// Log level and format, as every command configures them.
struct LogConfig {
  std::string level = "info";
  LogFormat format = LogFormat::kText;
};

// Sets up the default spdlog logger on stderr. `level` is one of trace, debug, info, warn, error,
// critical, off (validated by the config layer). JSON format writes one object per line.
void init_logging(std::string_view level, LogFormat format);

LogFormat log_format();

// Appends `text` to `out` escaped for a JSON string (without the quotes).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace gw::core
