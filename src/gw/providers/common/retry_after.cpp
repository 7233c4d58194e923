#include "gw/providers/common/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <optional>

#include "gw/core/parse.hpp"

namespace gw::providers {
namespace {

using Seconds = std::chrono::duration<double>;

std::optional<double> number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0) {
    return std::nullopt;
  }
  return value;
}

// A Go duration as OpenAI's rate-limit headers write it: "1s", "6m0s", "1h2m3.5s", "20ms".
std::optional<Seconds> go_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    const auto value = number(text.substr(start, i - start));
    if (!value) {
      return std::nullopt;
    }
    const size_t unit_start = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') {
      ++i;
    }
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "h") {
      total += *value * 3600;
    } else if (unit == "m") {
      total += *value * 60;
    } else if (unit == "s") {
      total += *value;
    } else if (unit == "ms") {
      total += *value / 1000;
    } else {
      return std::nullopt;
    }
  }
  return Seconds(total);
}

// An HTTP date (IMF-fixdate, RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT", in seconds since
// the epoch (not a time_point: a date centuries ahead overflows the clock's nanoseconds, which a
// fuzzer found).
std::optional<std::time_t> http_date(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return timegm(&tm);
}

// An RFC 3339 time as Anthropic's rate-limit reset headers write it: "2024-05-01T12:00:30Z", with
// an optional fraction of a second and a `Z` or numeric offset; seconds since the epoch.
std::optional<double> rfc3339_time(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* rest = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return std::nullopt;
  }
  double when = static_cast<double>(timegm(&tm));
  if (*rest == '.') {
    const char* digits = ++rest;
    while (*rest >= '0' && *rest <= '9') {
      ++rest;
    }
    const auto fraction = number(std::string("0.").append(digits, rest));
    if (rest == digits || !fraction) {
      return std::nullopt;
    }
    when += *fraction;
  }
  const std::string_view zone(rest);
  if (zone == "Z" || zone == "z") {
    return when;
  }
  // +HH:MM or -HH:MM: the local time is that far ahead of (behind) UTC.
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
    return std::nullopt;
  }
  const auto hours = number(zone.substr(1, 2));
  const auto minutes = number(zone.substr(4, 2));
  if (!hours || !minutes || *hours > 23 || *minutes > 59) {
    return std::nullopt;
  }
  const double offset = *hours * 3600 + *minutes * 60;
  return zone[0] == '+' ? when - offset : when + offset;
}

// At most a day: what a header says is not trusted to be sane.
std::string whole_seconds(Seconds wait) {
  constexpr double kDay = 86400;
  return std::to_string(static_cast<int64_t>(std::ceil(std::clamp(wait.count(), 0.0, kDay))));
}

// Anthropic's rate-limit headers (it sends Retry-After with its 429s, these as well): of the
// limits whose remaining count is 0, the latest reset.
std::string anthropic_reset(const HeaderLookup& header, std::chrono::system_clock::time_point now) {
  static constexpr std::string_view kLimits[] = {"requests", "tokens", "input-tokens",
                                                 "output-tokens"};
  std::optional<double> latest;
  for (const std::string_view limit : kLimits) {
    const std::string prefix = std::string("anthropic-ratelimit-").append(limit);
    if (header(prefix + "-remaining") != "0") {
      continue;
    }
    if (const auto reset = rfc3339_time(header(prefix + "-reset"))) {
      latest = std::max(latest.value_or(*reset), *reset);
    }
  }
  if (!latest) {
    return {};
  }
  return whole_seconds(
      Seconds(*latest - static_cast<double>(std::chrono::system_clock::to_time_t(now))));
}

}  // namespace

std::optional<std::chrono::seconds> retry_after_seconds(std::string_view text) {
  const auto seconds = core::parse_int(text);
  if (!seconds || *seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::min<int64_t>(*seconds, 86400));  // at most a day
}

std::string retry_after_of(const HeaderLookup& header, std::chrono::system_clock::time_point now) {
  const std::string_view retry_after = header("retry-after");
  if (auto seconds = retry_after_seconds(retry_after)) {
    return std::to_string(seconds->count());
  }
  if (auto date = http_date(retry_after)) {
    return whole_seconds(Seconds(static_cast<double>(*date) -
                                 static_cast<double>(std::chrono::system_clock::to_time_t(now))));
  }
  if (const auto milliseconds = number(header("retry-after-ms"))) {
    return whole_seconds(Seconds(*milliseconds / 1000));
  }
  const auto requests = go_duration(header("x-ratelimit-reset-requests"));
  const auto tokens = go_duration(header("x-ratelimit-reset-tokens"));
  if (requests && header("x-ratelimit-remaining-requests") == "0") {
    return whole_seconds(*requests);
  }
  if (tokens && header("x-ratelimit-remaining-tokens") == "0") {
    return whole_seconds(*tokens);
  }
  if (requests || tokens) {
    return whole_seconds(
        std::min(requests.value_or(Seconds::max()), tokens.value_or(Seconds::max())));
  }
  return anthropic_reset(header, now);
}

}  // namespace gw::providers
