#include "gw/api/messages_to_chat.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace gw::api {
namespace {

namespace json = boost::json;

// The chat body a Messages body translates to, as a JSON value.
json::value chat_of(std::string_view messages_body) {
  auto chat = messages_to_chat(messages_body);
  EXPECT_TRUE(chat.has_value()) << (chat ? "" : chat.error().message);
  return chat ? json::parse(chat->body) : json::value();
}

// Request fields from Anthropic's Messages API reference (system as a string and as text blocks,
// stop_sequences, metadata.user_id, top_k) and their chat-completions names.
TEST(MessagesToChat, SystemSamplingStopAndUserBecomeTheirChatFields) {
  EXPECT_EQ(chat_of(R"({"model": "m", "max_tokens": 1024, "system": "You are terse.",
      "messages": [{"role": "user", "content": "Hello, Claude"}],
      "stop_sequences": ["\n\nHuman:"], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
      "metadata": {"user_id": "u-1"}, "stream": true, "service_tier": "auto"})"),
            json::parse(R"({"model": "m", "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "Hello, Claude"}],
      "max_tokens": 1024, "stop": ["\n\nHuman:"], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
      "user": "u-1", "stream": true})"));
  // System text blocks (with cache_control, a no-op) are one system message, a paragraph each.
  EXPECT_EQ(chat_of(R"({"model": "m", "max_tokens": 8, "messages": [],
      "system": [{"type": "text", "text": "One."},
                 {"type": "text", "text": "Two.", "cache_control": {"type": "ephemeral"}}]})"),
            json::parse(R"({"model": "m", "messages": [{"role": "system",
      "content": "One.\n\nTwo."}], "max_tokens": 8})"));
}

// A tool round trip as Anthropic's tool-use guide shows it: the assistant's text and tool_use
// blocks, then the user's tool_result blocks (string and text-block content, is_error) before
// more text.
TEST(MessagesToChat, ToolUseAndToolResultsBecomeToolCallsAndToolMessages) {
  const auto chat = chat_of(R"({"model": "m", "max_tokens": 64,
    "tools": [{"name": "get_weather", "description": "Weather of a city",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                "required": ["city"]},
               "cache_control": {"type": "ephemeral"}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Two calls.", "signature": "sig"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
         "content": [{"type": "text", "text": "timeout"}]},
        {"type": "text", "text": "Thanks"}]}]})");
  EXPECT_EQ(chat, json::parse(R"({"model": "m", "messages": [
      {"role": "user", "content": "Weather in Paris and Rome?"},
      {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "toolu_1", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "toolu_2", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
      {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: timeout"},
      {"role": "user", "content": "Thanks"}],
    "tools": [{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                     "required": ["city"]},
      "description": "Weather of a city"}}],
    "max_tokens": 64, "tool_choice": "required", "parallel_tool_calls": false})"));
  // An assistant turn of tool calls only has no text; a turn of tool results only, no user
  // message.
  const auto calls_only = chat_of(R"({"model": "m", "max_tokens": 8, "messages": [
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]})");
  EXPECT_EQ(calls_only.at("messages"), json::parse(R"([
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "t", "content": ""}])"));
}

TEST(MessagesToChat, ToolChoiceEachWay) {
  const std::string tools =
      R"("tools": [{"name": "f", "input_schema": {"type": "object"}}], "messages": [])";
  const auto choice_of = [&](std::string_view choice) {
    auto chat = chat_of(R"({"model": "m", "max_tokens": 8, )" + tools +
                        ", \"tool_choice\": " + std::string(choice) + "}");
    return chat.as_object().contains("tool_choice") ? chat.at("tool_choice") : json::value();
  };
  EXPECT_EQ(choice_of(R"({"type": "auto"})"), "auto");
  EXPECT_EQ(choice_of(R"({"type": "none"})"), "none");
  EXPECT_EQ(choice_of(R"({"type": "any"})"), "required");
  EXPECT_EQ(choice_of(R"({"type": "tool", "name": "f"})"),
            json::parse(R"({"type": "function", "function": {"name": "f"}})"));
  // Without tools: auto and none mean nothing to a chat server (which refuses them there).
  EXPECT_FALSE(chat_of(R"({"model": "m", "max_tokens": 8, "messages": [],
                           "tool_choice": {"type": "auto"}})")
                   .as_object()
                   .contains("tool_choice"));
}

TEST(MessagesToChat, ImagesBecomeImageUrlParts) {
  const auto chat = chat_of(R"({"model": "m", "max_tokens": 8, "messages": [
      {"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "What differs?"}]}]})");
  EXPECT_EQ(chat.at("messages"), json::parse(R"([{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
      {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
      {"type": "text", "text": "What differs?"}]}])"));
}

// Chat tool messages take text only: a tool result's image (a screenshot tool's) goes to the user
// message after the tool messages, and the tool's text says where it is.
TEST(MessagesToChat, AToolResultsImagesFollowInAUserMessage) {
  const auto chat = chat_of(R"({"model": "m", "max_tokens": 8, "messages": [
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": [
          {"type": "text", "text": "Screenshot taken"},
          {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                       "data": "iVBO"}}]},
        {"type": "text", "text": "What do you see?"}]}]})");
  EXPECT_EQ(chat.at("messages"), json::parse(R"json([
      {"role": "tool", "tool_call_id": "t",
       "content": "Screenshot taken\n\n(the tool's image is in the next user message)"},
      {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        {"type": "text", "text": "What do you see?"}]}])json"));
}

TEST(MessagesToChat, ThinkingBecomesReasoningEffortWithTheNewerLimitName) {
  const auto chat = chat_of(R"({"model": "m", "max_tokens": 20000, "messages": [],
      "thinking": {"type": "enabled", "budget_tokens": 10000}})");
  EXPECT_EQ(chat.at("reasoning_effort"), "medium");
  EXPECT_EQ(chat.at("max_completion_tokens"), 20000);
  EXPECT_FALSE(chat.as_object().contains("max_tokens"));
  EXPECT_EQ(chat_of(R"({"model": "m", "max_tokens": 9, "messages": [],
                        "thinking": {"type": "enabled", "budget_tokens": 1024}})")
                .at("reasoning_effort"),
            "low");
  const auto off = chat_of(R"({"model": "m", "max_tokens": 9, "messages": [],
                               "thinking": {"type": "disabled"}})");
  EXPECT_FALSE(off.as_object().contains("reasoning_effort"));
  EXPECT_EQ(off.at("max_tokens"), 9);
}

// What chat cannot express is a 400 naming the field, never dropped.
TEST(MessagesToChat, RefusesWhatChatCannotExpressNamingTheField) {
  struct Case {
    std::string extra;  // members after max_tokens
    std::string param;
  };
  for (const auto& c : {
           Case{R"("messages": [{"role": "user", "content": [{"type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "x"}}]}])",
                "messages[0].content[0].type"},
           Case{R"("messages": [{"role": "system", "content": "x"}])", "messages[0].role"},
           Case{R"("messages": [{"role": "user", "content": 5}])", "messages[0].content"},
           Case{R"("messages": [{"role": "user", "content": [{"type": "tool_result",
                "tool_use_id": "t", "content": [{"type": "document", "source": {}}]}]}])",
                "messages[0].content[0].content[0].type"},
           Case{R"("system": [{"type": "image", "source": {"type": "url", "url": "u"}}],
                "messages": [])",
                "system[0].type"},
           Case{R"("messages": [{"role": "user", "content": [{"type": "image",
                "source": {"type": "file", "file_id": "f"}}]}])",
                "messages[0].content[0].source.type"},
           Case{R"("messages": [{"role": "assistant", "content": [{"type": "tool_use",
                "id": "t", "name": "f", "input": "{}"}]}])",
                "messages[0].content[0].input"},
           Case{R"("messages": [], "tools": [{"type": "web_search_20250305",
                "name": "web_search"}])",
                "tools[0].type"},
           Case{R"("messages": [], "tools": [{"name": "f"}])", "tools[0].input_schema"},
           Case{R"("messages": [], "tool_choice": {"type": "any"})", "tool_choice"},
           Case{R"("messages": [], "tool_choice": {"type": "some"})", "tool_choice.type"},
           Case{R"("messages": [], "thinking": {"type": "enabled"})", "thinking.budget_tokens"},
           Case{R"("messages": [], "metadata": {"session": "s"})", "metadata.session"},
           Case{R"("messages": [], "stop_sequences": "x")", "stop_sequences"},
           Case{R"("messages": [], "container": "c")", "container"},
           Case{R"("messages": [], "mcp_servers": [])", "mcp_servers"},
           Case{R"("messages": [{"role": "user", "content": "Answer in JSON"},
                {"role": "assistant", "content": "{"}])",
                "messages[1].role"},
       }) {
    const std::string body = R"({"model": "m", "max_tokens": 8, )" + c.extra + "}";
    auto chat = messages_to_chat(body);
    ASSERT_FALSE(chat.has_value()) << body;
    EXPECT_EQ(chat.error().param, c.param) << chat.error().message;
    EXPECT_EQ(core::http_status(chat.error()), 400);
  }
}

}  // namespace
}  // namespace gw::api
