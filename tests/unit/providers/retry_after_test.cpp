#include "gw/providers/common/retry_after.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gw::providers {
namespace {

std::string retry_after(std::map<std::string, std::string, std::less<>> headers) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37 UTC
  return retry_after_of(
      [&](std::string_view name) -> std::string_view {
        auto it = headers.find(name);
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
      },
      now);
}

TEST(RetryAfter, TheUpstreamsOwnHeaderFirst) {
  EXPECT_EQ(retry_after({{"retry-after", "2"}, {"x-ratelimit-reset-requests", "9s"}}), "2");
  EXPECT_EQ(retry_after({{"retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"}}), "30");
  EXPECT_EQ(retry_after({{"retry-after-ms", "1500"}}), "2");
}

TEST(RetryAfter, AnthropicsResetTimesOfTheExhaustedLimits) {
  // RFC 3339 times, as Anthropic's rate-limit headers give them: the latest of the limits at 0.
  EXPECT_EQ(retry_after({{"anthropic-ratelimit-requests-remaining", "0"},
                         {"anthropic-ratelimit-requests-reset", "1994-11-06T08:50:07Z"},
                         {"anthropic-ratelimit-output-tokens-remaining", "0"},
                         {"anthropic-ratelimit-output-tokens-reset", "1994-11-06T08:50:37.5Z"},
                         {"anthropic-ratelimit-tokens-remaining", "5000"},
                         {"anthropic-ratelimit-tokens-reset", "1994-11-06T08:59:37Z"}}),
            "61");
  EXPECT_EQ(retry_after({{"anthropic-ratelimit-input-tokens-remaining", "0"},
                         {"anthropic-ratelimit-input-tokens-reset", "1994-11-06T09:50:07+01:00"}}),
            "30");
  // Its own Retry-After first; a limit not exhausted, or a time that is not RFC 3339, says nothing.
  EXPECT_EQ(retry_after({{"retry-after", "4"},
                         {"anthropic-ratelimit-requests-remaining", "0"},
                         {"anthropic-ratelimit-requests-reset", "1994-11-06T08:50:07Z"}}),
            "4");
  EXPECT_EQ(retry_after({{"anthropic-ratelimit-requests-remaining", "3"},
                         {"anthropic-ratelimit-requests-reset", "1994-11-06T08:50:07Z"}}),
            "");
  EXPECT_EQ(retry_after({{"anthropic-ratelimit-requests-remaining", "0"},
                         {"anthropic-ratelimit-requests-reset", "1994-11-06 08:50:07"}}),
            "");
}

TEST(RetryAfter, DatesFarAheadOrPastAreBounded) {
  // Centuries ahead overflowed the clock's nanoseconds (a fuzzer finding): a day at most.
  EXPECT_EQ(retry_after({{"retry-after", "Wed, 21 Oct 2825 07:56:00 GMT"}}), "86400");
  EXPECT_EQ(retry_after({{"retry-after", "Sat, 06 Nov 1993 08:50:07 GMT"}}), "0");
}

TEST(RetryAfter, OpenAIsResetHeaders) {
  EXPECT_EQ(retry_after({{"x-ratelimit-reset-requests", "6m0s"},
                         {"x-ratelimit-remaining-requests", "0"},
                         {"x-ratelimit-reset-tokens", "20ms"}}),
            "360");
  EXPECT_EQ(retry_after({{"x-ratelimit-reset-requests", "1h2m3.5s"},
                         {"x-ratelimit-reset-tokens", "1.2s"},
                         {"x-ratelimit-remaining-tokens", "0"}}),
            "2");
  EXPECT_EQ(
      retry_after({{"x-ratelimit-reset-requests", "3s"}, {"x-ratelimit-reset-tokens", "20ms"}}),
      "1");  // neither exhausted: the sooner
}

TEST(RetryAfter, AtMostADay) {
  EXPECT_EQ(retry_after({{"retry-after", "99999999999"}}), "86400");
  EXPECT_EQ(retry_after({{"retry-after-ms", "1e300"}}), "86400");
  EXPECT_EQ(retry_after({{"x-ratelimit-reset-requests", "99999999h"}}), "86400");
  EXPECT_EQ(retry_after_seconds("99999999999"), std::chrono::seconds(86400));
}

TEST(RetryAfter, NothingUsable) {
  EXPECT_EQ(retry_after({}), "");
  EXPECT_EQ(retry_after({{"retry-after", "soon"}, {"x-ratelimit-reset-requests", "1d"}}), "");
  EXPECT_FALSE(retry_after_seconds("-1"));
  EXPECT_EQ(retry_after_seconds("7"), std::chrono::seconds(7));
}

}  // namespace
}  // namespace gw::providers
