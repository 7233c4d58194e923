// providers::retry_after_of and retry_after_seconds (gw/providers/common/retry_after.hpp) on an
// upstream's refusal headers: Retry-After, retry-after-ms, OpenAI's x-ratelimit-* and Anthropic's
// anthropic-ratelimit-* values.
//
// The input is split into the header values at newlines. Checks: no crash or sanitizer report;
// what the gateway passes on as Retry-After is empty or a whole number of seconds from 0 to a day,
// which retry_after_seconds reads back as the same ("retry_after_bounded").

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "gw/providers/common/retry_after.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gw::fuzz;
  static constexpr std::string_view kNames[] = {"retry-after",
                                                "retry-after-ms",
                                                "x-ratelimit-reset-requests",
                                                "x-ratelimit-reset-tokens",
                                                "x-ratelimit-remaining-requests",
                                                "x-ratelimit-remaining-tokens"};
  std::vector<std::string_view> values;
  std::string_view input = as_view(data, size);
  while (values.size() < std::size(kNames)) {
    const size_t end = input.find('\n');
    values.push_back(input.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    input.remove_prefix(end + 1);
  }
  const auto header = [&](std::string_view name) -> std::string_view {
    for (size_t i = 0; i < values.size(); ++i) {
      if (kNames[i] == name) {
        return values[i];
      }
    }
    return {};
  };
  // A fixed "now": the same input always gives the same answer.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  const std::string text = gw::providers::retry_after_of(header, now);
  if (text.empty()) {
    return 0;
  }
  const auto seconds = gw::providers::retry_after_seconds(text);
  GW_FUZZ_CHECK(seconds && seconds->count() >= 0 && seconds->count() <= 86400 &&
                    std::to_string(seconds->count()) == text,
                "retry_after_bounded", printable(text));
  return 0;
}
