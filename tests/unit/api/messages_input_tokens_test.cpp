// POST /v1/messages/count_tokens for providers that count with OpenAI's POST
// /responses/input_tokens: the Messages body as that endpoint's body. The Responses shapes are
// those of OpenAI's API reference (input items EasyInputMessage, function_call,
// function_call_output; input_text and input_image parts; FunctionTool; ToolChoiceFunction).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gw/api/messages_to_chat.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;

json::value count_body_of(std::string_view messages_body) {
  auto body = messages_to_input_tokens(messages_body, "gpt-4o-2024-08-06");
  EXPECT_TRUE(body.has_value()) << (body ? "" : body.error().message);
  return body ? json::parse(*body) : json::value();
}

// A tool round trip with a system prompt, an image and thinking: every part of the prompt in its
// Responses shape, the upstream model in place of the client's.
TEST(MessagesToInputTokens, ATooledConversationBecomesResponsesInputItems) {
  EXPECT_EQ(count_body_of(R"({"model": "openai/gpt-4o", "system": "Be terse.",
      "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather here?"},
          {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
          {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
          {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 C", "is_error": false}]}],
      "tools": [{"name": "get_weather", "description": "Weather by city",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
      "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
      "thinking": {"type": "enabled", "budget_tokens": 2048}})"),
            json::parse(R"({"model": "gpt-4o-2024-08-06", "instructions": "Be terse.",
      "input": [
        {"type": "message", "role": "user", "content": [
          {"type": "input_text", "text": "Weather here?"},
          {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"}]},
        {"type": "message", "role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "toolu_1", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "15 C"}],
      "tools": [{"type": "function", "name": "get_weather", "description": "Weather by city",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                 "strict": false}],
      "tool_choice": "auto", "parallel_tool_calls": false,
      "reasoning": {"effort": "low"}})"));
}

// A named tool choice loses chat's nesting; an assistant turn that is only a tool call has no
// message item; a final assistant turn (refused when answering) is counted.
TEST(MessagesToInputTokens, NamedChoiceCallOnlyTurnsAndAFinalAssistantTurn) {
  EXPECT_EQ(count_body_of(R"({"model": "m", "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
        {"role": "assistant", "content": "The answer is"}],
      "tools": [{"name": "f", "input_schema": {"type": "object"}}],
      "tool_choice": {"type": "tool", "name": "f"}})"),
            json::parse(R"({"model": "gpt-4o-2024-08-06", "input": [
        {"type": "message", "role": "user", "content": "Hi"},
        {"type": "function_call", "call_id": "t", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "t", "output": ""},
        {"type": "message", "role": "assistant", "content": "The answer is"}],
      "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"},
                 "strict": false}],
      "tool_choice": {"type": "function", "name": "f"}})"));
}

// What the translation refuses when answering, it refuses when counting: a 400 naming the field.
TEST(MessagesToInputTokens, WhatChatCannotExpressIsRefusedNamingIt) {
  auto body = messages_to_input_tokens(R"({"model": "m", "messages": [{"role": "user",
      "content": [{"type": "document", "source": {}}]}]})",
                                       "m");
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error().param, "messages[0].content[0].type");
  body = messages_to_input_tokens(
      R"({"model": "m", "messages": [], "thinking": {"type": "enabled"}})", "m");
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error().param, "thinking.budget_tokens");
}

}  // namespace
}  // namespace gw::api
