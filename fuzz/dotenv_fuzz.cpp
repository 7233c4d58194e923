// core::parse_dotenv (gw/core/dotenv.hpp) on the text of a .env file.
//
// Not a network peer's bytes, but a file an operator may copy from anywhere. Checks: no crash or
// sanitizer report; every key accepted is a valid name ("dotenv_key"); and writing the entries
// back as KEY="escaped value" lines parses to the same entries ("dotenv_roundtrip").

#include <cctype>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "gw/core/dotenv.hpp"

namespace {

bool valid_key(const std::string& key) {
  if (key.empty() || !(key[0] == '_' || std::isalpha(static_cast<unsigned char>(key[0])))) {
    return false;
  }
  for (char c : key) {
    if (!(c == '_' || c == '.' || c == '-' || std::isalnum(static_cast<unsigned char>(c)))) {
      return false;
    }
  }
  return true;
}

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
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
      default:
        out += c;
    }
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  const auto parsed = gw::core::parse_dotenv(as_view(data, size));
  if (!parsed) {
    return 0;
  }
  std::string text;
  for (const auto& [key, value] : *parsed) {
    GW_FUZZ_CHECK(valid_key(key), "dotenv_key", "key " + printable(key));
    text += key + "=" + quoted(value) + "\n";
  }
  const auto again = gw::core::parse_dotenv(text);
  GW_FUZZ_CHECK(again && *again == *parsed, "dotenv_roundtrip",
                "written back as " + printable(text) + " it reads " +
                    (again ? std::to_string(again->size()) + " entries" : again.error()));
  return 0;
}
