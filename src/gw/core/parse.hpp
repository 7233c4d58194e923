#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace gw::core {

std::optional<int64_t> parse_int(std::string_view text);
// A positive number of seconds, fractions allowed ("10", "0.25").
std::optional<std::chrono::milliseconds> parse_seconds(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);

// A TCP port in a URL: 1-65535 (Boost.URL's port_number() silently wraps larger numbers).
std::optional<uint16_t> parse_port_text(std::string_view text);

// Validates an absolute http:// or https:// URL with a host; strips one trailing '/'.
tl::expected<std::string, std::string> normalize_http_url(std::string_view text);

// Splits on commas, trimming blanks and dropping empty items.
std::vector<std::string> split_list(std::string_view text);

// Finds one fixed string in many texts (a key in every event of a stream): Boyer-Moore-Horspool
// with its skip table built once, so a search looks at about one byte in needle-length.
// (std::string_view::find calls memchr for the needle's first byte and compares at each hit, one
// library call per quote on JSON; glibc's memmem rebuilds its table on every call.)
class Substring {
 public:
  explicit Substring(std::string_view needle)
      : needle_(needle), searcher_(needle_.begin(), needle_.end()) {}
  bool in(std::string_view text) const {
    return std::search(text.begin(), text.end(), searcher_) != text.end();
  }

 private:
  std::string_view needle_;  // a literal: it outlives the searcher
  std::boyer_moore_horspool_searcher<std::string_view::const_iterator> searcher_;
};

}  // namespace gw::core
