#include "gw/core/json_text.hpp"

#include "gw/core/logging.hpp"

namespace gw::core {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

size_t json_string_token_length(std::string_view text) {
  if (text.empty() || text.front() != '"') {
    return 0;
  }
  size_t i = 1;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') {
      return i + 1;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) {
        return 0;
      }
      const char escape = text[i + 1];
      if (escape == 'u') {
        if (i + 6 > text.size() || !is_hex(text[i + 2]) || !is_hex(text[i + 3]) ||
            !is_hex(text[i + 4]) || !is_hex(text[i + 5])) {
          return 0;
        }
        i += 6;
      } else if (std::string_view(R"("\/bfnrt)").find(escape) != std::string_view::npos) {
        i += 2;
      } else {
        return 0;
      }
    } else if (c < 0x20) {
      return 0;
    } else if (c < 0x80) {
      ++i;
    } else {
      const size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        return 0;
      }
      i += length;
    }
  }
  return 0;  // unterminated
}

}  // namespace gw::core
