#pragma once

// POST /v1/messages (Anthropic's Messages API) for a provider that has only chat completions: the
// request translated into the equivalent chat-completions request.

#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/core/error.hpp"

namespace gw::api {

// Translates a Messages body (already inspected: model, max_tokens, messages checked) into a
// chat-completions body. `system` becomes the first message; text, image (base64 and url),
// tool_use and tool_result blocks their chat equivalents; tools, tool_choice, stop_sequences,
// sampling and limits are renamed; `thinking` becomes `reasoning_effort`. `cache_control` markers
// and the assistant's own earlier thinking blocks have no chat equivalent and are left out (OpenAI
// caches prefixes by itself; chat takes no reasoning as input). Anything else the chat API cannot
// express is refused with a 400 naming the field: nothing the client asked for is silently lost.
tl::expected<ChatRequest, core::Error> messages_to_chat(std::string_view body);

// POST /v1/messages/count_tokens for a provider that counts with OpenAI's POST
// /responses/input_tokens: the Messages body (checked by inspect_count_tokens_request) as that
// endpoint's body, for `upstream_model`. Translated as above (a final assistant turn is counted,
// not refused), then into Responses input items: system as `instructions`, messages, function
// calls and their outputs as items, tools as Responses function tools (`strict: false`, chat's
// default; the Responses API's would refuse many schemas). Only what makes the prompt is sent:
// the endpoint takes no limits or sampling fields.
tl::expected<std::string, core::Error> messages_to_input_tokens(std::string_view body,
                                                                std::string_view upstream_model);

}  // namespace gw::api
