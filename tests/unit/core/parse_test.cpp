#include "gw/core/parse.hpp"

#include <gtest/gtest.h>

#include <string>

using gw::core::Substring;

TEST(Substring, FindsTheNeedleAnywhereAndOnlyIt) {
  const Substring usage(R"("usage":{)", 'g');
  EXPECT_TRUE(usage.in(R"({"choices":[],"usage":{"prompt_tokens":1}})"));
  EXPECT_TRUE(usage.in(R"("usage":{)"));
  EXPECT_FALSE(usage.in(R"({"usage":null})"));
  EXPECT_FALSE(usage.in(R"("usage":)"));
  EXPECT_FALSE(usage.in(""));
  // Every position, including the last possible one, and near misses around it.
  std::string text(300, 'x');
  for (size_t at = 0; at + 9 <= text.size(); at += 7) {
    std::string probe = text;
    probe.replace(at, 9, R"("usage":{)");
    EXPECT_TRUE(usage.in(probe)) << at;
    probe[at + 8] = '[';
    EXPECT_FALSE(usage.in(probe)) << at;
  }
  // Anchors at the very start and end of the text, and a needle longer than the text.
  EXPECT_FALSE(usage.in("g"));
  EXPECT_FALSE(usage.in(R"(ge":{)"));
  EXPECT_FALSE(usage.in(R"("usa)"));
  const Substring first_byte(R"("usage":{)", '"');  // the anchor is the needle's first byte
  EXPECT_TRUE(first_byte.in(R"(x"usage":{)"));
  EXPECT_FALSE(first_byte.in(R"(x"usage":[)"));
}

TEST(Substring, RfindGivesTheLastOccurrence) {
  const Substring usage(R"("usage":)", 'g');
  EXPECT_EQ(usage.rfind(R"({"usage":1,"usage":2})"), 11U);
  EXPECT_EQ(usage.rfind(R"("usage":)"), 0U);
  EXPECT_EQ(usage.rfind(R"({"usage" :1})"), std::string_view::npos);
  EXPECT_EQ(usage.rfind("g"), std::string_view::npos);
  EXPECT_EQ(usage.rfind(""), std::string_view::npos);
  // Every position, near misses after it, and anchors that cannot start a match at both ends.
  std::string text(300, 'g');
  for (size_t at = 0; at + 8 <= text.size(); at += 7) {
    std::string probe = text;
    probe.replace(at, 8, R"("usage":)");
    EXPECT_EQ(usage.rfind(probe), at);
    probe[at + 7] = ';';
    EXPECT_EQ(usage.rfind(probe), std::string_view::npos) << at;
  }
  const Substring first_byte(R"("usage":)", '"');
  EXPECT_EQ(first_byte.rfind(R"("usage":"usage")"), 0U);
}

TEST(AsciiLower, LettersOnlyAndNeverByLocale) {
  EXPECT_EQ(gw::core::ascii_lower("HTTP://Groq-API_1.Com"), "http://groq-api_1.com");
  EXPECT_EQ(gw::core::ascii_lower(""), "");
  EXPECT_EQ(gw::core::ascii_lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // UTF-8 untouched
}
