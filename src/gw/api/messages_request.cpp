#include "gw/api/messages_request.hpp"

#include <utility>

#include "gw/api/request_json.hpp"

namespace gw::api {
namespace {

using core::Error;
using core::invalid_request;

tl::unexpected<Error> unexpected(std::string message, std::string param) {
  return tl::unexpected(invalid_request(std::move(message), std::move(param)));
}

// A member that may appear once: whether it did before.
bool repeated(bool& seen) {
  return std::exchange(seen, true);
}

// Both endpoints' checks; `needs_max_tokens` for a message (a count has none).
tl::expected<ChatRequestInfo, core::Error> inspect(const std::string& body, bool needs_max_tokens) {
  ChatRequestInfo info;
  bool has_stream = false;
  bool has_max_tokens = false;
  bool has_messages = false;
  auto walked = request_json::for_each_field(
      body, [&](request_json::Field& field) -> tl::expected<void, Error> {
        if (field.key == "model") {
          return request_json::read_model(field.value, field.base, info.model, info.model_begin,
                                          info.model_end);
        }
        if (field.key == "max_tokens") {
          int64_t max_tokens = 0;
          if (repeated(has_max_tokens)) {
            return unexpected("max_tokens: appears more than once", "max_tokens");
          }
          if (field.value.get_int64().get(max_tokens) != simdjson::SUCCESS || max_tokens < 1) {
            return unexpected("max_tokens: must be an integer of at least 1", "max_tokens");
          }
          return {};
        }
        if (field.key == "messages") {
          if (repeated(has_messages)) {
            return unexpected("messages: appears more than once", "messages");
          }
          simdjson::ondemand::json_type type{};
          if (field.value.type().get(type) != simdjson::SUCCESS ||
              type != simdjson::ondemand::json_type::array) {
            return unexpected("messages: must be an array of messages", "messages");
          }
          return request_json::check_skipped(field.value);
        }
        if (field.key != "stream") {
          return request_json::check_skipped(field.value);
        }
        if (repeated(has_stream)) {
          return unexpected("stream: appears more than once", "stream");
        }
        if (field.value.get_bool().get(info.stream) != simdjson::SUCCESS) {
          return unexpected("stream: must be a boolean", "stream");
        }
        return {};
      });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  if (info.model.empty()) {
    return unexpected("model: Field required", "model");
  }
  if (needs_max_tokens && !has_max_tokens) {
    return unexpected("max_tokens: Field required", "max_tokens");
  }
  if (!has_messages) {
    return unexpected("messages: Field required", "messages");
  }
  return info;
}

}  // namespace

tl::expected<ChatRequestInfo, core::Error> inspect_messages_request(const std::string& body) {
  return inspect(body, true);
}

tl::expected<ChatRequestInfo, core::Error> inspect_count_tokens_request(const std::string& body) {
  return inspect(body, false);
}

}  // namespace gw::api
