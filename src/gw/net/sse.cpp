#include "gw/net/sse.hpp"

#include <cstring>

namespace gw::net {

size_t find_line_end(std::string_view bytes, size_t pos) {
  if (pos >= bytes.size()) {
    return std::string_view::npos;
  }
  const char* begin = bytes.data() + pos;
  const size_t left = bytes.size() - pos;
  const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', left));
  const size_t line = lf != nullptr ? static_cast<size_t>(lf - begin) : left;
  if (const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', line)); cr != nullptr) {
    return pos + static_cast<size_t>(cr - begin);
  }
  return lf != nullptr ? pos + line : std::string_view::npos;
}

bool SseParser::process_line(std::string_view line) {
  if (line.empty()) {
    if (data_.empty()) {
      event_.clear();  // an event without data is not dispatched
      return false;
    }
    return true;
  }
  if (line.front() == ':') {
    return false;
  }
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    id_.assign(value);
  }
  return false;
}

void SseParser::reset() {
  line_.clear();
  data_.clear();
  event_.clear();
  id_.clear();
  skip_lf_ = false;
}

}  // namespace gw::net
