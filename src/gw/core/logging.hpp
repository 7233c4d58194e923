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

class ConfigReader;
// LOG_LEVEL and LOG_FORMAT, as every command reads them.
LogConfig read_log_config(ConfigReader& reader);

// Sets up the default spdlog logger on stderr. `level` is one of trace, debug, info, warn, error,
// critical, off (validated by the config layer). JSON format writes one object per line.
void init_logging(std::string_view level, LogFormat format);

LogFormat log_format();

// Appends `text` to `out` escaped for a JSON string (without the quotes). Bytes that are not
// well-formed UTF-8 become U+FFFD, so the result is valid JSON whatever the input.
void append_json_escaped(std::string& out, std::string_view text);

// The length of the well-formed UTF-8 sequence starting at text[at], or 0 if there is none.
size_t utf8_sequence_length(std::string_view text, size_t at);

// At most `limit` bytes of `text`, cut at a character boundary (never inside a UTF-8 sequence).
std::string_view utf8_prefix(std::string_view text, size_t limit);

// Text a client controls (a model name, a path, a worker id), made safe for a text log line:
// escaped as in a JSON string (\n, \u0000, ...), so no line can be forged, and at most `limit`
// bytes kept (then "...(N bytes)"), so no line can be made huge.
inline constexpr size_t kLogTextLimit = 256;
std::string log_text(std::string_view text, size_t limit = kLogTextLimit);

// At most `limit` bytes of `text`, marked when cut: for client text echoed in error messages.
std::string bounded_text(std::string_view text, size_t limit = kLogTextLimit);

}  // namespace gw::core
