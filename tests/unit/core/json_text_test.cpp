#include "gw/core/json_text.hpp"

#include <gtest/gtest.h>

#include <string>

using gw::core::json_string_token_length;

TEST(JsonStringToken, LengthOfAWellFormedToken) {
  EXPECT_EQ(json_string_token_length(R"("")"), 2u);
  EXPECT_EQ(json_string_token_length(R"("abc"}})"), 5u);
  EXPECT_EQ(json_string_token_length(R"("a\"b")"), 6u);
  EXPECT_EQ(json_string_token_length(R"("\\\/\b\f\n\r\t")"), 16u);
  EXPECT_EQ(json_string_token_length(R"("\u00e9\uD83D\uDE00")"), 20u);
  EXPECT_EQ(json_string_token_length("\"caf\xC3\xA9 \xF0\x9F\x98\x80\""), 12u);
}

TEST(JsonStringToken, ZeroForAnythingElse) {
  for (const std::string& bad :
       {std::string(), std::string("abc"), std::string(R"("abc)"), std::string(R"("\x")"),
        std::string(R"("\u00g0")"), std::string(R"("\u00")"), std::string("\"a\\"),
        std::string("\"tab\there\""), std::string("\"nul\0\"", 6), std::string("\"\xC3\""),
        std::string("\"\xED\xA0\x80\""), std::string("\"\xC0\xAF\""), std::string("\"\xFF\""),
        std::string(R"("\ud800")"), std::string(R"("\udc00")"), std::string(R"("\ud800\u0041")"),
        std::string(R"("\ud800x")")}) {
    EXPECT_EQ(json_string_token_length(bad), 0u) << bad;
  }
}
