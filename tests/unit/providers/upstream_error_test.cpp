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

TEST(MapUpstreamError, TheQuotedExcerptIsCutBetweenCharactersAndStaysValidJson) {
  // The fuzzer's upstream_error/crash-excerpt-cuts-utf8: 511 ASCII bytes, then 'é' across the
  // 512-byte cut; and a body that is not UTF-8 at all.
  const std::string body = std::string(511, 'x') + "\xc3\xa9 and more";
  auto error = map_upstream_error("ollama", 400, body, "");
  EXPECT_TRUE(error.message.ends_with(std::string(511, 'x'))) << error.message;
  const std::string json = core::error_json(map_upstream_error("ollama", 400, "\xff\xfe", ""));
  EXPECT_NE(json.find("\\ufffd\\ufffd"), std::string::npos) << json;
}

}  // namespace
}  // namespace gw::providers
