#include "gw/api/messages_request.hpp"

#include <gtest/gtest.h>

namespace gw::api {
namespace {

TEST(MessagesRequest, ReadsTheRoutingFieldsAndTheModelsPlace) {
  const std::string body =
      R"({"model": "anthropic/claude", "max_tokens": 1024, "stream": true,
          "messages": [{"role": "user", "content": "hi"}], "system": "be brief"})";
  auto info = inspect_messages_request(body);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "anthropic/claude");
  EXPECT_TRUE(info->stream);
  EXPECT_EQ(body.substr(info->model_begin, info->model_end - info->model_begin),
            R"("anthropic/claude")");
}

TEST(MessagesRequest, RefusesWhatAnthropicRefusesNamingTheField) {
  struct Case {
    std::string body;
    std::string param;
  };
  for (const auto& c : {
           Case{R"({"max_tokens": 1, "messages": []})", "model"},
           Case{R"({"model": "m", "messages": []})", "max_tokens"},
           Case{R"({"model": "m", "max_tokens": 0, "messages": []})", "max_tokens"},
           Case{R"({"model": "m", "max_tokens": 2.5, "messages": []})", "max_tokens"},
           Case{R"({"model": "m", "max_tokens": "9", "messages": []})", "max_tokens"},
           Case{R"({"model": "m", "max_tokens": 1})", "messages"},
           Case{R"({"model": "m", "max_tokens": 1, "messages": {}})", "messages"},
           Case{R"({"model": "m", "max_tokens": 1, "messages": [], "stream": "yes"})", "stream"},
           Case{R"({"model": "m", "max_tokens": 1, "max_tokens": 2, "messages": []})",
                "max_tokens"},
       }) {
    auto info = inspect_messages_request(c.body);
    ASSERT_FALSE(info.has_value()) << c.body;
    EXPECT_EQ(info.error().param, c.param) << c.body;
    EXPECT_EQ(core::http_status(info.error()), 400) << c.body;
  }
  for (const std::string malformed : {"", "[]", R"({"model": "m",)", R"({"model": "m"} x)"}) {
    auto info = inspect_messages_request(malformed);
    ASSERT_FALSE(info.has_value()) << malformed;
    EXPECT_EQ(core::http_status(info.error()), 400) << malformed;
  }
}

TEST(MessagesRequest, ACountHasNoMaxTokensAndTheSameOtherChecks) {
  auto info = inspect_count_tokens_request(R"({"model": "m", "messages": []})");
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->model, "m");
  EXPECT_FALSE(inspect_count_tokens_request(R"({"model": "m"})").has_value());
  EXPECT_FALSE(inspect_count_tokens_request(R"({"messages": []})").has_value());
  EXPECT_FALSE(inspect_messages_request(R"({"model": "m", "messages": []})").has_value());
}

}  // namespace
}  // namespace gw::api
