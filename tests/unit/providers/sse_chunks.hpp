#pragma once

// Test helper: the JSON chunks and the [DONE] marker in a translator's SSE output.

#include <boost/json/parse.hpp>
#include <string>
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

}  // namespace gw::providers::testing
