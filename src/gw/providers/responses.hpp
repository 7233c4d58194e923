#pragma once

// POST /v1/responses, answer side: the translators that give the client OpenAI's Responses format.

#include <memory>
#include <string>
#include <string_view>

#include "gw/providers/provider.hpp"

namespace gw::providers {

// Identity and settings of one translated response.
struct ResponseIdentity {
  std::string id;          // "resp_..."
  int64_t created_at = 0;  // Unix seconds
  std::string echoed;      // api::ResponsesAsChat::echoed
};

// A new response's identity: a unique id, created now.
ResponseIdentity new_response_identity(std::string echoed);

// Wraps a provider's chat translator (whose output is OpenAI's chat-completions format): the
// chat.completion becomes a `response` object; the chat stream becomes the Responses event
// sequence (response.created, output items and their deltas, response.completed or
// response.incomplete), each event with its increasing sequence_number. A stream that fails after
// it began ends with an `error` event and response.failed. (responses_from_chat.cpp)
std::unique_ptr<ResponseTranslator> make_responses_from_chat(
    std::unique_ptr<ResponseTranslator> chat, ResponseIdentity identity);

// Relays an upstream's own Responses answer unchanged (OpenAI, Azure, a worker): a body checked to
// be a JSON object, or a stream cut at event boundaries that finishes with its terminal event
// (response.completed, response.incomplete or response.failed); usage read on the way. An error
// event or response.failed is the stream's error; a chat-style [DONE] before a terminal event ends
// it with an error event. (responses_relay.cpp)
std::unique_ptr<ResponseTranslator> make_responses_pass_through();

// The "usage" of a Responses object (input_tokens, output_tokens) as token counts.
std::optional<api::Usage> read_responses_usage(std::string_view response_json);

}  // namespace gw::providers
