#include "gw/net/sse.hpp"

namespace gw::net {

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
