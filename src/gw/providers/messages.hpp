#pragma once

// POST /v1/messages (Anthropic's Messages API), answer side: the translators that give the client
// Anthropic's format.

#include <memory>
#include <string>

#include "gw/providers/provider.hpp"

namespace gw::providers {

// Relays Anthropic's own Messages answer unchanged (Anthropic, a worker in front of it): a body
// checked to be a JSON object, or a stream cut at event boundaries that finishes with
// message_stop; usage read on the way (message_start, message_delta); an `error` event is the
// stream's error. A stream the gateway must end early ends with Anthropic's `error` event.
// (messages_relay.cpp)
std::unique_ptr<ResponseTranslator> make_messages_pass_through();

// POST /v1/messages/count_tokens counted by OpenAI's POST /responses/input_tokens: its answer
// as Anthropic's {"input_tokens": N}. (messages_relay.cpp)
std::unique_ptr<ResponseTranslator> make_count_from_input_tokens();

// Wraps a provider's chat translator (whose output is OpenAI's chat-completions format): the
// chat.completion becomes a `message`; the chat stream becomes the Messages event sequence
// (message_start, a ping, each content block's start, deltas and stop, message_delta with the
// stop reason and usage, message_stop). A stream that fails after it began ends with an `error`
// event. `requested_model` names the message's model when the upstream does not; `id` is the
// message's id (empty: a new "msg_..." one).
// (messages_from_chat.cpp)
std::unique_ptr<ResponseTranslator> make_messages_from_chat(
    std::unique_ptr<ResponseTranslator> chat, std::string requested_model, std::string id = {});

}  // namespace gw::providers
