#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace gw::providers {

// A response header by name (case-insensitive); empty when absent.
using HeaderLookup = std::function<std::string_view(std::string_view)>;

// How long an upstream's refusal (429, 503) asks the client to wait, in whole seconds as the text
// of a Retry-After header: its own Retry-After (delta-seconds, or an HTTP date converted at
// `now`), else retry-after-ms, else OpenAI's x-ratelimit-reset-requests / -tokens (durations such
// as "1s", "6m0s", "20ms": the limit whose remaining count is 0, else the sooner), else
// Anthropic's anthropic-ratelimit-*-reset (RFC 3339 times: the latest of the limits whose
// remaining count is 0). Empty when the response says nothing usable. At most a day.
std::string retry_after_of(const HeaderLookup& header, std::chrono::system_clock::time_point now =
                                                           std::chrono::system_clock::now());

// Retry-After text (delta-seconds) as a duration, at most a day; none when it is not a whole
// number of seconds.
std::optional<std::chrono::seconds> retry_after_seconds(std::string_view text);

}  // namespace gw::providers
