#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <limits>

#include "gw/api/chat_request.hpp"
#include "gw/mock/anthropic.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;

std::string_view error_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

const json::value* field(const json::object& object, std::string_view key) {
  return object.if_contains(key);
}

bool is_string(const json::value* value, std::string_view expected) {
  return value && value->is_string() && value->get_string() == expected;
}

// The text of a system prompt (a string or text blocks); false when it is neither.
bool read_system(const json::value* system, std::string& text) {
  if (system == nullptr || system->is_string()) {
    text = content_text(system);
    return true;
  }
  if (!system->is_array()) {
    return false;
  }
  for (const auto& block : system->get_array()) {
    const auto* object = block.if_object();
    if (!object || !is_string(field(*object, "type"), "text") ||
        !(field(*object, "text") && field(*object, "text")->is_string())) {
      return false;
    }
  }
  text = content_text(system);
  return true;
}

// The joined text of the tool_result blocks in a content array; nullopt when there are none.
std::optional<std::string> tool_result_text(const json::value* content) {
  std::optional<std::string> out;
  const auto* blocks = content ? content->if_array() : nullptr;
  if (blocks == nullptr) {
    return out;
  }
  for (const auto& block : *blocks) {
    const auto* object = block.if_object();
    if (object && is_string(field(*object, "type"), "tool_result")) {
      out = out ? *out + " " : std::string();
      *out += content_text(field(*object, "content"));
    }
  }
  return out;
}

// Reads tools and tool_choice into `out.calls`; returns the error message, empty when valid.
std::string read_tools(const json::object& request, AnthropicRequest& out) {
  const auto* tools = field(request, "tools");
  if (tools == nullptr) {
    return {};
  }
  if (!tools->is_array()) {
    return "tools: Input should be a valid list";
  }
  const auto& list = tools->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const auto* tool = list[i].if_object();
    const auto* name = tool ? field(*tool, "name") : nullptr;
    if (!name || !name->is_string()) {
      return fmt::format("tools.{}.name: Field required", i);
    }
  }
  const auto* choice_value = field(request, "tool_choice");
  const auto* choice = choice_value ? choice_value->if_object() : nullptr;
  if (choice_value && !choice) {
    return "tool_choice: Input should be an object";
  }
  if (list.empty() || (choice && is_string(field(*choice, "type"), "none"))) {
    return {};
  }
  const auto* no_parallel = choice ? field(*choice, "disable_parallel_tool_use") : nullptr;
  const bool parallel = !(no_parallel && no_parallel->is_bool() && no_parallel->get_bool());
  const size_t count = parallel && list.size() >= 2 ? 2 : 1;
  for (size_t i = 0; i < count; ++i) {
    out.calls.emplace_back(list[i].get_object().at("name").get_string());
  }
  return {};
}

// "max_tokens": required, an integer of at least 1.
tl::expected<int64_t, std::string> read_max_tokens(const json::value* max_tokens) {
  if (!max_tokens) {
    return tl::unexpected(std::string("max_tokens: Field required"));
  }
  if (max_tokens->is_uint64()) {
    return std::numeric_limits<int64_t>::max();  // beyond int64: no limit in practice
  }
  if (!max_tokens->is_int64()) {
    return tl::unexpected(std::string("max_tokens: Input should be a valid integer"));
  }
  if (max_tokens->get_int64() < 1) {
    return tl::unexpected(std::string("max_tokens: Input should be greater than or equal to 1"));
  }
  return max_tokens->get_int64();
}

}  // namespace

bool is_anthropic_client(const net::Request& request) {
  return !request.header("x-api-key").empty() || !request.header("anthropic-version").empty();
}

net::Response anthropic_error(int status, std::string_view message) {
  return net::Response{status,
                       "application/json",
                       {},
                       fmt::format(R"({{"type":"error","error":{{"type":"{}","message":{}}}}})",
                                   error_type(status), api::json_quote(message))};
}

std::optional<net::Response> anthropic_auth_failure(const MockOptions& options,
                                                    const net::Request& request) {
  if (options.api_key.empty() || api_key_matches(request.header("x-api-key"), options.api_key)) {
    return std::nullopt;
  }
  return anthropic_error(401, "invalid x-api-key");
}

net::Response anthropic_models(const std::vector<std::string>& models) {
  std::string data;
  for (const auto& id : models) {
    const std::string quoted = api::json_quote(id);
    data += fmt::format(
        R"({}{{"type":"model","id":{},"display_name":{},"created_at":"2024-10-22T00:00:00Z"}})",
        data.empty() ? "" : ",", quoted, quoted);
  }
  const std::string first = models.empty() ? "null" : api::json_quote(models.front());
  const std::string last = models.empty() ? "null" : api::json_quote(models.back());
  return net::Response{200,
                       "application/json",
                       {},
                       fmt::format(R"({{"data":[{}],"has_more":false,"first_id":{},"last_id":{}}})",
                                   data, first, last)};
}

tl::expected<AnthropicRequest, std::string> read_anthropic_request(std::string_view body,
                                                                   bool count_tokens) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec, {}, deep_json());
  if (ec) {
    return tl::unexpected(fmt::format("The request body is not valid JSON: {}", ec.message()));
  }
  const auto* request = doc.if_object();
  if (request == nullptr) {
    return tl::unexpected(std::string("The request body must be a JSON object"));
  }
  AnthropicRequest out;
  const auto* model = field(*request, "model");
  if (!model || !model->is_string()) {
    return tl::unexpected(
        std::string(model ? "model: Input should be a valid string" : "model: Field required"));
  }
  out.model = model->get_string();
  if (count_tokens) {
    // Counting takes what the prompt is made of, not how to answer it.
    for (const std::string_view extra : {"max_tokens", "stream", "stop_sequences"}) {
      if (field(*request, extra) != nullptr) {
        return tl::unexpected(fmt::format("{}: Extra inputs are not permitted", extra));
      }
    }
  } else if (auto limit = read_max_tokens(field(*request, "max_tokens")); limit) {
    out.max_tokens = *limit;
  } else {
    return tl::unexpected(std::move(limit.error()));
  }
  if (const auto* stream = field(*request, "stream")) {
    if (!stream->is_bool()) {
      return tl::unexpected(std::string("stream: Input should be a valid boolean"));
    }
    out.stream = stream->get_bool();
  }
  std::string system;
  if (!read_system(field(*request, "system"), system)) {
    return tl::unexpected(std::string("system: Input should be a string or a list of text blocks"));
  }
  if (system.find("cache-me") != std::string::npos) {
    out.cache_read_tokens = 3;  // lets tests check how cache usage is mapped
  }
  const auto* messages_value = field(*request, "messages");
  const auto* messages = messages_value ? messages_value->if_array() : nullptr;
  if (!messages_value) {
    return tl::unexpected(std::string("messages: Field required"));
  }
  if (!messages) {
    return tl::unexpected(std::string("messages: Input should be a valid list"));
  }
  if (messages->empty()) {
    return tl::unexpected(std::string("messages: at least one message is required"));
  }
  size_t words = count_words(system);
  const json::value* last_user = nullptr;
  for (size_t i = 0; i < messages->size(); ++i) {
    const auto* message = (*messages)[i].if_object();
    if (!message) {
      return tl::unexpected(fmt::format("messages.{}: Input should be a valid dictionary", i));
    }
    const auto* role = field(*message, "role");
    const bool user = is_string(role, "user");
    if (!user && !is_string(role, "assistant")) {
      return tl::unexpected(
          fmt::format("messages.{}.role: Input should be 'user' or 'assistant'", i));
    }
    if (i == 0 && !user) {
      return tl::unexpected(std::string(R"(messages: first message must use the "user" role)"));
    }
    const auto* content = field(*message, "content");
    if (!content || !(content->is_string() || content->is_array())) {
      return tl::unexpected(fmt::format("messages.{}.content: Field required", i));
    }
    words += count_words(content_text(content));
    words += count_words(tool_result_text(content).value_or(""));
    last_user = user ? content : last_user;
  }
  out.input_tokens = static_cast<int64_t>(words);
  if (auto error = read_tools(*request, out); !error.empty()) {
    return tl::unexpected(std::move(error));
  }
  if (auto result = tool_result_text(last_user)) {
    // A tool result is answered in text, whatever tools are on offer.
    out.calls.clear();
    out.text = "Tool said: " + *result;
    return out;
  }
  out.text = content_text(last_user);
  if (!out.calls.empty()) {
    out.tool_input = tool_arguments(out.text);
  }
  return out;
}

}  // namespace gw::mock
