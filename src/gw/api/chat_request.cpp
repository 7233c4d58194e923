#include "gw/api/chat_request.hpp"

#include <fmt/format.h>

#include "gw/api/request_json.hpp"
#include "gw/core/logging.hpp"

namespace gw::api {
namespace {

using core::Error;
using core::invalid_request;
using request_json::check_skipped;
using request_json::malformed;
using request_json::padded;
using request_json::thread_parser;
namespace od = simdjson::ondemand;

size_t count_words(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) {
      ++words;
    }
    in_word = !space;
  }
  return words;
}

tl::expected<void, Error> check_messages(od::value value) {
  od::array messages;
  if (value.get_array().get(messages) != simdjson::SUCCESS) {
    return tl::unexpected(invalid_request("'messages' must be an array", "messages"));
  }
  size_t index = 0;
  for (auto element : messages) {
    od::object message;
    if (element.get_object().get(message) != simdjson::SUCCESS) {
      return tl::unexpected(
          invalid_request(fmt::format("'messages[{}]' must be an object", index), "messages"));
    }
    bool has_role = false;
    for (auto field : message) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
        return tl::unexpected(malformed());
      }
      if (key == "role") {
        std::string_view role;
        if (field.value().get_string().get(role) != simdjson::SUCCESS || role.empty()) {
          return tl::unexpected(
              invalid_request(fmt::format("'messages[{}].role' must be a string", index),
                              fmt::format("messages[{}].role", index)));
        }
        has_role = true;
      } else if (od::value other; field.value().get(other) != simdjson::SUCCESS) {
        return tl::unexpected(malformed());
      } else if (auto checked = check_skipped(other); !checked) {
        return tl::unexpected(checked.error());
      }
    }
    if (!has_role) {
      return tl::unexpected(invalid_request(fmt::format("'messages[{}]' is missing 'role'", index),
                                            fmt::format("messages[{}].role", index)));
    }
    ++index;
  }
  if (index == 0) {
    return tl::unexpected(
        invalid_request("'messages' must contain at least one message", "messages"));
  }
  return {};
}

// "stream": a boolean or null.
tl::expected<void, Error> read_stream(od::value value, ChatRequestInfo& info) {
  bool is_null = false;
  if (value.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
    info.stream = false;
  } else if (value.get_bool().get(info.stream) != simdjson::SUCCESS) {
    return tl::unexpected(invalid_request("'stream' must be a boolean", "stream"));
  }
  return {};
}

// "stream_options": whether it asks for usage; everything else in it only checked.
tl::expected<void, Error> read_stream_options(od::value value, ChatRequestInfo& info) {
  info.has_stream_options = true;
  od::object options;
  if (value.get_object().get(options) != simdjson::SUCCESS) {
    return check_skipped(value);
  }
  for (auto option : options) {
    std::string_view name;
    od::value member;
    if (option.unescaped_key().get(name) != simdjson::SUCCESS ||
        option.value().get(member) != simdjson::SUCCESS) {
      return tl::unexpected(malformed());
    }
    od::json_type type{};
    if (name == "include_usage" && member.type().get(type) == simdjson::SUCCESS &&
        type == od::json_type::boolean) {
      bool include = false;
      if (member.get_bool().get(include) != simdjson::SUCCESS) {
        return tl::unexpected(malformed());
      }
      info.include_usage = include;
    } else if (auto checked = check_skipped(member); !checked) {
      return checked;
    }
  }
  return {};
}

// "prompt" of a legacy completion: a string, or an array (of strings, token ids or arrays of
// them: the upstream judges the elements, which are only checked to be JSON here).
tl::expected<void, Error> check_prompt(od::value value) {
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS ||
      (type != od::json_type::string && type != od::json_type::array)) {
    return tl::unexpected(invalid_request("'prompt' must be a string or an array", "prompt"));
  }
  return check_skipped(value);
}

// A chat or legacy completions body: the routing fields, and `content_key` (messages or prompt)
// required and checked by `check_content`.
tl::expected<ChatRequestInfo, core::Error> inspect_generation(
    const std::string& body, std::string_view content_key,
    tl::expected<void, Error> (*check_content)(od::value)) {
  ChatRequestInfo info;
  bool has_content = false;
  bool has_stream = false;
  auto walked = request_json::for_each_field(body, [&](request_json::Field& field) {
    const std::string_view key = field.key;
    od::value& value = field.value;
    if (key == "model") {
      return request_json::read_model(value, field.base, info.model, info.model_begin,
                                      info.model_end);
    }
    if (key == "max_tokens" && ++info.max_tokens_keys == 1) {
      info.max_tokens_key_begin = field.key_begin;
      info.max_tokens_key_end =
          field.key_begin + request_json::string_token_length(field.base + field.key_begin);
    } else if (key == "max_completion_tokens") {
      info.has_max_completion_tokens = true;
    }
    if (key == content_key) {
      has_content = true;
      return check_content(value);
    }
    if (key == "stream") {
      // A second "stream" key would decide by one value while an upstream parser may take
      // the other: refused, not guessed.
      if (has_stream) {
        return tl::expected<void, Error>(
            tl::unexpect, invalid_request("'stream' appears more than once", "stream"));
      }
      has_stream = true;
      return read_stream(value, info);
    }
    if (key == "stream_options") {
      return read_stream_options(value, info);
    }
    return check_skipped(value);
  });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  if (info.model.empty()) {
    return tl::unexpected(invalid_request("you must provide a model parameter", "model"));
  }
  if (!has_content) {
    return tl::unexpected(invalid_request(fmt::format("'{}' is a required property", content_key),
                                          std::string(content_key)));
  }
  return info;
}

}  // namespace

tl::expected<ChatRequestInfo, core::Error> inspect_chat_request(const std::string& body) {
  return inspect_generation(body, "messages", check_messages);
}

tl::expected<ChatRequestInfo, core::Error> inspect_completions_request(const std::string& body) {
  return inspect_generation(body, "prompt", check_prompt);
}

EchoInput echo_input(const std::string& body) {
  EchoInput out;
  od::document doc;
  if (thread_parser().iterate(padded(body)).get(doc) != simdjson::SUCCESS) {
    return out;
  }
  od::array messages;
  if (doc["messages"].get_array().get(messages) != simdjson::SUCCESS) {
    return out;
  }
  for (auto element : messages) {
    od::object message;
    if (element.get_object().get(message) != simdjson::SUCCESS) {
      continue;
    }
    std::string_view role;
    std::string text;
    for (auto field : message) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
        break;
      }
      if (key == "role") {
        if (field.value().get_string().get(role) != simdjson::SUCCESS) {
          role = {};
        }
      } else if (key == "content") {
        od::value content = field.value();
        std::string_view s;
        od::array parts;
        if (content.get_string().get(s) == simdjson::SUCCESS) {
          text.assign(s);
        } else if (content.get_array().get(parts) == simdjson::SUCCESS) {
          for (auto part : parts) {
            std::string_view part_text;
            if (part["text"].get_string().get(part_text) == simdjson::SUCCESS) {
              text += text.empty() ? "" : " ";
              text.append(part_text);
            }
          }
        }
      }
    }
    out.prompt_words += count_words(text);
    if (role == "user") {
      out.text = std::move(text);
    }
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
  return out;
}

}  // namespace gw::api
