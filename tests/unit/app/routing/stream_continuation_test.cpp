#include "gw/app/routing/stream_continuation.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

namespace gw::app {
namespace {

namespace json = boost::json;

// Chunks in the shape OpenAI documents for chat.completion.chunk.
std::string chunk(std::string_view id, std::string_view delta, std::string_view finish = "null",
                  std::string_view model = "gpt-4o-mini") {
  return "data: {\"id\":\"" + std::string(id) +
         "\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"" +
         std::string(model) +
         "\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,"
         "\"delta\":" +
         std::string(delta) + ",\"logprobs\":null,\"finish_reason\":" + std::string(finish) +
         "}]}\n\n";
}

const std::string kRequest =
    R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Count to five"}]})";

json::array messages_of(const std::string& body) {
  return json::parse(body).as_object().at("messages").as_array();
}

// The client's stream so far: a role chunk and two tokens.
StreamContinuation broken_after_two_tokens(std::string_view instruction = "Go on.") {
  StreamContinuation continuation(StreamContinuation::Mode::kContinue, instruction);
  continuation.record(chunk("chatcmpl-1", R"({"role":"assistant","content":"","refusal":null})"));
  continuation.record(chunk("chatcmpl-1", R"({"content":"One,"})") +
                      chunk("chatcmpl-1", R"({"content":" two,"})"));
  return continuation;
}

TEST(StreamContinuation, NextBodyIsTheConversationPlusThePartialAnswerAndTheInstruction) {
  auto continuation = broken_after_two_tokens();
  EXPECT_FALSE(continuation.resuming());
  const auto body = continuation.next_body(kRequest);
  ASSERT_TRUE(body);
  const auto messages = messages_of(*body);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].as_object().at("role"), "assistant");
  EXPECT_EQ(messages[1].as_object().at("content"), "One, two,");
  EXPECT_EQ(messages[2].as_object().at("role"), "user");
  EXPECT_EQ(messages[2].as_object().at("content"), "Go on.");
  EXPECT_EQ(json::parse(*body).as_object().at("model"), "gpt-4o");  // the rest as it was
  EXPECT_TRUE(continuation.resuming());
}

TEST(StreamContinuation, AnEmptyInstructionLeavesThePartialAnswerLastAsAPrefill) {
  auto continuation = broken_after_two_tokens("");
  const auto body = continuation.next_body(kRequest);
  ASSERT_TRUE(body);
  const auto messages = messages_of(*body);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].as_object().at("role"), "assistant");
}

TEST(StreamContinuation, NothingSaidYetSendsTheRequestAgainAsItWas) {
  StreamContinuation continuation(StreamContinuation::Mode::kContinue, "Go on.");
  continuation.record(chunk("chatcmpl-1", R"({"role":"assistant","content":""})"));
  const auto body = continuation.next_body(kRequest);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "");  // the request as it was
  EXPECT_TRUE(continuation.drops_roles());
}

TEST(StreamContinuation, BeforeAnyEventEveryStreamGoesOnAsItComes) {
  // Any API's stream whose head went out with keep-alive comments only: the request goes again
  // as it was, and the next attempt's events (a Responses stream's here) pass unchanged.
  StreamContinuation retry(StreamContinuation::Mode::kRetryBeforeFirstEvent);
  retry.record(": keep-alive\n\n");
  retry.record(": keep-alive\n\n");
  EXPECT_TRUE(retry.may_continue());
  const auto body = retry.next_body(kRequest);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "");
  const std::string event =
      "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n";
  EXPECT_EQ(retry.rewrite(event), event);
  // Once an event went out, a stream that is not continued cannot go on elsewhere.
  retry.record(event);
  EXPECT_FALSE(retry.may_continue());
  EXPECT_FALSE(retry.next_body(kRequest));
}

TEST(StreamContinuation, ResumedEventsKeepTheFirstIdentityAndDropTheSecondRoleChunk) {
  auto continuation = broken_after_two_tokens();
  ASSERT_TRUE(continuation.next_body(kRequest));
  // The next deployment's (another provider's) opening chunk says nothing once its role is gone.
  EXPECT_EQ(continuation.rewrite(chunk("msg_2", R"({"role":"assistant","content":""})", "null",
                                       "claude-sonnet-4-5")),
            "");
  const std::string out =
      continuation.rewrite(chunk("msg_2", R"({"content":" three."})", "null", "claude-sonnet-4-5"));
  ASSERT_TRUE(out.starts_with("data: ") && out.ends_with("\n\n")) << out;
  const auto event = json::parse(out.substr(6)).as_object();
  EXPECT_EQ(event.at("id"), "chatcmpl-1");
  EXPECT_EQ(event.at("model"), "gpt-4o-mini");
  EXPECT_EQ(event.at("created"), 1694268190);
  EXPECT_EQ(event.at("choices").as_array()[0].as_object().at("delta").as_object().at("content"),
            " three.");
  // A role together with content keeps the content.
  const std::string both =
      continuation.rewrite(chunk("msg_2", R"({"role":"assistant","content":"Four"})"));
  const auto delta = json::parse(both.substr(6))
                         .as_object()
                         .at("choices")
                         .as_array()[0]
                         .as_object()
                         .at("delta")
                         .as_object();
  EXPECT_FALSE(delta.contains("role"));
  EXPECT_EQ(delta.at("content"), "Four");
  // The end of the answer and the terminator go through; a keep-alive comment as it is.
  EXPECT_NE(continuation.rewrite(chunk("msg_2", "{}", "\"stop\"")), "");
  EXPECT_EQ(continuation.rewrite("data: [DONE]\n\n"), "data: [DONE]\n\n");
  EXPECT_EQ(continuation.rewrite(": keep-alive\n\n"), ": keep-alive\n\n");
}

TEST(StreamContinuation, OnlyKeepAlivesSoFarLeaveTheNextAttemptsRoleChunk) {
  // The head went out with keep-alive comments, then the attempt failed: the client has no role
  // chunk yet, so the next attempt's is its first.
  StreamContinuation continuation(StreamContinuation::Mode::kContinue, "Go on.");
  continuation.record(": keep-alive\n\n");
  ASSERT_TRUE(continuation.next_body(kRequest));
  EXPECT_FALSE(continuation.drops_roles());
  const std::string opening = chunk("msg_2", R"({"role":"assistant","content":""})");
  const std::string out = continuation.rewrite(opening);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(json::parse(out.substr(6))
                  .as_object()
                  .at("choices")
                  .as_array()[0]
                  .as_object()
                  .at("delta")
                  .as_object()
                  .contains("role"));
}

TEST(StreamContinuation, CommentsBeforeEventsInOneWriteDoNotSkipTheRewrite) {
  // A pass-through relays an upstream's comment and events in one piece.
  auto continuation = broken_after_two_tokens();
  ASSERT_TRUE(continuation.next_body(kRequest));
  const std::string out = continuation.rewrite(
      ": PROCESSING\n\n" + chunk("other", R"({"role":"assistant","content":""})") +
      chunk("other", R"({"content":" three"})"));
  EXPECT_EQ(out.find("role"), std::string::npos) << out;
  EXPECT_EQ(out.find("other"), std::string::npos) << out;
  EXPECT_NE(out.find("chatcmpl-1"), std::string::npos) << out;
}

TEST(StreamContinuation, OddNumbersAreNotThrownOn) {
  auto continuation = broken_after_two_tokens();
  EXPECT_FALSE(continuation.next_body(
      R"({"model":"m","stream":true,"n":1e300,"messages":[{"role":"user","content":"x"}]})"));
  ASSERT_TRUE(continuation.next_body(kRequest));
  continuation.carry_usage(int64_t{1} << 62, 1);
  const std::string out = continuation.rewrite(
      R"(data: {"id":"x","choices":[],"usage":{"prompt_tokens":12.5,"completion_tokens":9223372036854775807,"total_tokens":1e20}})"
      "\n\n");
  const auto usage = json::parse(out.substr(6)).as_object().at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_double(), 12.5);  // not an integer: left as it is
  // Counts are bounded before they are added: no overflow.
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), (int64_t{1} << 40) + 1);
  StreamContinuation odd_index(StreamContinuation::Mode::kContinue, "Go on.");
  odd_index.record(R"(data: {"id":"c","choices":[{"index":0.5,"delta":{"content":"a"}}]})"
                   "\n\n");
  EXPECT_FALSE(odd_index.next_body(kRequest));
}

TEST(StreamContinuation, UsageAddsWhatTheBrokenAttemptsReported) {
  auto continuation = broken_after_two_tokens();
  continuation.carry_usage(12, 3);
  continuation.carry_usage(-1, -1);  // unknown counts add nothing
  ASSERT_TRUE(continuation.next_body(kRequest));
  const std::string out = continuation.rewrite(
      R"(data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}})"
      "\n\n");
  const auto usage = json::parse(out.substr(6)).as_object().at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens"), 32);
  EXPECT_EQ(usage.at("completion_tokens"), 8);
  EXPECT_EQ(usage.at("total_tokens"), 40);
}

TEST(StreamContinuation, ChainedBreaksContinueTheWholeAnswerSoFar) {
  auto continuation = broken_after_two_tokens();
  ASSERT_TRUE(continuation.next_body(kRequest));
  continuation.record(continuation.rewrite(chunk("msg_2", R"({"content":" three,"})")));
  const auto body = continuation.next_body(kRequest);
  ASSERT_TRUE(body);
  const auto messages = messages_of(*body);
  ASSERT_EQ(messages.size(), 3u);  // the client's messages, not the first continuation's
  EXPECT_EQ(messages[1].as_object().at("content"), "One, two, three,");
}

TEST(StreamContinuation, AnswersThatCannotGoOnAreNotContinued) {
  {
    StreamContinuation tool_call(StreamContinuation::Mode::kContinue, "Go on.");
    tool_call.record(chunk(
        "c",
        R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a"}}]})"));
    EXPECT_FALSE(tool_call.next_body(kRequest)) << "a tool call half made";
  }
  {
    StreamContinuation finished(StreamContinuation::Mode::kContinue, "Go on.");
    finished.record(chunk("c", R"({"content":"Done."})") + chunk("c", "{}", "\"stop\""));
    EXPECT_FALSE(finished.next_body(kRequest)) << "the answer had finished";
  }
  {
    StreamContinuation relayed_error(StreamContinuation::Mode::kContinue, "Go on.");
    relayed_error.record(chunk("c", R"({"content":"Hi"})") +
                         "data: {\"error\":{\"message\":\"overloaded\"}}\n\n");
    EXPECT_FALSE(relayed_error.next_body(kRequest)) << "the upstream's error event was relayed";
  }
  {
    auto several = broken_after_two_tokens();
    EXPECT_FALSE(several.next_body(
        R"({"model":"m","stream":true,"n":2,"messages":[{"role":"user","content":"x"}]})"));
  }
  {
    StreamContinuation too_long(StreamContinuation::Mode::kContinue, "Go on.");
    too_long.record(std::string(StreamContinuation::kMaxRecorded, 'x'));
    EXPECT_TRUE(too_long.may_continue());
    too_long.record("y");
    EXPECT_FALSE(too_long.may_continue());
    EXPECT_FALSE(too_long.next_body(kRequest));
  }
}

}  // namespace
}  // namespace gw::app
