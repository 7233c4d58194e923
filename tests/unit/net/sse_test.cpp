#include "gw/net/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw::net {
namespace {

struct Seen {
  std::string event;
  std::string data;
  std::string id;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> feed_all(SseParser& parser, const std::vector<std::string>& pieces) {
  std::vector<Seen> seen;
  for (const auto& piece : pieces) {
    parser.feed(piece, [&](const SseEvent& e) {
      seen.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
    });
  }
  return seen;
}

TEST(SseParser, OneEventPerBlankLine) {
  SseParser parser;
  auto seen = feed_all(parser, {"data: a\n\ndata: b\n\n"});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].data, "a");
  EXPECT_EQ(seen[1].data, "b");
}

TEST(SseParser, EachEventSaysWhereItEndsInTheRead) {
  SseParser parser;
  std::vector<size_t> ends;
  parser.feed("data: a\n\ndata: b\r\n\r\n: c\n", [&](const SseEvent& e) { ends.push_back(e.end); });
  EXPECT_EQ(ends, (std::vector<size_t>{9, 20}));
}

TEST(SseParser, EventSplitAcrossReadsAtEveryByte) {
  const std::string stream = "event: message_start\ndata: {\"x\":1}\n\ndata: [DONE]\n\n";
  for (size_t split = 0; split <= stream.size(); ++split) {
    SseParser parser;
    auto seen = feed_all(parser, {stream.substr(0, split), stream.substr(split)});
    ASSERT_EQ(seen.size(), 2u) << "split at " << split;
    EXPECT_EQ(seen[0], (Seen{"message_start", "{\"x\":1}", ""}));
    EXPECT_EQ(seen[1].data, "[DONE]");
    EXPECT_EQ(seen[1].event, "");
  }
}

TEST(SseParser, CrLfAndLoneCrLineEndings) {
  SseParser parser;
  auto seen = feed_all(parser, {"data: a\r\n\r\ndata: b\r\rdata: c\r", "\n\r\n"});
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].data, "a");
  EXPECT_EQ(seen[1].data, "b");
  EXPECT_EQ(seen[2].data, "c");
}

TEST(SseParser, AnEmptyReadBetweenCrAndLfKeepsThemOneLineEnd) {
  SseParser parser;
  // Without the carry, "\r" + "" + "\n" would read as two line ends: a blank line dispatching
  // the event early and splitting "data: a\ndata: b" into two events.
  auto seen = feed_all(parser, {"data: a\r", "", "\ndata: b\n\n"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].data, "a\nb");
}

TEST(SseParser, CommentsAreIgnored) {
  SseParser parser;
  auto seen = feed_all(parser, {": ping\n\n:keep-alive\ndata: x\n\n"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].data, "x");
}

TEST(SseParser, MultiLineDataIsJoinedWithNewlines) {
  SseParser parser;
  auto seen = feed_all(parser, {"data: one\ndata:two\ndata\n\n"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].data, "one\ntwo\n");
}

TEST(SseParser, IdAndUnknownFields) {
  SseParser parser;
  auto seen = feed_all(parser, {"id: 7\nretry: 10\nfoo: bar\ndata: d\n\n"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, "7");
  EXPECT_EQ(seen[0].data, "d");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  SseParser parser;
  auto seen = feed_all(parser, {"event: ping\n\ndata: x\n\n"});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].event, "");  // the event name does not leak into the next event
}

TEST(SseParser, PartialEventIsReported) {
  SseParser parser;
  feed_all(parser, {"data: half"});
  EXPECT_TRUE(parser.has_partial());
  feed_all(parser, {"\n\n"});
  EXPECT_FALSE(parser.has_partial());
}

TEST(SseParser, Utf8SplitInsideAMultibyteCharacter) {
  const std::string stream = "data: h\xC3\xA9llo \xF0\x9F\x98\x80\n\n";
  SseParser parser;
  auto seen = feed_all(parser, {stream.substr(0, 9), stream.substr(9, 7), stream.substr(16)});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].data, "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace gw::net

namespace gw::net {
namespace {

TEST(SseParser, FeedEventsEqualsFeedForCompleteEvents) {
  // Bytes that end at an event's end, in every shape: the fast path (one data line, LF LF) and
  // everything it hands to feed().
  const std::vector<std::string> inputs = {
      "data: a\n\n",
      "data:a\n\ndata: b\n\n",
      "data: [DONE]\n\n",
      "data:\n\n",
      "data\n\n",
      ": comment\n\ndata: x\n\n",
      ": comment\ndata: x\n\n",
      "event: delta\ndata: y\n\n",
      "event: ping\n\ndata: z\n\n",
      "id: 7\n\ndata: after id\n\n",
      "data: one\ndata: two\n\ndata: three\n\n",
      "\n\n\ndata: after blank lines\n\n",
      "\ndata: after one\n\n",
      "data: crlf\r\n\r\ndata: lf\n\n",
      "data: cr\r\rdata: lf\n\n",
      "retry: 5\n\ndata: r\n\n",
      "data:  two spaces\n\n",
      "event: ping\ndata: {}\n\n",
      "event:x\ndata:y\n\nevent: a\ndata: b\n\ndata: c\n\n",
      "event: a\nid: 3\ndata: b\n\nevent: c\ndata: d\n\n",
      "event: a\ndata: b\ndata: c\n\n",
      "event: a\n\nevent: b\ndata: c\n\n",
      "event: a\ndata: b\n",
      "event: a\ndata: b\r\n\r\n",
      "event:\ndata:\n\n",
  };
  for (const auto& input : inputs) {
    struct Dispatched {
      Seen seen;
      size_t end;
      bool operator==(const Dispatched&) const = default;
    };
    std::vector<Dispatched> expected;
    std::vector<Dispatched> actual;
    SseParser general;
    general.feed(input, [&](const SseEvent& e) {
      expected.push_back({{std::string(e.event), std::string(e.data), std::string(e.id)}, e.end});
    });
    SseParser fast;
    fast.feed_events(input, [&](const SseEvent& e) {
      actual.push_back({{std::string(e.event), std::string(e.data), std::string(e.id)}, e.end});
    });
    ASSERT_EQ(actual.size(), expected.size()) << input;
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].seen, expected[i].seen) << input << " #" << i;
      EXPECT_EQ(actual[i].end, expected[i].end) << input << " #" << i;
    }
    EXPECT_EQ(fast.has_partial(), general.has_partial()) << input;
  }
}

}  // namespace
}  // namespace gw::net

TEST(FindLineEnd, FirstCrOrLfFromPos) {
  using gw::net::find_line_end;
  constexpr auto npos = std::string_view::npos;
  EXPECT_EQ(find_line_end("abc", 0), npos);
  EXPECT_EQ(find_line_end("", 0), npos);
  EXPECT_EQ(find_line_end("a\nb", 0), 1u);
  EXPECT_EQ(find_line_end("a\nb", 2), npos);
  EXPECT_EQ(find_line_end("a\r\nb", 0), 1u);  // the CR before the LF
  EXPECT_EQ(find_line_end("ab\rc\nd", 0), 2u);
  EXPECT_EQ(find_line_end("a\nb\rc", 2), 3u);  // a CR after the first LF, searched from past it
  EXPECT_EQ(find_line_end("a\n", 5), npos);
}
