#pragma once

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

}  // namespace gw::core
