#include "gw/cluster/worker_messages.hpp"

#include <gtest/gtest.h>

namespace gw::cluster {
namespace {

TEST(ParseRegistration, ReadsFieldsWithDefaults) {
  auto registration =
      parse_registration(R"({"worker_id":"w1","model_id":"m","url":"http://h:1","extra":1})");
  ASSERT_TRUE(registration.has_value()) << registration.error().message;
  EXPECT_EQ(registration->worker_id, "w1");
  EXPECT_EQ(registration->model_id, "m");
  EXPECT_EQ(registration->url, "http://h:1");
  EXPECT_EQ(registration->capacity, 10);
  EXPECT_EQ(registration->current_load, 0);
}

TEST(ParseRegistration, RefusesNamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (const auto& c : {
           Case{"[1]", ""},
           Case{R"({"model_id":"m","url":"u"})", "worker_id"},
           Case{R"({"worker_id":"a\nb","model_id":"m","url":"u"})", "worker_id"},
           Case{R"({"worker_id":"w","model_id":"","url":"u"})", "model_id"},
           Case{R"({"worker_id":"w","model_id":"m","url":"u","capacity":0})", "capacity"},
           Case{R"({"worker_id":"w","model_id":"m","url":"u","current_load":-1})", "current_load"},
       }) {
    auto registration = parse_registration(c.body);
    ASSERT_FALSE(registration.has_value()) << c.body;
    EXPECT_EQ(core::http_status(registration.error()), 400) << c.body;
    EXPECT_EQ(registration.error().param, c.param) << c.body;
  }
  const std::string long_id(kMaxIdLength + 1, 'w');
  EXPECT_FALSE(parse_registration(R"({"worker_id":")" + long_id + R"(","model_id":"m","url":"u"})")
                   .has_value());
}

TEST(ParseHeartbeat, DrainingOnlyWhenABoolean) {
  auto plain = parse_heartbeat(R"({"worker_id":"w","current_load":3})");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->current_load, 3);
  EXPECT_FALSE(plain->draining.has_value());
  auto draining = parse_heartbeat(R"({"worker_id":"w","draining":true})");
  ASSERT_TRUE(draining.has_value());
  EXPECT_EQ(draining->draining, std::optional<bool>(true));
  EXPECT_FALSE(parse_heartbeat(R"({"worker_id":"w","draining":"yes"})")->draining.has_value());
  EXPECT_FALSE(parse_heartbeat(R"({"current_load":1})").has_value());
  EXPECT_FALSE(parse_heartbeat("not json").has_value());
}

TEST(CheckedUsage, TwoCountsSeparatedByOneSpace) {
  const auto usage = parse_checked_usage(checked_usage_value({7, 11}));
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 7);
  EXPECT_EQ(usage->completion_tokens, 11);
  EXPECT_EQ(checked_usage_value({7, 11}), "7 11");
  EXPECT_EQ(parse_checked_usage("0 0")->completion_tokens, 0);
  // A count beyond any real one is held to the same bound as a body's.
  EXPECT_EQ(parse_checked_usage("99999999999999 1")->prompt_tokens, api::kMaxTokenCount);
  for (const char* refused : {"", "7", "7 ", " 7 11", "7  11", "7 11 13", "+7 11", "-1 2", "7 x",
                              "7\t11", "99999999999999999999 1"}) {
    EXPECT_FALSE(parse_checked_usage(refused)) << refused;
  }
}
}  // namespace
}  // namespace gw::cluster
