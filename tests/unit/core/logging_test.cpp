#include "gw/core/logging.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gw/core/request_id.hpp"

namespace gw::core {
namespace {

TEST(LogText, EscapesWhatWouldForgeALine) {
  EXPECT_EQ(log_text("gpt-4o"), "gpt-4o");
  EXPECT_EQ(log_text("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(log_text(std::string_view("x\0y", 3)), "x\\u0000y");
  EXPECT_EQ(log_text("q\"\\"), "q\\\"\\\\");
  EXPECT_EQ(log_text("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");  // UTF-8 passes as is
}

TEST(JsonEscape, InvalidUtf8BecomesTheReplacementCharacter) {
  const auto escaped = [](std::string_view text) {
    std::string out;
    append_json_escaped(out, text);
    return out;
  };
  // Valid sequences of every length pass as they are, the largest code point included.
  EXPECT_EQ(escaped("a\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf"),
            "a\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf");
  EXPECT_EQ(escaped("\xc3"), "\\ufffd");                        // cut sequence
  EXPECT_EQ(escaped("\x80x"), "\\ufffdx");                      // stray continuation byte
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");             // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // a UTF-16 surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // above U+10FFFF
  EXPECT_EQ(escaped("\xff"), "\\ufffd");
}

TEST(JsonEscape, EveryByteAtEveryPlaceOfTheWordAtATimeScan) {
  // The scan takes eight bytes a time while none needs care: each byte value, at each offset
  // of a text longer than two words, must come out as the byte-at-a-time rules say.
  const auto expected = [](unsigned char c) -> std::string {
    switch (c) {
      case '"':
        return "\\\"";
      case '\\':
        return "\\\\";
      case '\n':
        return "\\n";
      case '\r':
        return "\\r";
      case '\t':
        return "\\t";
      default:
        break;
    }
    if (c < 0x20) {
      return fmt::format("\\u{:04x}", c);
    }
    return c < 0x80 ? std::string(1, static_cast<char>(c)) : "\\ufffd";  // alone: not UTF-8
  };
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 19; ++at) {
      std::string text(19, 'a');
      text[at] = static_cast<char>(c);
      std::string out = "x";
      append_json_escaped(out, text);
      EXPECT_EQ(out, "x" + std::string(at, 'a') + expected(static_cast<unsigned char>(c)) +
                         std::string(18 - at, 'a'))
          << c << " at " << at;
    }
  }
}

TEST(LogText, BoundsLength) {
  const std::string huge(8 << 20, 'm');
  const std::string logged = log_text(huge);
  EXPECT_LT(logged.size(), kLogTextLimit + 32);
  EXPECT_TRUE(logged.ends_with("...(8388608 bytes)")) << logged.substr(logged.size() - 40);
}

TEST(BoundedText, CutsAtACharacterBoundary) {
  EXPECT_EQ(bounded_text("short"), "short");
  // 'é' is two bytes: a cut after byte 3 would split the second one.
  EXPECT_EQ(bounded_text("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9...(4 bytes)");
  EXPECT_EQ(utf8_prefix("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");
  EXPECT_EQ(utf8_prefix("\xc3\xa9\xc3\xa9", 4), "\xc3\xa9\xc3\xa9");
}

TEST(Via, ThisHopIsAppendedAndRecognised) {
  const std::string first = via_with_this_hop("");
  EXPECT_EQ(first, via_entry());
  EXPECT_TRUE(has_passed_here(first));
  const std::string chained = via_with_this_hop("1.1 proxy.example");
  EXPECT_TRUE(chained.starts_with("1.1 proxy.example, 1.1 llm-gateway-"));
  EXPECT_TRUE(has_passed_here(chained));
  EXPECT_FALSE(has_passed_here("1.1 proxy.example"));
  EXPECT_FALSE(has_passed_here("1.1 llm-gateway-0000000000000000"));  // another gateway's
  EXPECT_FALSE(has_passed_here(""));
}

}  // namespace
}  // namespace gw::core
