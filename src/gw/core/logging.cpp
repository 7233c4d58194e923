#include "gw/core/logging.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <memory>

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

void append_json_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
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
        } else {
          out += c;
        }
    }
  }
}

std::string bounded_text(std::string_view text, size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  // Cut at a character boundary: never in the middle of a UTF-8 sequence.
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return fmt::format("{}...({} bytes)", text.substr(0, cut), text.size());
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

}  // namespace gw::core
