#include "gw/core/parse.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

namespace gw::core {

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> parse_seconds(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value) || value <= 0 || value > 1e7) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(value * 1000.0))));
}

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return lower;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string lower = ascii_lower(text);
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
    return true;
  }
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") {
    return false;
  }
  return std::nullopt;
}

std::optional<uint16_t> parse_port_text(std::string_view text) {
  auto value = parse_int(text);
  if (!value || *value < 1 || *value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(*value);
}

tl::expected<std::string, std::string> normalize_http_url(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url) {
    return tl::unexpected(std::string("not an absolute URL"));
  }
  if (url->scheme() != "http" && url->scheme() != "https") {
    return tl::unexpected(std::string("the scheme must be http or https"));
  }
  if (url->encoded_host().empty()) {
    return tl::unexpected(std::string("the URL has no host"));
  }
  if (url->has_port() && !parse_port_text(url->port())) {
    return tl::unexpected(std::string("the URL has an invalid port"));
  }
  if (url->has_query() || url->has_fragment()) {
    return tl::unexpected(std::string("the URL must not have a query or fragment"));
  }
  if (url->has_userinfo()) {
    return tl::unexpected(std::string("credentials in the URL are not supported"));
  }
  std::string out(text);
  if (!out.empty() && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) {
      comma = text.size();
    }
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())) != 0) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())) != 0) {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      out.emplace_back(item);
    }
    pos = comma + 1;
  }
  return out;
}

bool Substring::in(std::string_view text) const {
  if (text.size() < needle_.size()) {
    return false;
  }
  // Anchors that can start a match lie in [at_, size - (needle size - at_)].
  const char* next = text.data() + at_;
  const char* const last = text.data() + text.size() - (needle_.size() - at_);
  while (next <= last) {
    const auto* hit =
        static_cast<const char*>(std::memchr(next, anchor_, static_cast<size_t>(last - next) + 1));
    if (hit == nullptr) {
      return false;
    }
    if (std::memcmp(hit - at_, needle_.data(), needle_.size()) == 0) {
      return true;
    }
    next = hit + 1;
  }
  return false;
}

size_t Substring::rfind(std::string_view text) const {
  if (text.size() < needle_.size()) {
    return std::string_view::npos;
  }
  const char* const first = text.data() + at_;
  size_t left = text.size() - needle_.size() + 1;  // anchors that can start a match: [first, +left)
  while (left > 0) {
    const auto* hit = static_cast<const char*>(memrchr(first, anchor_, left));
    if (hit == nullptr) {
      return std::string_view::npos;
    }
    if (std::memcmp(hit - at_, needle_.data(), needle_.size()) == 0) {
      return static_cast<size_t>(hit - at_ - text.data());
    }
    left = static_cast<size_t>(hit - first);
  }
  return std::string_view::npos;
}

}  // namespace gw::core
