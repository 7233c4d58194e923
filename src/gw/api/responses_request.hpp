#pragma once

// POST /v1/responses (OpenAI's Responses API), request side: reading a body for routing, and
// translating it into the equivalent chat-completions request for providers that have only chat.

#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/core/error.hpp"

namespace gw::api {

// Validates a Responses body for routing (a JSON object with a non-empty string `model`, once;
// `stream` a boolean or null, once) and reads the routing fields, as for chat: `model_begin` and
// `model_end` allow splicing the model name for a native pass-through. Every other field is left
// to the upstream (native) or to responses_to_chat (translated).
tl::expected<ChatRequestInfo, core::Error> inspect_responses_request(const std::string& body);

// A Responses request as a chat-completions request, for a provider without the Responses API.
struct ResponsesAsChat {
  // The chat-completions request: messages from `instructions` and `input`, tools, tool_choice,
  // sampling and limits renamed.
  ChatRequest chat;
  // The request's settings as the response object repeats them: JSON members without braces
  // ("instructions":...,"max_output_tokens":...,...), the documented defaults where absent.
  std::string echoed;
};

// Translates a Responses body (already inspected). What needs OpenAI's server-side state or
// hosted tools (previous_response_id, conversation, stored items, built-in tools, background,
// store: true) is refused with a 400 naming the field, as is any field the gateway does not know:
// nothing the client asked for is silently dropped.
tl::expected<ResponsesAsChat, core::Error> responses_to_chat(std::string_view body);

}  // namespace gw::api
