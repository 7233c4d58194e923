#include "gw/core/dotenv.hpp"

#include <gtest/gtest.h>

namespace gw::core {
namespace {

EnvEntries parse_ok(std::string_view text) {
  auto parsed = parse_dotenv(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error());
  return parsed.value_or(EnvEntries{});
}

TEST(Dotenv, PlainValuesCommentsAndBlankLines) {
  auto entries = parse_ok("# comment\n\nA=1\n  B = two  \nC=\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0], (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_EQ(entries[1], (std::pair<std::string, std::string>{"B", "two"}));
  EXPECT_EQ(entries[2], (std::pair<std::string, std::string>{"C", ""}));
}

TEST(Dotenv, ExportPrefix) {
  auto entries = parse_ok("export OPENAI_API_KEY=sk-123\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, "OPENAI_API_KEY");
  EXPECT_EQ(entries[0].second, "sk-123");
}

TEST(Dotenv, InlineCommentNeedsPrecedingSpace) {
  auto entries = parse_ok("URL=http://h/#frag # the comment\nX=a#b\n");
  EXPECT_EQ(entries[0].second, "http://h/#frag");
  EXPECT_EQ(entries[1].second, "a#b");
}

TEST(Dotenv, SingleQuotesAreLiteral) {
  auto entries = parse_ok("A='x # not a comment \\n'\n");
  EXPECT_EQ(entries[0].second, "x # not a comment \\n");
}

TEST(Dotenv, DoubleQuotesHaveEscapesAndMayComeWithAComment) {
  auto entries = parse_ok("A=\"line1\\nline2 \\\"q\\\"\"  # c\n");
  EXPECT_EQ(entries[0].second, "line1\nline2 \"q\"");
}

TEST(Dotenv, DoubleQuotedValueMaySpanLines) {
  auto entries = parse_ok("A=\"one\ntwo\"\nB=3\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].second, "one\ntwo");
  EXPECT_EQ(entries[1].second, "3");
}

TEST(Dotenv, CrlfLineEndings) {
  auto entries = parse_ok("A=1\r\nB=\"2\"\r\n");
  EXPECT_EQ(entries[0].second, "1");
  EXPECT_EQ(entries[1].second, "2");
}

TEST(Dotenv, MalformedLineIsAnErrorNamingTheLine) {
  auto parsed = parse_dotenv("A=1\nthis is not an assignment\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().find("line 2"), std::string::npos) << parsed.error();
}

TEST(Dotenv, UnterminatedQuoteIsAnError) {
  auto parsed = parse_dotenv("A=\"open\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().find("unterminated"), std::string::npos);
}

TEST(Dotenv, MissingFileIsAnErrorNamingThePath) {
  auto parsed = load_dotenv_file("/nonexistent/dir/.env");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().find("/nonexistent/dir/.env"), std::string::npos);
}

}  // namespace
}  // namespace gw::core
