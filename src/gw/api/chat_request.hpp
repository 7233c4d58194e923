#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/core/error.hpp"

namespace gw::api {

// What routing needs from a chat-completions request, read without building a DOM.
struct ChatRequestInfo {
  std::string model;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Byte range of the model's JSON string token (quotes included) in the body, for splicing.
  size_t model_begin = 0;
  size_t model_end = 0;
};

// Validates a chat-completions body (a JSON object with a non-empty string `model` and a
// non-empty `messages` array of objects with a string `role`; `stream` boolean if present) and
// reads the routing fields.
// Errors are 400 invalid_request_error with `param` naming the field.
tl::expected<ChatRequestInfo, core::Error> inspect_chat_request(const std::string& body);

// The text of the last user message (string content, or its text parts joined), for echo.
// Prompt word count: words across all message text, a deterministic stand-in for tokens.
struct EchoInput {
  std::string text;
  size_t prompt_words = 0;
};
EchoInput echo_input(const std::string& body);

// Quotes and escapes a string as a JSON string token.
std::string json_quote(std::string_view text);

}  // namespace gw::api
