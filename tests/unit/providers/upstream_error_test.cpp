#include <gtest/gtest.h>

#include "gw/providers/provider.hpp"

namespace gw::providers {
namespace {

TEST(MapUpstreamError, ClientErrorsKeepStatusAndMessage) {
  auto error = map_upstream_error(
      "openai", 400,
      R"({"error":{"message":"bad tools","type":"invalid_request_error","param":"tools","code":"x"}})",
      "");
  EXPECT_EQ(core::http_status(error), 400);
  EXPECT_EQ(error.message, "bad tools");
  EXPECT_EQ(error.param, "tools");
  EXPECT_EQ(core::error_code(error), "x");
  EXPECT_EQ(core::http_status(map_upstream_error("openai", 401, "{}", "")), 401);
  EXPECT_EQ(core::http_status(map_upstream_error("openai", 404, "", "")), 404);
}

TEST(MapUpstreamError, RateLimitKeepsRetryAfter) {
  auto error = map_upstream_error("openai", 429, R"({"error":{"message":"slow down"}})", "7");
  EXPECT_EQ(core::http_status(error), 429);
  EXPECT_EQ(error.retry_after, "7");
  EXPECT_EQ(error.message, "slow down");
}

TEST(MapUpstreamError, ServerErrorsBecome502) {
  for (int status : {500, 502, 503, 504}) {
    auto error = map_upstream_error("openai", status, R"({"error":{"message":"boom"}})", "");
    EXPECT_EQ(core::http_status(error), 502) << status;
    EXPECT_NE(error.message.find("boom"), std::string::npos);
    EXPECT_NE(error.message.find(std::to_string(status)), std::string::npos);
  }
}

TEST(MapUpstreamError, NonJsonBodiesAreQuoted) {
  auto error = map_upstream_error("ollama", 400, "plain text failure", "");
  EXPECT_NE(error.message.find("plain text failure"), std::string::npos);
  auto string_error = map_upstream_error("ollama", 404, R"({"error":"model 'x' not found"})", "");
  EXPECT_EQ(string_error.message, "model 'x' not found");
}

}  // namespace
}  // namespace gw::providers
