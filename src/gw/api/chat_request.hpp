#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/api/completion_json.hpp"
#include "gw/core/error.hpp"

namespace gw::api {

// What routing needs from a chat-completions request, read without building a DOM.
struct ChatRequestInfo {
  std::string model;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool has_stream_options = false;  // the client sent stream_options (with or without usage)
  // Set by a worker whose controller asked for the stream's usage chunk in a header (not in the
  // body, which then passes the hop unchanged): the controller counts the stream's tokens from
  // it, and keeps it from its own client if that client did not ask (include_usage).
  bool usage_for_controller = false;
  // Byte range of the model's JSON string token (quotes included) in the body, for splicing.
  size_t model_begin = 0;
  size_t model_end = 0;
  // The "max_tokens" key's string token in the body, for renaming it; how many such keys there
  // are, and whether max_completion_tokens is given too.
  size_t max_tokens_key_begin = 0;
  size_t max_tokens_key_end = 0;
  int max_tokens_keys = 0;
  bool has_max_completion_tokens = false;
};

// Validates a chat-completions body (a JSON object with a non-empty string `model` and a
// non-empty `messages` array of objects with a string `role`; `stream` boolean if present) and
// reads the routing fields.
// Errors are 400 invalid_request_error with `param` naming the field.
tl::expected<ChatRequestInfo, core::Error> inspect_chat_request(const std::string& body);

// Validates a legacy completions body (POST /v1/completions) the same way, with a `prompt` (a
// string or an array) in place of `messages`.
tl::expected<ChatRequestInfo, core::Error> inspect_completions_request(const std::string& body);

// The text of the last user message (string content, or its text parts joined), for echo.
// Prompt word count: words across all message text, a deterministic stand-in for tokens.
struct EchoInput {
  std::string text;
  size_t prompt_words = 0;
};
EchoInput echo_input(const std::string& body);

// Quotes and escapes a string as a JSON string token.
std::string json_quote(std::string_view text);

// The client's body as sent upstream, as parts written in order: the model replaced by
// `upstream_model` (unless equal), and, when `request_usage` is set on a stream whose client did
// not ask for usage, "stream_options": {"include_usage": true} added, so that the gateway can
// count tokens (the usage chunk is then kept from the client). The bytes are spliced, never
// re-serialised, except when the client sent stream_options without include_usage: then the
// body is rewritten. `storage` holds what the parts point to besides `body`.
// With `max_completion_tokens`, a `max_tokens` key is renamed to max_completion_tokens (what
// OpenAI's reasoning models take) unless the client sent both, or max_tokens twice.
void upstream_chat_body(std::string_view body, const ChatRequestInfo& info,
                        std::string_view upstream_model, bool request_usage, std::string& storage,
                        std::vector<std::string_view>& parts, bool max_completion_tokens = false);

// A chat-completions request the gateway wrote itself (a Messages or Responses request translated):
// its tree, the body written from it, and what inspect_chat_request would read from that text,
// read from the tree instead.
struct ChatRequest {
  boost::json::object tree;
  std::string body;
  ChatRequestInfo info;
};

// Writes a translator's chat request (a tree whose "model" is a string) as a body: "model" first
// and "max_tokens" second, so that their places in the text are known for upstream_chat_body's
// splices, then the rest in the tree's order. The tree is kept in the result.
ChatRequest write_chat_request(boost::json::object chat);

// Whether upstream_chat_body adds a usage request the client did not make.
inline bool adds_usage_request(const ChatRequestInfo& info, bool request_usage) {
  return request_usage && info.stream && !info.include_usage;
}

// Whether a stream's usage chunk is sent on: the client asked for it, or the controller did.
inline bool sends_usage_chunk(const ChatRequestInfo& info) {
  return info.include_usage || info.usage_for_controller;
}

// Whether the usage chunk of an upstream's stream is kept from the client: the gateway asked for
// it (adds_usage_request) and nobody it answers wants it.
inline bool strips_usage_chunk(const ChatRequestInfo& info, bool request_usage) {
  return adds_usage_request(info, request_usage) && !info.usage_for_controller;
}

// The client's request body as a JSON object tree for a translator, in `memory`. Nesting is
// allowed as deep as the inspector allows (a tool's JSON schema may nest deeply); the error says
// which way the body is wrong.
inline constexpr size_t kMaxRequestDepth = 512;
tl::expected<boost::json::object, core::Error> parse_request_object(
    std::string_view body, boost::json::storage_ptr memory = {});

// Whether `text` is one well-formed JSON object (valid UTF-8 included): what a relayed
// non-streamed body must be before it is labelled application/json; and, read in the same pass,
// its top-level "usage" counts (clamped by sane_token_count).
struct JsonObjectCheck {
  bool is_object = false;
  std::optional<Usage> usage;
};
JsonObjectCheck check_json_object(std::string_view text);

}  // namespace gw::api
