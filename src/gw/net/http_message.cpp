#include "gw/net/http_message.hpp"

#include <array>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <charconv>

namespace gw::net {

namespace {

// ASCII only, inline: header names are ASCII, and libc's locale-aware tolower showed up in
// profiles of the request path.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    // Header names mostly arrive in the case they are looked up in: equal bytes cost one test.
    if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

void append_decimal(std::string& out, uint64_t value) {
  std::array<char, 20> digits;  // NOLINT(cppcoreguidelines-pro-type-member-init): written first
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

std::string percent_decode(std::string_view text) {
  auto pct = boost::urls::make_pct_string_view(text);
  return pct ? pct->decode() : std::string(text);
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return std::nullopt;
  }
  auto params = url->params();
  auto it = params.find(name);
  if (it == params.end()) {
    return std::nullopt;
  }
  return std::string((*it).value);
}

}  // namespace gw::net
