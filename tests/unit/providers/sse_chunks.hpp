#pragma once

// Test helpers: the JSON chunks and the [DONE] marker in a translator's SSE output; the named
// events of a Responses or Messages stream.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gw::providers::testing {

struct SseOutput {
  std::vector<boost::json::object> chunks;
  bool done = false;
};

inline SseOutput parse_sse_output(const std::string& out) {
  SseOutput result;
  size_t pos = 0;
  while ((pos = out.find("data: ", pos)) != std::string::npos) {
    const auto end = out.find("\n\n", pos);
    const auto data = out.substr(pos + 6, end - pos - 6);
    if (data == "[DONE]") {
      result.done = true;
    } else {
      result.chunks.push_back(boost::json::parse(data).as_object());
    }
    pos = end;
  }
  return result;
}

// An event of the APIs that name each one (Responses, Messages): its `event:` name and JSON data.
struct NamedEvent {
  std::string name;
  boost::json::object data;
};

// Splits such a stream into its events, checking the framing: an `event:` line naming the type
// the data repeats.
inline std::vector<NamedEvent> named_events(std::string_view stream) {
  std::vector<NamedEvent> out;
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t end = stream.find("\n\n", pos);
    EXPECT_NE(end, std::string_view::npos) << "unterminated event";
    if (end == std::string_view::npos) {
      break;
    }
    const std::string_view block = stream.substr(pos, end - pos);
    pos = end + 2;
    const size_t newline = block.find('\n');
    EXPECT_TRUE(block.starts_with("event: ")) << block;
    EXPECT_TRUE(block.substr(newline + 1).starts_with("data: ")) << block;
    NamedEvent event{std::string(block.substr(7, newline - 7)),
                     boost::json::parse(block.substr(newline + 7)).as_object()};
    EXPECT_EQ(event.data.at("type"), event.name.c_str());
    out.push_back(std::move(event));
  }
  return out;
}

inline std::vector<std::string> names(const std::vector<NamedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    out.push_back(event.name);
  }
  return out;
}

}  // namespace gw::providers::testing
