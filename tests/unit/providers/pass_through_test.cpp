#include <gtest/gtest.h>

#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

TEST(LastEventEnd, FindsTheEndOfTheLastCompleteEvent) {
  EXPECT_EQ(last_event_end(""), 0u);
  EXPECT_EQ(last_event_end("data: a"), 0u);
  EXPECT_EQ(last_event_end("data: a\n\ndata: b"), 9u);
  EXPECT_EQ(last_event_end("data: a\r\n\r\n"), 11u);
  EXPECT_EQ(last_event_end("data: a\r\rdata"), 9u);
  // Mixed line ends (the fuzzer's pass_through/crash-lf-then-cr-blank-line): LF then CRLF, LF
  // then CR, CRLF then LF, CR then CRLF.
  EXPECT_EQ(last_event_end("data: a\n\r\ndata"), 10u);
  EXPECT_EQ(last_event_end("data: a\n\rdata"), 9u);
  EXPECT_EQ(last_event_end("data: a\r\n\ndata"), 10u);
  EXPECT_EQ(last_event_end("data: a\r\r\ndata"), 10u);
  EXPECT_EQ(last_event_end("data: a\r\ndata"), 0u);  // one CRLF is one line end
}

TEST(PassThrough, RelaysOnlyWholeEventsAndSeesDone) {
  const std::string stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
  for (size_t split = 0; split <= stream.size(); ++split) {
    auto relay = make_pass_through();
    std::string out;
    for (std::string_view piece :
         {std::string_view(stream).substr(0, split), std::string_view(stream).substr(split)}) {
      auto ready = relay->feed(piece);
      ASSERT_TRUE(ready.has_value());
      // Whatever is relayed ends at an event boundary.
      EXPECT_TRUE(ready->empty() || ready->ends_with("\n\n")) << "split " << split;
      out += *ready;
    }
    EXPECT_EQ(out, stream) << "split " << split;
    EXPECT_TRUE(relay->finished());
  }
}

TEST(LastEventEnd, LooksOnlyPastWhatWasScanned) {
  // A blank line that begins before `from` but ends after it is found ("\r\n" | "\r\n").
  EXPECT_EQ(last_event_end("data: a\r\n\r\n", 9), 11u);
  EXPECT_EQ(last_event_end("data: a\n\ndata: b", 12), 0u);  // not scanned again
  EXPECT_EQ(last_event_end("data: a\n\ndata: b\n\n", 12), 18u);
}

TEST(PassThrough, EventsSplitByteByByteComeOutWhole) {
  const std::string stream = "data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\ndata: [DONE]\r\r";
  auto relay = make_pass_through();
  std::string out;
  for (char c : stream) {
    auto ready = relay->feed(std::string_view(&c, 1));
    ASSERT_TRUE(ready.has_value());
    out += *ready;
  }
  EXPECT_EQ(out, stream);
  EXPECT_TRUE(relay->finished());
  EXPECT_EQ(relay->buffered(), 0u);
}

TEST(PassThrough, ReportsTheBytesOfAnUnfinishedEvent) {
  // What the relay bounds (MAX_STREAM_EVENT_BYTES): an event that never ends is held, not sent.
  auto relay = make_pass_through();
  ASSERT_TRUE(relay->feed("data: {\"a\":1}\n\ndata: ").has_value());
  const std::string piece(1 << 16, 'x');
  for (int i = 0; i < 64; ++i) {
    auto ready = relay->feed(piece);
    ASSERT_TRUE(ready.has_value());
    EXPECT_TRUE(ready->empty());
  }
  EXPECT_EQ(relay->buffered(), 6u + 64 * piece.size());
}

TEST(PassThrough, NothingAfterDoneIsRelayed) {
  for (bool strip : {false, true}) {
    auto relay = make_pass_through(strip);
    auto out = relay->feed("data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\ndata: {\"after\":1}\n\n");
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(relay->finished());
    EXPECT_EQ(out->find("after"), std::string_view::npos) << *out;
    EXPECT_TRUE(out->ends_with("[DONE]\r\n\r\n") || out->ends_with("[DONE]\n\n")) << *out;
    auto later = relay->feed("data: {\"later\":1}\n\n");
    ASSERT_TRUE(later.has_value());
    EXPECT_TRUE(later->empty());
  }
}

TEST(PassThrough, NotFinishedWithoutDone) {
  auto relay = make_pass_through();
  auto ready = relay->feed("data: {\"a\":1}\n\n");
  ASSERT_TRUE(ready.has_value());
  EXPECT_FALSE(relay->finished());
}

TEST(PassThrough, NonStreamingBodyIsUnchanged) {
  auto relay = make_pass_through();
  auto body = relay->complete(R"({"id":"x"})");
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, R"({"id":"x"})");
}

TEST(OpenAICompatible, SplicesOnlyTheModelName) {
  OpenAICompatibleProvider provider({"openai", *net::Endpoint::parse("https://h/v1"), "sk-1"});
  std::string body = R"({"model":"openai/gpt-4o","messages":[{"role":"user"}],"x":{"y":1}})";
  auto info = api::inspect_chat_request(body);
  ASSERT_TRUE(info.has_value());
  std::string upstream_model = "gpt-4o";
  auto prepared = provider.prepare_chat({body, *info, upstream_model, "rid"});
  ASSERT_TRUE(prepared.has_value());
  std::string sent;
  for (auto part : prepared->request.body) {
    sent += part;
  }
  EXPECT_EQ(sent, R"({"model":"gpt-4o","messages":[{"role":"user"}],"x":{"y":1}})");
  EXPECT_EQ(prepared->request.path, "/v1/chat/completions");
  bool has_auth = false;
  for (const auto& h : prepared->request.headers) {
    has_auth |= h.name == "authorization" && h.value == "Bearer sk-1";
  }
  EXPECT_TRUE(has_auth);
}

TEST(PassThrough, TheStrippedUsageChunkTakesItsEventLineButLeavesIds) {
  // The usage chunk the gateway asked for goes, with its own `event:` line (left behind, it would
  // name the next event: a fuzzer finding); an `id:` line stays, which later events inherit.
  const std::string usage =
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})";
  const std::string next = "data: [DONE]\n\n";
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"event: done\ndata: " + usage + "\n\n" + next, next},
      {"data: " + usage + "\n\n" + next, next},
      {"id: 7\n\ndata: " + usage + "\n\n" + next, "id: 7\n\n" + next},
      {"id: 7\ndata: " + usage + "\n\n" + next, "id: 7\n\n" + next},
      {"data: " + usage + "\r\n\r\n" + next, next},
  };
  for (const auto& c : cases) {
    auto relay = make_pass_through(true);
    auto out = relay->feed(c.in);
    ASSERT_TRUE(out) << c.in;
    EXPECT_EQ(*out, c.out) << c.in;
    EXPECT_EQ(relay->usage().prompt_tokens, 2) << c.in;
  }
}

TEST(PassThrough, NotesAnErrorEventRelayedFromUpstream) {
  auto relay = make_pass_through();
  auto out = relay->feed("data: {\"id\":1}\n\ndata: {\"error\":{\"message\":\"cut\"}}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(relay->relayed_error());
  EXPECT_FALSE(relay->finished());
  auto plain = make_pass_through();
  ASSERT_TRUE(plain->feed("data: {\"id\":1}\n\n").has_value());
  EXPECT_FALSE(plain->relayed_error());
}

TEST(OpenAICompatible, ParsesModelListsAndLatestAliases) {
  OpenAICompatibleProvider provider(
      {"ollama", *net::Endpoint::parse("http://h:11434/v1"), "", true});
  auto models = provider.parse_models(
      R"({"object":"list","data":[{"id":"llama3:latest","created":5},{"id":"qwen:7b"},{"x":1}]})");
  ASSERT_TRUE(models.has_value());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].created, 5);
  EXPECT_EQ(provider.aliases("llama3:latest"), std::vector<std::string>{"llama3"});
  EXPECT_TRUE(provider.aliases("qwen:7b").empty());
  EXPECT_FALSE(provider.parse_models("[]").has_value());
}

}  // namespace
}  // namespace gw::providers
