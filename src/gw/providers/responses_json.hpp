#pragma once

// What the translators to other APIs than chat share (responses_from_chat.cpp,
// responses_relay.cpp, messages_from_chat.cpp, messages_relay.cpp): event types, error events,
// and reading the chat format they translate from. Internal to gw_providers.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gw/api/completion_json.hpp"
#include "gw/core/error.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/sse.hpp"
#include "gw/providers/common/json_read.hpp"

namespace gw::providers::responses_json {

// The shared readers (parse_object, text_at, count_at, ...) under this name too.
using namespace json_read;

// An event's type: its `event:` field, which OpenAI's Responses streams and Anthropic's send with
// every event, or else the "type" its JSON begins with (as they and the gateway write it). Never a
// search of the whole event: a delta or a response object may hold any text.
inline std::string_view event_type(const net::SseEvent& event) {
  if (!event.event.empty()) {
    return event.event;
  }
  constexpr std::string_view kHead = R"({"type":")";
  if (!event.data.starts_with(kHead)) {
    return {};
  }
  const std::string_view rest = event.data.substr(kHead.size());
  return rest.substr(0, rest.find('"'));
}

inline void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
}

// An error's code as the Responses API names it ("server_error" when the table has none).
inline std::string_view error_code_of(const core::Error& error) {
  const std::string_view code = core::error_code(error);
  return code.empty() ? std::string_view("server_error") : code;
}

// The members of an `error` event after its type and sequence_number: code, message and param at
// the top, as documented, and again under "error" with the type, as OpenAI sends them and the
// SDKs read them.
inline std::string error_event_members(const core::Error& error) {
  std::string fields = R"("code":)";
  append_quoted(fields, error_code_of(error));
  fields += R"(,"message":)";
  append_quoted(fields, error.message);
  fields += R"(,"param":null)";
  std::string out = fields;
  out += R"(,"error":{"type":)";
  append_quoted(out, core::error_type(error));
  out += ',';
  out += fields;
  out += '}';
  return out;
}

// The chat-completions format every provider translator produces, read by the translators that
// give the client another API (responses_from_chat.cpp, messages_from_chat.cpp).

inline core::Error protocol_error(std::string what) {
  return {core::Errc::kUpstreamError, std::move(what)};
}

// The choice a completion's or chunk's "choices" member gives the answer: index 0 (or unnumbered).
inline std::optional<dom::object> first_choice(
    simdjson::simdjson_result<dom::element> choices_member) {
  dom::array choices;
  if (choices_member.get(choices) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  for (dom::element element : choices) {
    dom::object choice;
    int64_t index = 0;
    if (element.get(choice) == simdjson::SUCCESS &&
        (choice["index"].get(index) != simdjson::SUCCESS || index == 0)) {
      return choice;
    }
  }
  return std::nullopt;
}

// A message's content: a string, or text parts (joined).
inline std::string content_text(dom::object message) {
  std::string_view text;
  if (message["content"].get(text) == simdjson::SUCCESS) {
    return std::string(text);
  }
  std::string joined;
  if (dom::array parts; message["content"].get(parts) == simdjson::SUCCESS) {
    for (dom::element part : parts) {
      joined += text_at(part, "text");
    }
  }
  return joined;
}

// The failure a chat stream's own error event reports (`error` an object or a string).
inline core::Error chunk_failure(dom::element error) {
  std::string_view message;
  core::Error failure(core::Errc::kUpstreamError, "the upstream reported an error");
  if (error.get(message) == simdjson::SUCCESS || !(message = text_at(error, "message")).empty()) {
    failure.message = message;
  }
  failure.code = text_at(error, "code");
  return failure;
}

}  // namespace gw::providers::responses_json
