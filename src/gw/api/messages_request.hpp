#pragma once

// POST /v1/messages (Anthropic's Messages API), request side: what routing needs from the body.

#include <string>
#include <tl/expected.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/core/error.hpp"

namespace gw::api {

// Validates a Messages body as Anthropic does before routing it: one JSON object with a non-empty
// string `model`, `max_tokens` an integer of at least 1 (required, as Anthropic requires it),
// `messages` an array, `stream` a boolean if present. Reads the routing fields as for chat:
// `model_begin`/`model_end` allow splicing the model for a pass-through. Every other field is left
// to the upstream. Errors are 400s naming the field.
tl::expected<ChatRequestInfo, core::Error> inspect_messages_request(const std::string& body);

// POST /v1/messages/count_tokens: the same checks, less max_tokens (counting has none).
tl::expected<ChatRequestInfo, core::Error> inspect_count_tokens_request(const std::string& body);

}  // namespace gw::api
