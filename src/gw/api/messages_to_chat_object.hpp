#pragma once

// Inside gw_api: the Messages-to-chat translation as a JSON object, for the translations that
// continue from chat (count_tokens to OpenAI's input-token count).

#include <boost/json/object.hpp>
#include <string_view>
#include <tl/expected.hpp>

#include "gw/core/error.hpp"

namespace gw::api {

enum class MessagesUse {
  kAnswer,  // a message to generate: a final assistant turn (a prefill) is refused
  kCount,   // a prompt to count: every turn is only input
};

// messages_to_chat (messages_to_chat.hpp), before serialisation.
tl::expected<boost::json::object, core::Error> messages_to_chat_object(std::string_view body,
                                                                       MessagesUse use);

}  // namespace gw::api
