// Anthropic's Messages format from chat completions: the shapes are those of Anthropic's Messages
// API reference (the message object) and its streaming guide (the event sequence, content block
// indices, text_delta / input_json_delta, message_delta's stop reason and usage, the error event).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/core/error.hpp"
#include "gw/providers/messages.hpp"
#include "gw/providers/openai_compatible.hpp"
#include "sse_chunks.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

using Event = testing::NamedEvent;
using testing::names;

std::vector<Event> events_of(std::string_view stream) {
  return testing::named_events(stream);
}

// The message a client assembles from the events, as the SDK's MessageStream does: blocks by
// index, text and thinking appended, tool input parsed from the joined partial JSON at the block's
// stop, then message_delta's
// stop reason and usage over message_start's.
json::object assemble(const std::vector<Event>& events) {
  json::object message;
  std::vector<std::string> partial_json;
  for (const auto& event : events) {
    if (event.name == "message_start") {
      message = event.data.at("message").as_object();
    } else if (event.name == "content_block_start") {
      auto& content = message.at("content").as_array();
      EXPECT_EQ(event.data.at("index"), static_cast<int64_t>(content.size()));
      content.push_back(event.data.at("content_block"));
      partial_json.emplace_back();
    } else if (event.name == "content_block_delta") {
      const auto index = static_cast<size_t>(event.data.at("index").as_int64());
      auto& block = message.at("content").as_array().at(index).as_object();
      const auto& delta = event.data.at("delta").as_object();
      if (delta.at("type") == "text_delta") {
        block["text"] =
            std::string(block.at("text").as_string()) + std::string(delta.at("text").as_string());
      } else if (delta.at("type") == "thinking_delta") {
        block["thinking"] = std::string(block.at("thinking").as_string()) +
                            std::string(delta.at("thinking").as_string());
      } else {
        EXPECT_EQ(delta.at("type"), "input_json_delta");
        partial_json[index] += delta.at("partial_json").as_string();
      }
    } else if (event.name == "content_block_stop") {
      const auto index = static_cast<size_t>(event.data.at("index").as_int64());
      if (!partial_json.at(index).empty()) {
        message.at("content").as_array().at(index).as_object()["input"] =
            json::parse(partial_json[index]);
      }
    } else if (event.name == "message_delta") {
      message["stop_reason"] = event.data.at("delta").at("stop_reason");
      message["stop_sequence"] = event.data.at("delta").at("stop_sequence");
      message["usage"] = event.data.at("usage");
    }
  }
  return message;
}

std::unique_ptr<ResponseTranslator> translator(std::string id = {}) {
  return make_messages_from_chat(make_pass_through(), "claude-sonnet-4-5", std::move(id));
}

std::string chunk(std::string_view delta, std::string_view finish = {}) {
  return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"up-model\","
         "\"choices\":[{\"index\":0,\"delta\":" +
         std::string(delta) + ",\"finish_reason\":" +
         (finish.empty() ? std::string("null") : "\"" + std::string(finish) + "\"") + "}]}\n\n";
}

const std::string kUsage =
    "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":12,"
    "\"total_tokens\":42,\"prompt_tokens_details\":{\"cached_tokens\":20}}}\n\n";

// Text before two parallel tool calls, the second announced with its whole arguments.
const std::string kToolStream =
    chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Let me "})") +
    chunk(R"({"content":"check \"both\"."})") +
    chunk(
        R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]})") +
    chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})") +
    chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]})") +
    chunk(
        R"({"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]})") +
    chunk("{}", "tool_calls") + kUsage + "data: [DONE]\n\n";

TEST(MessagesFromChat, TextThenParallelToolCallsStreamTheDocumentedEvents) {
  auto relay = translator();
  auto out = relay->feed(kToolStream);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(relay->finished());
  const auto events = events_of(*out);
  EXPECT_EQ(names(events), (std::vector<std::string>{
                               "message_start", "ping", "content_block_start",
                               "content_block_delta", "content_block_delta", "content_block_stop",
                               "content_block_start", "content_block_delta", "content_block_delta",
                               "content_block_stop", "content_block_start", "content_block_delta",
                               "content_block_stop", "message_delta", "message_stop"}));
  const auto& start = events[0].data.at("message").as_object();
  EXPECT_TRUE(start.at("id").as_string().starts_with("msg_"));
  EXPECT_EQ(start.at("model"), "up-model");
  EXPECT_EQ(start.at("role"), "assistant");
  EXPECT_TRUE(start.at("content").as_array().empty());
  EXPECT_TRUE(start.at("stop_reason").is_null());
  EXPECT_EQ(events[2].data, json::parse(R"({"type":"content_block_start","index":0,
      "content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(events[3].data, json::parse(R"({"type":"content_block_delta","index":0,
      "delta":{"type":"text_delta","text":"Let me "}})"));
  EXPECT_EQ(events[6].data, json::parse(R"({"type":"content_block_start","index":1,
      "content_block":{"type":"tool_use","id":"call_a","name":"get_weather","input":{}}})"));
  EXPECT_EQ(events[7].data, json::parse(R"({"type":"content_block_delta","index":1,
      "delta":{"type":"input_json_delta","partial_json":"{\"city\":"}})"));
  EXPECT_EQ(events[9].data, json::parse(R"({"type":"content_block_stop","index":1})"));
  EXPECT_EQ(events[10].data, json::parse(R"({"type":"content_block_start","index":2,
      "content_block":{"type":"tool_use","id":"call_b","name":"get_time","input":{}}})"));
  EXPECT_EQ(events[13].data, json::parse(R"({"type":"message_delta",
      "delta":{"stop_reason":"tool_use","stop_sequence":null},
      "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,
               "output_tokens":12}})"));
  EXPECT_EQ(events[14].data, json::parse(R"({"type":"message_stop"})"));
  // Usage as chat counts it, for metrics and logs.
  EXPECT_EQ(relay->usage().prompt_tokens, 30);
  EXPECT_EQ(relay->usage().completion_tokens, 12);

  // The assembled stream is the message the same answer gives unstreamed.
  const auto assembled = assemble(events);
  auto whole = translator()->complete(R"({"id":"c","object":"chat.completion","model":"up-model",
      "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
        "content":"Let me check \"both\".","tool_calls":[
          {"id":"call_a","type":"function","function":{"name":"get_weather",
           "arguments":"{\"city\":\"Paris\"}"}},
          {"id":"call_b","type":"function","function":{"name":"get_time",
           "arguments":"{\"tz\":\"CET\"}"}}]}}],
      "usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,
               "prompt_tokens_details":{"cached_tokens":20}}})");
  ASSERT_TRUE(whole.has_value()) << whole.error().message;
  auto message = json::parse(*whole).as_object();
  message["id"] = assembled.at("id");
  EXPECT_EQ(json::value(assembled), json::value(message)) << json::serialize(assembled) << "\n"
                                                          << *whole;
}

TEST(MessagesFromChat, AStreamSplitAtEveryByteGivesTheSameEvents) {
  auto whole = translator("msg_1");
  const auto expected = whole->feed(kToolStream);
  ASSERT_TRUE(expected.has_value());
  const std::string reference(*expected);
  for (size_t split = 1; split < kToolStream.size(); ++split) {
    auto relay = translator("msg_1");
    std::string out;
    for (const auto piece : {std::string_view(kToolStream).substr(0, split),
                             std::string_view(kToolStream).substr(split)}) {
      auto ready = relay->feed(piece);
      ASSERT_TRUE(ready.has_value()) << split;
      out += *ready;
    }
    ASSERT_TRUE(relay->finished()) << split;
    ASSERT_EQ(out, reference) << "split at " << split;
  }
  auto relay = translator("msg_1");
  std::string out;
  for (const char byte : kToolStream) {
    auto ready = relay->feed(std::string_view(&byte, 1));
    ASSERT_TRUE(ready.has_value());
    out += *ready;
  }
  EXPECT_EQ(out, reference);
}

TEST(MessagesFromChat, ACompletionBecomesAMessage) {
  auto message = translator()->complete(R"({"id":"c","object":"chat.completion","model":"gpt-x",
      "choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",
        "content":"Hi there"}}],
      "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})");
  ASSERT_TRUE(message.has_value()) << message.error().message;
  auto object = json::parse(*message).as_object();
  EXPECT_TRUE(object.at("id").as_string().starts_with("msg_"));
  object.erase("id");
  EXPECT_EQ(object, json::parse(R"({"type":"message","role":"assistant","model":"gpt-x",
      "content":[{"type":"text","text":"Hi there"}],"stop_reason":"end_turn",
      "stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":3}})"));
}

TEST(MessagesFromChat, FinishReasonsBecomeStopReasons) {
  const auto stop_of = [](std::string_view choice_members) {
    auto message = translator()->complete(
        R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x"},)" +
        std::string(choice_members) + "}]}");
    EXPECT_TRUE(message.has_value());
    const auto object = json::parse(*message);
    return std::string(object.at("stop_reason").as_string()) + " " +
           json::serialize(object.at("stop_sequence"));
  };
  EXPECT_EQ(stop_of(R"("finish_reason":"stop")"), "end_turn null");
  EXPECT_EQ(stop_of(R"("finish_reason":"length")"), "max_tokens null");
  EXPECT_EQ(stop_of(R"("finish_reason":"content_filter")"), "refusal null");
  EXPECT_EQ(stop_of(R"("finish_reason":"tool_calls")"), "tool_use null");
  // vLLM names the stop string it met.
  EXPECT_EQ(stop_of(R"("finish_reason":"stop","stop_reason":"END")"), "stop_sequence \"END\"");
  EXPECT_EQ(stop_of(R"("finish_reason":"stop","stop_reason":null)"), "end_turn null");
}

TEST(MessagesFromChat, ReasoningBecomesAThinkingBlockFirst) {
  auto message = translator()->complete(R"({"model":"m","choices":[{"index":0,
      "finish_reason":"stop","message":{"role":"assistant","content":"4",
      "reasoning_content":"2+2"}}]})");
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(json::parse(*message).at("content"),
            json::parse(R"([{"type":"thinking","thinking":"2+2","signature":""},
                            {"type":"text","text":"4"}])"));
  auto relay = translator();
  auto out =
      relay->feed(chunk(R"({"reasoning_content":"2+"})") + chunk(R"({"reasoning_content":"2"})") +
                  chunk(R"({"content":"4"})") + chunk("{}", "stop") + "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  EXPECT_EQ(events[2].data.at("content_block"),
            json::parse(R"({"type":"thinking","thinking":"","signature":""})"));
  EXPECT_EQ(events[3].data.at("delta"),
            json::parse(R"({"type":"thinking_delta","thinking":"2+"})"));
  // Either name, whichever has the text (null in the other).
  auto other = translator();
  auto named = other->feed(chunk(R"({"reasoning":"r","reasoning_content":null})") +
                           chunk("{}", "stop") + "data: [DONE]\n\n");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(assemble(events_of(*named)).at("content"),
            json::parse(R"([{"type":"thinking","thinking":"r","signature":""}])"));
  EXPECT_EQ(assemble(events).at("content"),
            json::parse(R"([{"type":"thinking","thinking":"2+2","signature":""},
                            {"type":"text","text":"4"}])"));
}

TEST(MessagesFromChat, ToolCallsWithoutIdsOrArgumentsGetIdsAndEmptyInput) {
  auto message = translator()->complete(R"({"model":"m","choices":[{"index":0,
      "finish_reason":"stop","message":{"role":"assistant","content":null,"tool_calls":[
      {"type":"function","function":{"name":"now","arguments":""}}]}}]})");
  ASSERT_TRUE(message.has_value()) << message.error().message;
  const auto object = json::parse(*message);
  EXPECT_EQ(object.at("stop_reason"), "tool_use");
  const auto& block = object.at("content").as_array().at(0).as_object();
  EXPECT_TRUE(block.at("id").as_string().starts_with("toolu_"));
  EXPECT_EQ(block.at("input"), json::object());
  // Arguments that are not a JSON object are no call the client could make.
  auto broken = translator()->complete(R"({"model":"m","choices":[{"index":0,
      "finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[
      {"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]})");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(core::http_status(broken.error()), 502);
}

// Some servers' tool parsers put text between the fragments of one call: the text waits for the
// call's block to close (blocks never interleave); the call stays whole.
TEST(MessagesFromChat, TextBetweenAToolCallsFragmentsFollowsTheCall) {
  auto relay = translator();
  auto out = relay->feed(
      chunk(
          R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]})") +
      chunk(R"({"content":"thinking aloud"})") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]})") +
      chunk("{}", "tool_calls") + "data: [DONE]\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  EXPECT_EQ(names(events),
            (std::vector<std::string>{
                "message_start", "ping", "content_block_start", "content_block_delta",
                "content_block_delta", "content_block_stop", "content_block_start",
                "content_block_delta", "content_block_stop", "message_delta", "message_stop"}));
  const auto message = assemble(events);
  EXPECT_EQ(message.at("content"),
            json::parse(R"([{"type":"tool_use","id":"call_a","name":"f","input":{"a":1}},
                            {"type":"text","text":"thinking aloud"}])"));
  EXPECT_EQ(message.at("stop_reason"), "tool_use");
}

TEST(MessagesFromChat, ACompletionWithoutChoicesIsABadGatewayNotAThrow) {
  for (const std::string body : {"{}", R"({"choices":null})", R"({"choices":[]})"}) {
    auto message = translator()->complete(body);
    ASSERT_FALSE(message.has_value()) << body;
    EXPECT_EQ(core::http_status(message.error()), 502) << body;
  }
}

TEST(MessagesFromChat, AnUpstreamErrorMidStreamEndsWithAnAnthropicErrorEvent) {
  auto relay = translator();
  auto out = relay->feed(chunk(R"({"content":"Hel"})") +
                         "data: {\"error\":{\"message\":\"upstream overloaded\","
                         "\"type\":\"server_error\"}}\n\n");
  ASSERT_TRUE(out.has_value());
  const auto events = events_of(*out);
  ASSERT_EQ(names(events), (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                                     "content_block_delta", "error"}));
  EXPECT_EQ(events[4].data.at("error").at("type"), "api_error");
  EXPECT_EQ(events[4].data.at("error").at("message"), "upstream overloaded");
  EXPECT_TRUE(relay->relayed_error());
  ASSERT_NE(relay->stream_error(), nullptr);

  // A stream the relay must end (the upstream broke off): the same error event.
  auto cut = translator();
  ASSERT_TRUE(cut->feed(chunk(R"({"content":"Hel"})")).has_value());
  const auto last = events_of(
      cut->final_error_event({core::Errc::kUpstreamError, "upstream ended the stream early"}));
  ASSERT_EQ(names(last), (std::vector<std::string>{"error"}));
  EXPECT_EQ(last[0].data.at("error").at("message"), "upstream ended the stream early");
  EXPECT_FALSE(cut->finished());
}

}  // namespace
}  // namespace gw::providers
