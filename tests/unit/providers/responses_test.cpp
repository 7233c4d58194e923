#include "gw/providers/responses.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/providers/openai_compatible.hpp"
#include "sse_chunks.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

using testing::named_events;
using testing::names;
using Event = testing::NamedEvent;

// Splits a Responses stream into its events (framing checked), and checks that their sequence
// numbers count up from `first_sequence`.
std::vector<Event> events_of(std::string_view stream, int64_t first_sequence = 0) {
  auto events = named_events(stream);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].data.at("sequence_number"), first_sequence + static_cast<int64_t>(i));
  }
  return events;
}

std::unique_ptr<ResponseTranslator> translator() {
  return make_responses_from_chat(make_pass_through(),
                                  new_response_identity(R"("instructions":null)"));
}

std::string chunk(std::string_view delta, std::string_view finish = {}) {
  return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"up-model\","
         "\"choices\":[{\"index\":0,\"delta\":" +
         std::string(delta) + ",\"finish_reason\":" +
         (finish.empty() ? std::string("null") : "\"" + std::string(finish) + "\"") + "}]}\n\n";
}

const std::string kUsage =
    "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,"
    "\"total_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n";

TEST(ResponsesFromChat, TextStreamBecomesTheDocumentedEventSequence) {
  const std::string stream = chunk(R"({"role":"assistant","content":""})") +
                             chunk(R"({"content":"Hel"})") + chunk(R"({"content":"lo \"you\""})") +
                             chunk("{}", "stop") + kUsage + "data: [DONE]\n\n";
  // Fed whole and byte by byte: the same events.
  for (const size_t step : {stream.size(), size_t{1}}) {
    auto relay = translator();
    std::string out;
    for (size_t at = 0; at < stream.size(); at += step) {
      auto ready = relay->feed(std::string_view(stream).substr(at, step));
      ASSERT_TRUE(ready.has_value());
      out += *ready;
    }
    ASSERT_TRUE(relay->finished());
    const auto events = events_of(out);
    EXPECT_EQ(names(events),
              (std::vector<std::string>{"response.created", "response.in_progress",
                                        "response.output_item.added", "response.content_part.added",
                                        "response.output_text.delta", "response.output_text.delta",
                                        "response.output_text.done", "response.content_part.done",
                                        "response.output_item.done", "response.completed"}));
    const auto& created = events[0].data.at("response").as_object();
    EXPECT_TRUE(created.at("id").as_string().starts_with("resp_"));
    EXPECT_EQ(created.at("status"), "in_progress");
    EXPECT_EQ(created.at("model"), "up-model");
    EXPECT_TRUE(created.at("usage").is_null());
    const auto& added = events[2].data.at("item").as_object();
    const std::string item_id(added.at("id").as_string());
    EXPECT_EQ(added.at("type"), "message");
    EXPECT_TRUE(added.at("content").as_array().empty());
    EXPECT_EQ(events[4].data.at("item_id"), item_id.c_str());
    EXPECT_EQ(events[5].data.at("delta"), "lo \"you\"");
    EXPECT_EQ(events[6].data.at("text"), "Hello \"you\"");
    const auto& completed = events[9].data.at("response").as_object();
    EXPECT_EQ(completed.at("status"), "completed");
    EXPECT_EQ(completed.at("output").as_array()[0].at("content").as_array()[0].at("text"),
              "Hello \"you\"");
    EXPECT_EQ(completed.at("usage"),
              json::parse(R"({"input_tokens":7,"input_tokens_details":{"cached_tokens":3},)"
                          R"("output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},)"
                          R"("total_tokens":9})"));
    EXPECT_EQ(relay->usage().prompt_tokens, 7);
    EXPECT_EQ(relay->usage().completion_tokens, 2);
  }
}

TEST(ResponsesFromChat, ToolCallsBecomeFunctionCallItemsWithArgumentDeltas) {
  const std::string stream =
      chunk(R"({"role":"assistant","content":"Checking."})") +
      chunk(
          R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"search","arguments":""}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":"}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]})") +
      chunk(
          R"({"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"fetch","arguments":"{}"}}]})") +
      chunk("{}", "tool_calls") + "data: [DONE]\n\n";
  auto relay = translator();
  auto out = relay->feed(stream);
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  EXPECT_EQ(
      names(events),
      (std::vector<std::string>{
          "response.created", "response.in_progress", "response.output_item.added",
          "response.content_part.added", "response.output_text.delta", "response.output_text.done",
          "response.content_part.done", "response.output_item.done", "response.output_item.added",
          "response.function_call_arguments.delta", "response.function_call_arguments.delta",
          "response.function_call_arguments.done", "response.output_item.done",
          "response.output_item.added", "response.function_call_arguments.delta",
          "response.function_call_arguments.done", "response.output_item.done",
          "response.completed"}));
  const auto& call_added = events[8].data;
  EXPECT_EQ(call_added.at("output_index"), 1);
  EXPECT_EQ(call_added.at("item").at("call_id"), "call_a");
  EXPECT_EQ(call_added.at("item").at("name"), "search");
  EXPECT_EQ(call_added.at("item").at("arguments"), "");
  EXPECT_EQ(events[11].data.at("arguments"), "{\"q\":1}");
  const auto& call_done = events[12].data.at("item");
  EXPECT_EQ(call_done.at("status"), "completed");
  EXPECT_EQ(call_done.at("arguments"), "{\"q\":1}");
  const auto& output = events.back().data.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[2].at("call_id"), "call_b");
}

TEST(ResponsesFromChat, LengthLimitEndsIncomplete) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"a"})") + chunk("{}", "length") + "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  const auto& last = events.back();
  EXPECT_EQ(last.name, "response.incomplete");
  EXPECT_EQ(last.data.at("response").at("status"), "incomplete");
  EXPECT_EQ(last.data.at("response").at("incomplete_details"),
            json::parse(R"({"reason":"max_output_tokens"})"));
  EXPECT_EQ(last.data.at("response").at("output").at(0).at("status"), "incomplete");
}

TEST(ResponsesFromChat, AFailureAfterTheStartEndsWithErrorAndResponseFailed) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"partial"})"));
  ASSERT_TRUE(out.has_value());
  const size_t sent = events_of(*out).size();
  const std::string last = relay->final_error_event(
      core::Error(core::Errc::kUpstreamError, "upstream x ended the stream before its terminator"));
  const auto events = events_of(last, static_cast<int64_t>(sent));
  EXPECT_EQ(names(events), (std::vector<std::string>{
                               "error", "response.output_text.done", "response.content_part.done",
                               "response.output_item.done", "response.failed"}));
  // The error event: documented (flat) and as OpenAI sends it (nested), which SDKs throw on.
  EXPECT_EQ(events[0].data.at("message"), "upstream x ended the stream before its terminator");
  EXPECT_EQ(events[0].data.at("error").at("message"),
            "upstream x ended the stream before its terminator");
  const auto& failed = events.back().data.at("response");
  EXPECT_EQ(failed.at("status"), "failed");
  EXPECT_EQ(failed.at("error").at("message"), "upstream x ended the stream before its terminator");
  EXPECT_EQ(failed.at("output").at(0).at("status"), "incomplete");
}

TEST(ResponsesFromChat, TheChatStreamsOwnErrorEventFailsTheResponse) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"a"})") +
                         "data: {\"error\":{\"message\":\"worker died\",\"type\":\"api_error\","
                         "\"code\":\"upstream_error\"}}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(relay->relayed_error());
  const auto events = events_of(*out);
  EXPECT_EQ(events.back().name, "response.failed");
  EXPECT_EQ(events.back().data.at("response").at("error").at("message"), "worker died");
}

TEST(ResponsesFromChat, CompletionBecomesAResponseObject) {
  auto relay = translator();
  auto out = relay->complete(
      R"({"id":"c","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"Hi","tool_calls":[{"id":"call_1","type":)"
      R"("function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9}})");
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const auto response = json::parse(*out).as_object();
  EXPECT_EQ(response.at("object"), "response");
  EXPECT_EQ(response.at("status"), "completed");
  EXPECT_EQ(response.at("model"), "up");
  EXPECT_TRUE(response.at("instructions").is_null());
  const auto& output = response.at("output").as_array();
  ASSERT_EQ(output.size(), 2u);
  EXPECT_EQ(output[0].at("type"), "message");
  EXPECT_EQ(output[0].at("content").at(0).at("text"), "Hi");
  EXPECT_EQ(output[1].at("type"), "function_call");
  EXPECT_EQ(output[1].at("call_id"), "call_1");
  EXPECT_EQ(output[1].at("arguments"), "{}");
  EXPECT_EQ(response.at("usage").at("total_tokens"), 9);
  ASSERT_TRUE(relay->completion_usage().has_value());
  EXPECT_EQ(relay->completion_usage()->completion_tokens, 5);
}

TEST(ResponsesFromChat, RefusesACompletionWithoutAMessage) {
  auto relay = translator();
  EXPECT_FALSE(relay->complete(R"({"choices":[]})").has_value());
}

TEST(ResponsesPassThrough, RelaysWholeEventsAndFinishesAtTheTerminalEvent) {
  const std::string stream =
      "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{}}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
      "\"delta\":\"x\"}\n\n"
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{"
      "\"usage\":{\"input_tokens\":3,\"output_tokens\":1,\"total_tokens\":4}}}\n\n";
  for (size_t split = 0; split <= stream.size(); split += 7) {
    auto relay = make_responses_pass_through();
    std::string out;
    for (std::string_view piece :
         {std::string_view(stream).substr(0, split), std::string_view(stream).substr(split)}) {
      auto ready = relay->feed(piece);
      ASSERT_TRUE(ready.has_value());
      out += *ready;
    }
    EXPECT_EQ(out, stream);
    EXPECT_TRUE(relay->finished());
    EXPECT_FALSE(relay->relayed_error());
    EXPECT_EQ(relay->usage().prompt_tokens, 3);
    EXPECT_EQ(relay->usage().completion_tokens, 1);
  }
}

TEST(ResponsesPassThrough, AFailedResponseIsTheUpstreamsError) {
  auto relay = make_responses_pass_through();
  auto out = relay->feed(
      "event: error\ndata: {\"type\":\"error\",\"sequence_number\":2,\"error\":{\"type\":"
      "\"insufficient_quota\",\"code\":\"insufficient_quota\",\"message\":\"quota\"}}\n\n"
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":3,"
      "\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"insufficient_quota\","
      "\"message\":\"quota\"}}}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(relay->finished());
  ASSERT_NE(relay->stream_error(), nullptr);
  EXPECT_EQ(relay->stream_error()->message, "quota");
}

TEST(ResponsesPassThrough, ChecksAPlainAnswerAndReadsItsUsage) {
  auto relay = make_responses_pass_through();
  EXPECT_FALSE(relay->complete("<html>").has_value());
  auto out =
      relay->complete(R"({"object":"response","usage":{"input_tokens":2,"output_tokens":5}})");
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(relay->completion_usage().has_value());
  EXPECT_EQ(relay->completion_usage()->prompt_tokens, 2);
  EXPECT_EQ(relay->completion_usage()->completion_tokens, 5);
}

// fuzz/corpus/responses/crash-events-before-a-broken-chunk: the events made before a chunk that
// is not JSON went out with the final events, so that the sequence numbers have no gap.
TEST(ResponsesFromChat, EventsBeforeABrokenChunkGoOutWithTheFinalEvents) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"a"})") + "data: {not json\n\n");
  ASSERT_FALSE(out.has_value());
  const auto events = events_of(relay->final_error_event(out.error()));
  EXPECT_EQ(events.front().name, "response.created");
  EXPECT_EQ(events.back().name, "response.failed");
}

// fuzz/corpus/responses/crash-error-member-in-a-chunk: a chunk whose error is not at its start
// fails the response as the upstream's own error event does.
TEST(ResponsesFromChat, AnErrorMemberAnywhereInAChunkIsTheUpstreamsError) {
  auto relay = translator();
  auto out = relay->feed("data: {\"id\":\"c\",\"error\":{\"message\":\"late\"}}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(relay->relayed_error());
  EXPECT_EQ(events_of(*out).back().name, "response.failed");
  EXPECT_TRUE(relay->final_error_event(core::Error(core::Errc::kUpstreamError, "x")).empty());
}

// fuzz/corpus/responses/crash-done-without-terminal-event: a chat-style [DONE] before any
// terminal event ends the stream as a failure, with the Responses error event (numbered on).
TEST(ResponsesPassThrough, DoneWithoutATerminalEventEndsWithAnError) {
  auto relay = make_responses_pass_through();
  const std::string created =
      "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
      "\"response\":{}}\n\n";
  const std::string fed = created + "data: [DONE]\n\ndata: {\"after\":1}\n\n";
  auto out = relay->feed(fed);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->starts_with(created));
  EXPECT_EQ(out->find("[DONE]"), std::string_view::npos);
  EXPECT_NE(out->find("event: error\ndata: {\"type\":\"error\",\"sequence_number\":1,"),
            std::string_view::npos)
      << *out;
  EXPECT_TRUE(relay->finished());
  ASSERT_NE(relay->stream_error(), nullptr);
  // After the terminal event a [DONE] is simply not relayed.
  auto clean = make_responses_pass_through();
  const std::string completed =
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n";
  const std::string both = completed + "data: [DONE]\n\n";
  auto relayed = clean->feed(both);
  ASSERT_TRUE(relayed.has_value());
  EXPECT_EQ(*relayed, completed);
  EXPECT_EQ(clean->stream_error(), nullptr);
}

// A response object repeats the client's metadata: text there is no event type.
TEST(ResponsesPassThrough, OnlyTheEventsOwnTypeCounts) {
  auto relay = make_responses_pass_through();
  const std::string stream =
      "data: {\"type\":\"response.created\",\"response\":{\"metadata\":{\"type\":"
      "\"response.completed\",\"t\":\"{\\\"type\\\":\\\"error\\\"}\"}}}\n\n"
      "data: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n";
  auto out = relay->feed(stream);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, stream);
  EXPECT_FALSE(relay->finished());
  EXPECT_EQ(relay->stream_error(), nullptr);
}

TEST(ResponsesPassThrough, ABrokenStreamEndsWithANumberedErrorEvent) {
  auto relay = make_responses_pass_through();
  ASSERT_TRUE(relay
                  ->feed("event: response.created\ndata: {\"type\":\"response.created\","
                         "\"sequence_number\":0,\"response\":{}}\n\n")
                  .has_value());
  const auto events =
      events_of(relay->final_error_event(core::Error(core::Errc::kUpstreamError, "cut")), 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "error");
  EXPECT_EQ(events[0].data.at("error").at("message"), "cut");
}

TEST(ResponsesFromChat, RefusalsBecomeRefusalParts) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"role":"assistant","refusal":"I can't"})") +
                         chunk(R"({"refusal":" help."})", "stop") + "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  const auto types = names(events);
  EXPECT_NE(std::find(types.begin(), types.end(), "response.refusal.delta"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "response.refusal.done"), types.end());
  const auto& part = events.back().data.at("response").at("output").at(0).at("content").at(0);
  EXPECT_EQ(part, json::parse(R"({"type":"refusal","refusal":"I can't help."})"));
  auto whole = translator()->complete(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"No."},)"
      R"("finish_reason":"stop"}]})");
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(json::parse(*whole).at("output").at(0).at("content").at(0).at("refusal"), "No.");
}

TEST(ResponsesFromChat, ACallWithAnotherIdAtTheSameIndexIsAnotherCall) {
  auto relay = translator();
  auto out = relay->feed(
      chunk(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]})") +
      chunk(R"({"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]})") +
      chunk(R"({"tool_calls":[{"index":1,"function":{"name":"h","arguments":"{}"}}]})",
            "tool_calls") +
      "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  const auto& output = events.back().data.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[0].at("call_id"), "a");
  EXPECT_EQ(output[1].at("call_id"), "b");
  EXPECT_EQ(output[1].at("name"), "g");
  // No id from the upstream: one is made, so that the client's output can name the call.
  EXPECT_TRUE(output[2].at("call_id").as_string().starts_with("call_"));
}

TEST(ResponsesFromChat, AnErrorThatIsAStringFailsTheResponse) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"a"})") + "data: {\"error\":\"boom\"}\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(relay->relayed_error());
  ASSERT_NE(relay->stream_error(), nullptr);
  EXPECT_EQ(relay->stream_error()->message, "boom");
  EXPECT_EQ(events_of(*out).back().name, "response.failed");
}

TEST(ResponsesFromChat, UsageWithoutAUsageChunkComesFromTheChatTranslator) {
  // The pass-through strips the usage chunk it was asked to (the client did not ask), yet counts.
  auto relay = make_responses_from_chat(make_pass_through(true), new_response_identity("\"x\":1"));
  auto out = relay->feed(chunk(R"({"content":"a"})", "stop") + kUsage + "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(events_of(*out).back().data.at("response").at("usage").at("output_tokens"), 2);
}

// fuzz/corpus/responses/crash-usage-after-an-error-in-one-read: the failed response says the same
// whether what followed the error came in the same read or not.
TEST(ResponsesFromChat, AFailedResponseDoesNotDependOnHowTheStreamWasRead) {
  const std::string stream = chunk(R"({"content":"a"})") + "data: {\"error\":2}\n\n" + kUsage;
  auto whole = translator();
  auto split = translator();
  auto all = whole->feed(stream);
  std::string pieces;
  for (const std::string_view piece :
       {std::string_view(stream).substr(0, 200), std::string_view(stream).substr(200)}) {
    auto out = split->feed(piece);
    ASSERT_TRUE(out.has_value());
    pieces += *out;
  }
  ASSERT_TRUE(all.has_value());
  const auto whole_events = events_of(*all);
  const auto split_events = events_of(pieces);
  EXPECT_EQ(whole_events.back().data.at("response").at("usage"),
            split_events.back().data.at("response").at("usage"));
}

}  // namespace
}  // namespace gw::providers
