#pragma once

// Event streams as a client sees them: gw::net::SseParser's events as values, and a reference
// reading of a whole stream written from the WHATWG rules for the checks to compare against.

#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "gw/net/sse.hpp"

namespace gw::fuzz {

struct Event {
  std::string event;
  std::string data;
  std::string id;
  bool operator==(const Event&) const = default;
};

inline std::vector<Event> events_of(net::SseParser& parser, std::string_view bytes) {
  std::vector<Event> out;
  parser.feed(bytes, [&](const net::SseEvent& e) {
    out.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
  });
  return out;
}

// Every complete event of `bytes` read at once by a fresh parser.
inline std::vector<Event> events_of(std::string_view bytes) {
  net::SseParser parser;
  return events_of(parser, bytes);
}

// The WHATWG event-stream interpretation of a whole stream (what is after its last line end is
// not yet a line). Two deliberate gaps, shared with SseParser and not checked: a leading BOM is
// not skipped, and an id containing NUL is not ignored.
struct ReferenceStream {
  std::vector<Event> events;
  bool partial = false;  // an unfinished line or event remains
};

inline ReferenceStream reference_events(std::string_view s) {
  ReferenceStream out;
  std::string data;
  std::string event;
  std::string id;
  size_t pos = 0;
  for (;;) {
    const size_t eol = s.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      break;
    }
    const std::string_view line = s.substr(pos, eol - pos);
    pos = eol + (s[eol] == '\r' && eol + 1 < s.size() && s[eol + 1] == '\n' ? 2 : 1);
    if (line.empty()) {
      if (!data.empty()) {
        data.pop_back();
        out.events.push_back({event, data, id});
      }
      data.clear();
      event.clear();
      continue;
    }
    if (line.front() == ':') {
      continue;
    }
    const size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    if (field == "data") {
      data.append(value).push_back('\n');
    } else if (field == "event") {
      event = value;
    } else if (field == "id") {
      id = value;
    }
  }
  out.partial = pos < s.size() || !data.empty();
  return out;
}

inline std::string describe(const std::vector<Event>& events) {
  std::string s = std::to_string(events.size()) + " events";
  for (const auto& e : events) {
    s += "\n  {event=" + printable(e.event, 60) + " data=" + printable(e.data, 120) +
         " id=" + printable(e.id, 60) + "}";
  }
  return s;
}

}  // namespace gw::fuzz
