#include "gw/core/json_text.hpp"

#include "gw/core/logging.hpp"

namespace gw::core {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The code unit of the \\uXXXX escape at text[at], or -1 if there is none.
int hex_unit(std::string_view text, size_t at) {
  if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') {
    return -1;
  }
  int unit = 0;
  for (size_t k = at + 2; k < at + 6; ++k) {
    const char c = text[k];
    if (!is_hex(c)) {
      return -1;
    }
    unit = unit * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return unit;
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
        // A UTF-16 surrogate must come in a pair, high then low, as JSON parsers require.
        const int unit = hex_unit(text, i);
        if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) {
          return 0;
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          const int low = i + 7 < text.size() && text[i + 6] == '\\' ? hex_unit(text, i + 6) : -1;
          if (low < 0xDC00 || low > 0xDFFF) {
            return 0;
          }
          i += 6;
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
