// The relay of Anthropic's own Messages answers (POST /v1/messages passed through), against the
// transcripts of Anthropic's documentation (tests/fixtures/anthropic).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gw/providers/messages.hpp"

namespace gw::providers {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(GW_FIXTURES_DIR) + "/anthropic/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Feeds `transcript` split at `split` (two pieces); the bytes relayed.
std::string relay_split(ResponseTranslator& relay, std::string_view transcript, size_t split) {
  std::string out;
  for (std::string_view piece : {transcript.substr(0, split), transcript.substr(split)}) {
    auto sent = relay.feed(piece);
    EXPECT_TRUE(sent.has_value());
    out.append(sent.value_or(std::string_view()));
  }
  return out;
}

TEST(MessagesPassThrough, TheDocsStreamIsRelayedUnchangedWhereverItIsSplit) {
  const std::string transcript = fixture("stream_text_tool_use.sse");
  for (size_t split = 0; split <= transcript.size(); ++split) {
    const auto relay = make_messages_pass_through();
    ASSERT_EQ(relay_split(*relay, transcript, split), transcript) << split;
    ASSERT_TRUE(relay->finished()) << split;
    EXPECT_EQ(relay->stream_error(), nullptr);
    EXPECT_EQ(relay->usage().prompt_tokens, 472) << split;     // message_start
    EXPECT_EQ(relay->usage().completion_tokens, 89) << split;  // the last message_delta
    EXPECT_EQ(relay->buffered(), 0u);
  }
}

TEST(MessagesPassThrough, NothingAfterMessageStopIsRelayed) {
  const std::string transcript = fixture("stream_text_tool_use.sse");
  const auto relay = make_messages_pass_through();
  const std::string input = transcript + "event: ping\ndata: {\"type\":\"ping\"}\n\n";
  auto sent = relay->feed(input);  // (a view into the input: it must outlive the check)
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(*sent, transcript);
  EXPECT_EQ(relay->feed("event: ping\ndata: {}\n\n").value(), "");
}

TEST(MessagesPassThrough, AnErrorEventIsRelayedAndIsTheStreamsError) {
  // The documented mid-stream error (Messages streaming, "Error events").
  const std::string start =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
      "{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n";
  const std::string error =
      "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
      "\"message\": \"Overloaded\"}}\n\n";
  const auto relay = make_messages_pass_through();
  const std::string input = start + error;
  EXPECT_EQ(relay->feed(input).value(), input);
  EXPECT_TRUE(relay->finished());
  EXPECT_TRUE(relay->relayed_error());
  ASSERT_NE(relay->stream_error(), nullptr);
  EXPECT_EQ(core::anthropic_error_type(*relay->stream_error()), "overloaded_error");
  EXPECT_EQ(relay->usage().prompt_tokens, 15);  // cached prompt tokens belong to the prompt
}

TEST(MessagesPassThrough, ChatsDoneIsNotRelayedButEndsTheStreamWithAnError) {
  const std::string start =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n";
  const auto relay = make_messages_pass_through();
  const std::string input = start + "data: [DONE]\n\nevent: ping\ndata: {}\n\n";
  const std::string sent(relay->feed(input).value());
  EXPECT_TRUE(sent.starts_with(start + "event: error\n")) << sent;
  EXPECT_EQ(sent.find("[DONE]"), std::string::npos);
  EXPECT_TRUE(relay->finished());
  ASSERT_NE(relay->stream_error(), nullptr);
}

TEST(MessagesPassThrough, AStreamTheGatewayEndsEndsWithAnthropicsErrorEvent) {
  const auto relay = make_messages_pass_through();
  const core::Error cut(core::Errc::kUpstreamError, "the upstream broke off");
  EXPECT_EQ(relay->final_error_event(cut),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
            "\"message\":\"the upstream broke off\"}}\n\n");
}

TEST(MessagesPassThrough, AMessageIsRelayedAsItIsWithItsUsage) {
  const std::string message = fixture("message_tool_use.json");
  const auto relay = make_messages_pass_through();
  auto out = relay->complete(message);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, message);
  ASSERT_TRUE(relay->completion_usage().has_value());
  EXPECT_EQ(relay->completion_usage()->prompt_tokens, 2095 + 100 + 1000);
  EXPECT_EQ(relay->completion_usage()->completion_tokens, 503);

  auto broken = make_messages_pass_through()->complete("<html>bad gateway</html>");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(core::http_status(broken.error()), 502);
}

// OpenAI's count (its API reference's example answer) in Anthropic's count_tokens shape.
TEST(CountFromInputTokens, OpenAIsCountBecomesAnthropics) {
  auto count = make_count_from_input_tokens();
  auto body = count->complete(R"({"object": "response.input_tokens", "input_tokens": 11})");
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, R"({"input_tokens":11})");
  for (const std::string_view bad :
       {R"({"object": "response.input_tokens"})", R"({"input_tokens": -1})",
        R"({"input_tokens": "11"})", "<html>", ""}) {
    auto refused = make_count_from_input_tokens()->complete(std::string(bad));
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().errc, core::Errc::kUpstreamError) << bad;
  }
  EXPECT_FALSE(make_count_from_input_tokens()->feed("data: {}\n\n").has_value());
}

}  // namespace
}  // namespace gw::providers
