#include "gw/core/logging.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

#include "gw/core/settings.hpp"

namespace gw::core {
namespace {

LogFormat g_format = LogFormat::kText;

// One JSON object per line: {"ts","level","msg"}. Messages that are already JSON objects (the
// access log builds its own fields) are merged in rather than quoted.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    auto ts = std::chrono::time_point_cast<std::chrono::microseconds>(msg.time);
    line += fmt::format(R"({{"ts":"{:%Y-%m-%dT%H:%M:%S}Z","level":")", ts);
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.size() >= 2 && payload.front() == '{' && payload.back() == '}') {
      line += "\",";
      line.append(payload.substr(1));
    } else {
      line += R"(","msg":")";
      append_json_escaped(line, payload);
      line += "\"}";
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

void init_logging(std::string_view level, LogFormat format) {
  g_format = format;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("gw", sink);
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

LogFormat log_format() {
  return g_format;
}

size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) {
    return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0u;
  };
  const unsigned lead = byte(0);
  const auto continuation = [&](size_t i, unsigned low = 0x80, unsigned high = 0xBF) {
    return byte(i) >= low && byte(i) <= high;
  };
  // The well-formed sequences of the Unicode Standard's table 3-7: no overlong forms, no
  // surrogates, nothing above U+10FFFF.
  if (lead < 0x80) {
    return at < text.size() ? 1 : 0;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    return continuation(1) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

namespace {

// Whether any of the eight bytes of `word` is not printable ASCII, or is '"' or '\\' (bit tricks
// that report whether some byte is zero, or below a bound: exact about "some", which is all that
// is asked here).
bool needs_care(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101U;
  constexpr uint64_t kHighs = 0x8080808080808080U;
  const auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t control = (word - kOnes * 0x20) & ~word & kHighs;
  return (control | (word & kHighs) | has_zero(word ^ (kOnes * '"')) |
          has_zero(word ^ (kOnes * '\\'))) != 0;
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  // Printable ASCII other than '"' and '\\' goes out as is, a run at a time (most text is that),
  // found eight bytes a time.
  const auto plain = [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
  };
  size_t i = 0;
  while (i < text.size()) {
    const size_t run_start = i;
    for (uint64_t word = 0; i + 8 <= text.size(); i += 8) {
      std::memcpy(&word, text.data() + i, 8);
      if (needs_care(word)) {
        break;
      }
    }
    while (i < text.size() && plain(text[i])) {
      ++i;
    }
    out.append(text.data() + run_start, i - run_start);
    if (i == text.size()) {
      break;
    }
    const char c = text[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else if (const size_t length = utf8_sequence_length(text, i); length != 0) {
          out.append(text.substr(i, length));
          i += length - 1;
        } else {
          out += "\\ufffd";  // not UTF-8: the replacement character, so the JSON stays valid
        }
    }
    ++i;
  }
}

std::string bounded_text(std::string_view text, size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  return fmt::format("{}...({} bytes)", utf8_prefix(text, limit), text.size());
}

std::string_view utf8_prefix(std::string_view text, size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  // Back over the continuation bytes of the character the limit cuts: three at most (a longer
  // run is no UTF-8, and is cut where the limit says).
  size_t cut = limit;
  while (cut > 0 && limit - cut < 3 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80 ? limit : cut);
}

std::string log_text(std::string_view text, size_t limit) {
  std::string out;
  const std::string_view kept = text.substr(0, std::min(text.size(), limit));
  out.reserve(kept.size() + 16);
  append_json_escaped(out, kept);
  if (kept.size() < text.size()) {
    out += fmt::format("...({} bytes)", text.size());
  }
  return out;
}

LogConfig read_log_config(ConfigReader& reader) {
  LogConfig log;
  log.level =
      reader.choice("LOG_LEVEL", "info",
                    {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"});
  if (log.level == "warning") {
    log.level = "warn";
  }
  log.format = reader.choice("LOG_FORMAT", "text", {"text", "json"}) == "json" ? LogFormat::kJson
                                                                               : LogFormat::kText;
  return log;
}

}  // namespace gw::core
