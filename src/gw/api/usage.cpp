// Reading usage back from OpenAI-format answers (and checking a relayed body is JSON).

#include <simdjson.h>

#include "gw/api/chat_request.hpp"

namespace gw::api {

JsonObjectCheck check_json_object(std::string& text) {
  // The DOM parser validates the whole text (the on-demand one checks only what it visits). It
  // reads SIMDJSON_PADDING bytes past the end: given the string's own spare capacity it parses in
  // place, where it would otherwise allocate and fill a padded copy on every call.
  thread_local simdjson::dom::parser parser;
  if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  JsonObjectCheck check;
  simdjson::dom::object root;
  if (parser.parse(text.data(), text.size(), false).get(root) != simdjson::SUCCESS) {
    return check;
  }
  check.is_object = true;
  // The usage in the same pass, as read_usage would read it (the last "usage" key wins).
  simdjson::dom::object usage;
  for (auto [key, value] : root) {
    if (key == "usage") {
      check.usage.reset();
      if (value.get(usage) == simdjson::SUCCESS) {
        Usage counts;
        for (auto [name, count] : usage) {
          int64_t number = 0;
          if ((name == "prompt_tokens" || name == "completion_tokens") &&
              count.get(number) == simdjson::SUCCESS) {
            (name == "prompt_tokens" ? counts.prompt_tokens : counts.completion_tokens) =
                sane_token_count(number);
          }
        }
        check.usage = counts;
      }
    }
  }
  return check;
}

std::optional<Usage> read_usage(std::string_view json) {
  // A completion carries its usage last: parse only from the last "usage" key on, not the whole
  // body (an unescaped "usage": can only be a key; strings escape their quotes).
  std::string_view from = json;
  if (const size_t key = json.rfind(R"("usage":)"); key != std::string_view::npos) {
    from = json.substr(key + 8);
  } else if (json.find(R"("usage")") == std::string_view::npos) {
    return std::nullopt;
  }
  const simdjson::padded_string padded(from);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  simdjson::ondemand::object usage;
  const bool whole_document = from.size() == json.size();
  const auto found = whole_document ? doc.find_field_unordered("usage").get_object().get(usage)
                                    : doc.get_object().get(usage);
  if (found != simdjson::SUCCESS) {
    return std::nullopt;
  }
  Usage counts;
  for (auto field : usage) {
    std::string_view key;
    int64_t number = 0;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    if (key != "prompt_tokens" && key != "completion_tokens") {
      continue;
    }
    if (field.value().get_int64().get(number) != simdjson::SUCCESS) {
      continue;
    }
    (key == "prompt_tokens" ? counts.prompt_tokens : counts.completion_tokens) = number;
    if (counts.prompt_tokens >= 0 && counts.completion_tokens >= 0) {
      break;  // what follows the object is never looked at
    }
  }
  return counts;
}

}  // namespace gw::api
