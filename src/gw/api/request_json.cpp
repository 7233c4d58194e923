#include "gw/api/request_json.hpp"

#include <fmt/format.h>

#include "gw/api/chat_request.hpp"

namespace gw::api::request_json {

using core::Errc;
using core::Error;

od::parser& thread_parser() {
  thread_local od::parser parser;
  return parser;
}

simdjson::padded_string_view padded(const std::string& body) {
  if (body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING) {
    return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
  }
  thread_local std::string scratch;
  scratch.assign(body);
  scratch.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(scratch.data(), scratch.size(), scratch.capacity());
}

Error malformed() {
  return core::invalid_request(
      "We could not parse the JSON body of your request. The body must be a valid JSON object.");
}

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

std::string_view trim_trailing_space(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\t' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

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

namespace {

// How deep the walk below goes: each level is a stack frame, and a body of nested brackets within
// the size limit would otherwise overflow the stack; and the on-demand parser keeps a slot per
// level it descends into, max_depth() of them (1024 by default; beyond, simdjson asserts in
// debug builds and writes past its array otherwise). Deeper requests are refused, as the
// translated providers do (api::parse_request_object), with the same message.
constexpr int kMaxWalkDepth = static_cast<int>(kMaxRequestDepth);
// The walk starts a few levels down (root, messages, a message): well within max_depth().
static_assert(kMaxWalkDepth + 16 < static_cast<int>(simdjson::DEFAULT_MAX_DEPTH));

bool well_formed(od::value value, bool& too_deep, int depth = 0);

bool well_formed_object(od::value value, bool& too_deep, int depth) {
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

bool well_formed_array(od::value value, bool& too_deep, int depth) {
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

bool well_formed_string(od::value value) {
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

// The on-demand iterator checks the brackets of the values it skips, not what is between them
// (`tru`, `01`, "\x"; simdjson's first pass checked UTF-8 and unescaped control characters
// already): each value the inspector does not read is walked once, so that invalid JSON is
// refused here rather than forwarded. Strings are unescaped only when they hold an escape.
bool well_formed(od::value value, bool& too_deep, int depth) {
  if (depth > kMaxWalkDepth) {
    too_deep = true;
    return false;
  }
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS) {
    return false;
  }
  switch (type) {
    case od::json_type::object:
      return well_formed_object(value, too_deep, depth);
    case od::json_type::array:
      return well_formed_array(value, too_deep, depth);
    case od::json_type::string:
      return well_formed_string(value);
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

}  // namespace

tl::expected<void, Error> check_skipped(od::value value) {
  bool too_deep = false;
  if (well_formed(value, too_deep)) {
    return {};
  }
  if (too_deep) {
    return tl::unexpected(core::invalid_request("the request body nests deeper than " +
                                                std::to_string(kMaxRequestDepth) + " levels"));
  }
  return tl::unexpected(malformed());
}

tl::expected<void, Error> read_model(od::value value, const char* base, std::string& out,
                                     size_t& begin, size_t& end) {
  // A second "model" (or "stream") key would route by one value while an upstream parser may
  // take the other: refused, not guessed.
  if (!out.empty()) {
    return tl::unexpected(core::invalid_request("'model' appears more than once", "model"));
  }
  std::string_view raw = value.raw_json_token();
  std::string_view model;
  if (value.get_string().get(model) != simdjson::SUCCESS) {
    return tl::unexpected(core::invalid_request("'model' must be a string", "model"));
  }
  if (model.empty()) {
    return tl::unexpected(core::invalid_request("'model' must not be empty", "model"));
  }
  if (model.size() > kMaxModelLength) {
    return tl::unexpected(core::invalid_request(
        fmt::format("'model' must be at most {} bytes long", kMaxModelLength), "model"));
  }
  out.assign(model);
  begin = static_cast<size_t>(raw.data() - base);
  end = begin + string_token_length(raw);
  return {};
}

}  // namespace gw::api::request_json
