#pragma once

// Reading an upstream's JSON where the translators need more than a splice: simdjson's DOM parser
// on one object at a time, and the member lookups every translator makes. Internal to
// gw_providers.

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gw/api/usage.hpp"

namespace gw::providers::json_read {

namespace dom = simdjson::dom;

// Parses one JSON object from a padded copy kept between calls (simdjson reads a few bytes past
// the end); the result is valid until the thread's next parse. It validates all of the text.
// Numbers beyond 64-bit integers and doubles fail with NUMBER_ERROR (never read approximated); of
// duplicate keys, the first counts.
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

// An integer member (0 if absent or not an integer).
template <class Node>
int64_t int_at(Node node, std::string_view key) {
  int64_t value = 0;
  return node[key].get(value) == simdjson::SUCCESS ? value : 0;
}

// A token count member, made safe to add up (0 if absent).
template <class Node>
int64_t count_at(Node node, std::string_view key) {
  return api::sane_token_count(int_at(node, key));
}

// An object member, if it is one.
inline std::optional<dom::object> object_at(dom::object object, std::string_view key) {
  dom::object member;
  if (object[key].get(member) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return member;
}

// OpenAI's usage object (a chat completion's or chunk's) as counts: prompt and completion tokens
// (0 when absent), the cached share (at most the prompt) and the reasoning tokens when reported.
inline api::Usage read_chat_usage(dom::element usage) {
  api::Usage counts{.prompt_tokens = count_at(usage, "prompt_tokens"),
                    .completion_tokens = count_at(usage, "completion_tokens")};
  if (int64_t tokens = 0;
      usage["prompt_tokens_details"]["cached_tokens"].get(tokens) == simdjson::SUCCESS) {
    counts.cached_tokens = std::min(api::sane_token_count(tokens), counts.prompt_tokens);
  }
  if (int64_t tokens = 0;
      usage["completion_tokens_details"]["reasoning_tokens"].get(tokens) == simdjson::SUCCESS) {
    counts.reasoning_tokens = api::sane_token_count(tokens);
  }
  return counts;
}

}  // namespace gw::providers::json_read
