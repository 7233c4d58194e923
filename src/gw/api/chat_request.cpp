#include "gw/api/chat_request.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "gw/core/logging.hpp"

namespace gw::api {
namespace {

using core::Errc;
using core::Error;
namespace od = simdjson::ondemand;
// Model names end up in log lines, metric labels and error messages; real ones are short.
constexpr size_t kMaxModelLength = 256;

od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

// simdjson reads up to SIMDJSON_PADDING bytes past the end. A body with spare capacity is read
// in place; otherwise it is copied into a per-thread buffer that keeps its capacity, rather than
// growing (reallocating and copying) the body itself on every request.
simdjson::padded_string_view padded(const std::string& body) {
  if (body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING) {
    return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
  }
  thread_local std::string scratch;
  scratch.assign(body);
  scratch.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(scratch.data(), scratch.size(), scratch.capacity());
}

Error invalid(std::string message, std::string param = {}) {
  return Error(Errc::kInvalidRequest, std::move(message), std::move(param));
}

Error malformed() {
  return invalid(
      "We could not parse the JSON body of your request. The body must be a valid JSON object.");
}

// Length of a JSON string token starting at `p` (which points at the opening quote).
size_t string_token_length(std::string_view rest) {
  for (size_t i = 1; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      ++i;
    } else if (rest[i] == '"') {
      return i + 1;
    }
  }
  return rest.size();
}

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

std::string_view trim_trailing_space(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\t' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

// RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, any size.
bool is_json_number(std::string_view token) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') {
      ++i;
    }
    return i - from;
  };
  if (i < token.size() && token[i] == '-') {
    ++i;
  }
  if (i < token.size() && token[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < token.size() && token[i] == '.') {
    ++i;
    if (digits() == 0) {
      return false;
    }
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == token.size();
}

// How deep the walk below goes: each level is a stack frame, and a body of nested brackets within
// the size limit would otherwise overflow the stack; and the on-demand parser keeps a slot per
// level it descends into, max_depth() of them (1024 by default; beyond, simdjson asserts in
// debug builds and writes past its array otherwise). Deeper requests are refused, as the
// translated providers do (api::parse_request_object), with the same message.
constexpr int kMaxWalkDepth = static_cast<int>(kMaxRequestDepth);
// The walk starts a few levels down (root, messages, a message): well within max_depth().
static_assert(kMaxWalkDepth + 16 < static_cast<int>(simdjson::DEFAULT_MAX_DEPTH));

// The on-demand iterator checks the brackets of the values it skips, not what is between them
// (`tru`, `01`, "\x"; simdjson's first pass checked UTF-8 and unescaped control characters
// already): each value the inspector does not read is walked once, so that invalid JSON is
// refused here rather than forwarded. Strings are unescaped only when they hold an escape.
bool well_formed(od::value value, bool& too_deep, int depth = 0) {
  if (depth > kMaxWalkDepth) {
    too_deep = true;
    return false;
  }
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS) {
    return false;
  }
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) {
        return false;
      }
      for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
            field.value().get(member) != simdjson::SUCCESS ||
            !well_formed(member, too_deep, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) {
        return false;
      }
      for (auto element : array) {
        od::value item;
        if (element.get(item) != simdjson::SUCCESS || !well_formed(item, too_deep, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    case od::json_type::string: {
      const bool escaped = value.raw_json_token().find('\\') != std::string_view::npos;
      // Consumed either way: a string left for the iterator to skip lets `"a":"b":}` through
      // (simdjson 3.0's skip counts brackets only; the fuzzer found it).
      if (escaped) {
        std::string_view text;
        return value.get_string().get(text) == simdjson::SUCCESS;
      }
      od::raw_json_string raw;
      return value.get_raw_json_string().get(raw) == simdjson::SUCCESS;
    }
    case od::json_type::number:
      return is_json_number(trim_trailing_space(value.raw_json_token()));
    case od::json_type::boolean: {
      const std::string_view token = trim_trailing_space(value.raw_json_token());
      bool parsed = false;
      return (token == "true" || token == "false") &&
             value.get_bool().get(parsed) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return trim_trailing_space(value.raw_json_token()) == "null" &&
             value.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
  }
  return false;
}

// A value the inspector does not read: refused as malformed, or as too deep, with the message
// the translated providers give.
tl::expected<void, Error> check_skipped(od::value value) {
  bool too_deep = false;
  if (well_formed(value, too_deep)) {
    return {};
  }
  if (too_deep) {
    return tl::unexpected(invalid("the request body nests deeper than " +
                                  std::to_string(kMaxRequestDepth) + " levels"));
  }
  return tl::unexpected(malformed());
}

tl::expected<void, Error> check_messages(od::value value) {
  od::array messages;
  if (value.get_array().get(messages) != simdjson::SUCCESS) {
    return tl::unexpected(invalid("'messages' must be an array", "messages"));
  }
  size_t index = 0;
  for (auto element : messages) {
    od::object message;
    if (element.get_object().get(message) != simdjson::SUCCESS) {
      return tl::unexpected(
          invalid(fmt::format("'messages[{}]' must be an object", index), "messages"));
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
          return tl::unexpected(invalid(fmt::format("'messages[{}].role' must be a string", index),
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
      return tl::unexpected(invalid(fmt::format("'messages[{}]' is missing 'role'", index),
                                    fmt::format("messages[{}].role", index)));
    }
    ++index;
  }
  if (index == 0) {
    return tl::unexpected(invalid("'messages' must contain at least one message", "messages"));
  }
  return {};
}

}  // namespace

namespace {

// "model": a non-empty string of bounded length, once; its token's place in `base` kept for
// splicing.
tl::expected<void, Error> read_model(od::value value, const char* base, ChatRequestInfo& info) {
  // A second "model" (or "stream") key would route by one value while an upstream parser may
  // take the other: refused, not guessed.
  if (!info.model.empty()) {
    return tl::unexpected(invalid("'model' appears more than once", "model"));
  }
  std::string_view raw = value.raw_json_token();
  std::string_view model;
  if (value.get_string().get(model) != simdjson::SUCCESS) {
    return tl::unexpected(invalid("'model' must be a string", "model"));
  }
  if (model.empty()) {
    return tl::unexpected(invalid("'model' must not be empty", "model"));
  }
  if (model.size() > kMaxModelLength) {
    return tl::unexpected(
        invalid(fmt::format("'model' must be at most {} bytes long", kMaxModelLength), "model"));
  }
  info.model.assign(model);
  info.model_begin = static_cast<size_t>(raw.data() - base);
  info.model_end = info.model_begin + string_token_length(raw);
  return {};
}

// "stream": a boolean or null.
tl::expected<void, Error> read_stream(od::value value, ChatRequestInfo& info) {
  bool is_null = false;
  if (value.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
    info.stream = false;
  } else if (value.get_bool().get(info.stream) != simdjson::SUCCESS) {
    return tl::unexpected(invalid("'stream' must be a boolean", "stream"));
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

}  // namespace

tl::expected<ChatRequestInfo, core::Error> inspect_chat_request(const std::string& body) {
  // Offsets are taken relative to the buffer simdjson reads, which may be a copy of the body.
  const simdjson::padded_string_view input = padded(body);
  od::document doc;
  od::object root;
  if (thread_parser().iterate(input).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return tl::unexpected(malformed());
  }
  ChatRequestInfo info;
  bool has_messages = false;
  bool has_stream = false;
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return tl::unexpected(malformed());
    }
    tl::expected<void, Error> read;
    if (key == "model") {
      read = read_model(value, input.data(), info);
    } else if (key == "messages") {
      read = check_messages(value);
      has_messages = true;
    } else if (key == "stream") {
      if (has_stream) {
        return tl::unexpected(invalid("'stream' appears more than once", "stream"));
      }
      has_stream = true;
      read = read_stream(value, info);
    } else if (key == "stream_options") {
      read = read_stream_options(value, info);
    } else {
      read = check_skipped(value);
    }
    if (!read) {
      return tl::unexpected(read.error());
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return tl::unexpected(malformed());
  }
  if (info.model.empty()) {
    return tl::unexpected(invalid("you must provide a model parameter", "model"));
  }
  if (!has_messages) {
    return tl::unexpected(invalid("'messages' is a required property", "messages"));
  }
  return info;
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
