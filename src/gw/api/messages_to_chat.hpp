#pragma once

// POST /v1/messages (Anthropic's Messages API) for a provider that has only chat completions: the
// request translated into the equivalent chat-completions request.

#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/core/error.hpp"

namespace gw::api {

// Translates a Messages body (already inspected: model, max_tokens, messages checked) into a
// chat-completions body. `system` becomes the first message; text, image (base64 and url),
// tool_use and tool_result blocks their chat equivalents; tools, tool_choice, stop_sequences,
// sampling and limits are renamed; `thinking` becomes `reasoning_effort`. `cache_control` markers
// and the assistant's own earlier thinking blocks have no chat equivalent and are left out (OpenAI
// caches prefixes by itself; chat takes no reasoning as input). Anything else the chat API cannot
// express is refused with a 400 naming the field: nothing the client asked for is silently lost.
tl::expected<std::string, core::Error> messages_to_chat(std::string_view body);

}  // namespace gw::api
