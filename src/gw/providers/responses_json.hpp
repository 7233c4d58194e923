#pragma once

// Reading JSON in the translators to other APIs than chat (responses_from_chat.cpp,
// responses_relay.cpp, messages_from_chat.cpp, messages_relay.cpp): simdjson's DOM parser on one
// object at a time. Internal to gw_providers.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gw/api/completion_json.hpp"
#include "gw/core/error.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/sse.hpp"

namespace gw::providers::responses_json {

namespace dom = simdjson::dom;

// Parses one JSON object from a padded copy kept between calls (simdjson reads a few bytes past
// the end); the result is valid until the thread's next parse.
inline simdjson::simdjson_result<dom::object> parse_object(std::string_view text) {
  thread_local dom::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  return parser.parse(padded.data(), padded.size(), false).get_object();
}

// A string member (empty if absent or not a string) of an element, object or lookup result.
template <class Node>
std::string_view text_at(Node node, std::string_view key) {
  std::string_view value;
  return node[key].get(value) == simdjson::SUCCESS ? value : std::string_view();
}

// An element's string (empty if it is not one).
inline std::string_view string_of(dom::element element) {
  std::string_view value;
  return element.get(value) == simdjson::SUCCESS ? value : std::string_view();
}

// A token count member, made safe to add up (0 if absent).
template <class Node>
int64_t count_at(Node node, std::string_view key) {
  int64_t value = 0;
  return node[key].get(value) == simdjson::SUCCESS ? api::sane_token_count(value) : 0;
}

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
