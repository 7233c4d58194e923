#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>
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

// `text` with ASCII letters lower-cased (names, schemes, option values: never locale-dependent).
std::string ascii_lower(std::string_view text);

// Finds one fixed string in many texts (a key in every event of a stream): memchr for one of its
// bytes that is rare in such texts (the anchor), then a comparison at each hit. On JSON,
// std::string_view::find stops at every quote (its first byte), and a Boyer-Moore-Horspool skip
// stays short because the key's letters are common: both cost a few times more.
class Substring {
 public:
  constexpr Substring(std::string_view needle, char anchor)
      : needle_(needle), anchor_(anchor), at_(needle.find(anchor)) {
    assert(at_ != std::string_view::npos && "the anchor must be a byte of the needle");
  }
  bool in(std::string_view text) const;
  // Where its last occurrence in `text` begins, or npos.
  size_t rfind(std::string_view text) const;

 private:
  std::string_view needle_;  // a literal: it outlives this
  char anchor_;
  size_t at_;  // the anchor's offset in the needle
};

}  // namespace gw::core
