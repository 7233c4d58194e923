#include "gw/api/embeddings_request.hpp"

#include <fmt/format.h>

#include "gw/api/request_json.hpp"

namespace gw::api {
namespace {

using core::Error;
using core::invalid_request;
using request_json::check_skipped;
namespace od = simdjson::ondemand;

Error bad_input() {
  return invalid_request(
      "'input' must be a string, an array of strings, an array of token ids or an array of "
      "arrays of token ids",
      "input");
}

// A token id: a non-negative integer.
bool is_token(od::value value) {
  uint64_t token = 0;
  return value.get_uint64().get(token) == simdjson::SUCCESS;
}

// One element of an `input` array of token arrays: a non-empty array of token ids.
bool is_token_array(od::value value) {
  od::array tokens;
  if (value.get_array().get(tokens) != simdjson::SUCCESS) {
    return false;
  }
  size_t count = 0;
  for (auto element : tokens) {
    od::value token;
    if (element.get(token) != simdjson::SUCCESS || !is_token(token)) {
      return false;
    }
    ++count;
  }
  return count > 0;
}

// The elements of an `input` array, all of the kind the first one sets.
tl::expected<void, Error> read_input_array(od::array array, EmbeddingsRequestInfo& info) {
  size_t count = 0;
  for (auto element : array) {
    od::value item;
    od::json_type type{};
    if (element.get(item) != simdjson::SUCCESS || item.type().get(type) != simdjson::SUCCESS) {
      return tl::unexpected(request_json::malformed());
    }
    if (count == 0) {
      info.input = type == od::json_type::string   ? EmbeddingInput::kTexts
                   : type == od::json_type::number ? EmbeddingInput::kTokens
                                                   : EmbeddingInput::kTokenArrays;
    }
    bool ok = false;
    switch (info.input) {
      case EmbeddingInput::kTexts: {
        std::string_view text;
        ok = item.get_string().get(text) == simdjson::SUCCESS;
        break;
      }
      case EmbeddingInput::kTokens:
        ok = is_token(item);
        break;
      default:
        ok = is_token_array(item);
        break;
    }
    if (!ok) {
      return tl::unexpected(bad_input());
    }
    ++count;
  }
  if (count == 0) {
    return tl::unexpected(invalid_request("'input' must not be an empty array", "input"));
  }
  info.input_count = info.input == EmbeddingInput::kTokens ? 1 : count;
  return {};
}

tl::expected<void, Error> read_input(od::value value, const char* base,
                                     EmbeddingsRequestInfo& info) {
  if (info.input_count != 0) {
    return tl::unexpected(invalid_request("'input' appears more than once", "input"));
  }
  std::string_view raw = value.raw_json_token();
  info.input_begin = static_cast<size_t>(raw.data() - base);
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    info.input = EmbeddingInput::kText;
    info.input_count = 1;
    info.input_end = info.input_begin + request_json::string_token_length(raw);
    return {};
  }
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS ||
      array.raw_json().get(raw) != simdjson::SUCCESS) {
    return tl::unexpected(bad_input());
  }
  // raw_json() walked to the array's end (brackets only): its extent; then the elements, checked.
  while (!raw.empty() && raw.back() != ']') {
    raw.remove_suffix(1);
  }
  info.input_end = info.input_begin + raw.size();
  if (array.reset().error() != simdjson::SUCCESS) {
    return tl::unexpected(request_json::malformed());
  }
  return read_input_array(array, info);
}

tl::expected<void, Error> read_encoding(od::value value, EmbeddingsRequestInfo& info) {
  std::string_view format;
  if (value.get_string().get(format) == simdjson::SUCCESS && format == "float") {
    info.encoding = EmbeddingEncoding::kFloat;
  } else if (format == "base64") {
    info.encoding = EmbeddingEncoding::kBase64;
  } else {
    return tl::unexpected(
        invalid_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"));
  }
  return {};
}

tl::expected<void, Error> read_dimensions(od::value value, EmbeddingsRequestInfo& info) {
  int64_t dimensions = 0;
  if (value.get_int64().get(dimensions) != simdjson::SUCCESS || dimensions < 1) {
    return tl::unexpected(invalid_request("'dimensions' must be a positive integer", "dimensions"));
  }
  info.dimensions = dimensions;
  return {};
}

}  // namespace

tl::expected<EmbeddingsRequestInfo, core::Error> inspect_embeddings_request(
    const std::string& body) {
  EmbeddingsRequestInfo info;
  auto walked = request_json::for_each_field(
      body, [&](request_json::Field& field) -> tl::expected<void, Error> {
        const std::string_view key = field.key;
        od::value& value = field.value;
        const char* base = field.base;
        if (key == "model") {
          return request_json::read_model(value, base, info.model, info.model_begin,
                                          info.model_end);
        }
        if (key == "input") {
          return read_input(value, base, info);
        }
        if (key == "encoding_format") {
          return read_encoding(value, info);
        }
        if (key == "dimensions") {
          return read_dimensions(value, info);
        }
        if (key == "user") {
          std::string_view user;
          if (value.get_string().get(user) != simdjson::SUCCESS) {
            return tl::unexpected(invalid_request("'user' must be a string", "user"));
          }
          return {};
        }
        if (info.other_member.empty()) {
          info.other_member.assign(key);
        }
        return check_skipped(value);
      });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  if (info.model.empty()) {
    return tl::unexpected(invalid_request("you must provide a model parameter", "model"));
  }
  if (info.input_count == 0) {
    return tl::unexpected(invalid_request("'input' is a required property", "input"));
  }
  return info;
}

}  // namespace gw::api
