#include "gw/providers/common/message_parts.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "gw/providers/common/unsupported_field.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

TEST(MessageParts, ImageUrlIsReadFromEitherShape) {
  EXPECT_EQ(image_url_of(json::parse(R"({"image_url":{"url":"https://x/a.png"}})").as_object()),
            "https://x/a.png");
  EXPECT_EQ(image_url_of(json::parse(R"({"image_url":"data:image/png;base64,AA"})").as_object()),
            "data:image/png;base64,AA");
  for (const char* part : {R"({})", R"({"image_url":null})", R"({"image_url":{"url":3}})",
                           R"({"image_url":{}})", R"({"image_url":[]})"}) {
    EXPECT_FALSE(image_url_of(json::parse(part).as_object())) << part;
  }
}

TEST(MessageParts, OnlyBase64DataUrlsAreSplit) {
  const auto png = base64_data_url("data:image/png;base64,iVBORw0KGgo=");
  ASSERT_TRUE(png);
  EXPECT_EQ(png->media_type, "image/png");
  EXPECT_EQ(png->data, "iVBORw0KGgo=");
  const auto bare = base64_data_url("data:;base64,AA");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->media_type, "");
  for (const char* url : {"https://x/a.png", "data:image/png,AAAA", "data:image/png;base64",
                          "DATA:image/png;base64,AA", ""}) {
    EXPECT_FALSE(base64_data_url(url)) << url;
  }
}

TEST(MessageParts, ToolCallArgumentsAreTheObjectTheyEncode) {
  const json::value text = "{\"city\":\"Paris\",\"days\":[1,2]}";
  const auto parsed = tool_call_arguments(&text, "p");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(json::serialize(*parsed), R"({"city":"Paris","days":[1,2]})");
  // Absent, empty or not text: no arguments.
  const json::value empty = "";
  const json::value number = 3;
  for (const json::value* none : {static_cast<const json::value*>(nullptr), &empty, &number}) {
    const auto object = tool_call_arguments(none, "p");
    ASSERT_TRUE(object);
    EXPECT_EQ(json::serialize(*object), "{}");
  }
  for (const char* bad : {"[1]", "\"x\"", "{\"a\":", "null"}) {
    const json::value arguments = bad;
    const auto refused =
        tool_call_arguments(&arguments, "messages[1].tool_calls[0].function.arguments");
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().errc, core::Errc::kInvalidRequest);
    EXPECT_EQ(refused.error().param, "messages[1].tool_calls[0].function.arguments");
  }
}

TEST(Refusals, AnUnsupportedFieldIsNamedAndBounded) {
  const auto error = unsupported_field("logit_bias", "the anthropic provider");
  EXPECT_EQ(error.errc, core::Errc::kInvalidRequest);
  EXPECT_EQ(error.message, "'logit_bias' is not supported by the anthropic provider");
  EXPECT_EQ(error.param, "logit_bias");
  const auto long_name = unsupported_field(std::string(10'000, 'k'), "the ollama provider");
  EXPECT_LT(long_name.message.size(), 200u);
  EXPECT_LT(long_name.param.size(), 100u);
}

}  // namespace
}  // namespace gw::providers
