// POST /v1/responses/input_tokens: OpenAI's input-token count of a Responses request
// (https://platform.openai.com/docs/api-reference/responses/input-tokens). Strict about the items
// and tools it is sent, as the gateway translates them from other dialects: a part, item or tool
// in another API's shape is a 400 naming it, as OpenAI's is.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <variant>

#include "gw/mock/responses.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;

// The body fields the count endpoint documents (InputTokenCountParams).
constexpr std::array<std::string_view, 11> kCountFields{
    "conversation", "input", "instructions", "model", "parallel_tool_calls", "previous_response_id",
    "reasoning",    "text",  "tool_choice",  "tools", "truncation"};

using Refusal = std::optional<std::string>;  // the message of a 400, naming the field

bool is_string(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string();
}

std::string_view type_of(const json::object& object) {
  return is_string(object, "type") ? std::string_view(object.at("type").as_string()) : "";
}

Refusal check_part(const json::value& value, std::string_view role, const std::string& at) {
  const auto* part = value.if_object();
  if (part == nullptr) {
    return fmt::format("Invalid type for '{}': expected an object.", at);
  }
  const std::string_view type = type_of(*part);
  const std::string_view text_type = role == "assistant" ? "output_text" : "input_text";
  if (type == text_type && is_string(*part, "text")) {
    return std::nullopt;
  }
  if (type == "input_image" && role != "assistant" && is_string(*part, "image_url") &&
      is_string(*part, "detail")) {
    const std::string_view detail = part->at("detail").as_string();
    if (detail == "low" || detail == "high" || detail == "auto") {
      return std::nullopt;
    }
  }
  return fmt::format("Invalid value for '{}': not a valid {} content part.", at, role);
}

Refusal check_item(const json::value& value, const std::string& at) {
  const auto* item = value.if_object();
  if (item == nullptr) {
    return fmt::format("Invalid type for '{}': expected an object.", at);
  }
  const std::string_view type = item->contains("type") ? type_of(*item) : "message";
  if (type == "message") {
    const std::string_view role =
        is_string(*item, "role") ? std::string_view(item->at("role").as_string()) : "";
    if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
      return fmt::format("Invalid value for '{}.role'.", at);
    }
    const auto* content = item->if_contains("content");
    if (content != nullptr && content->is_string()) {
      return std::nullopt;
    }
    if (content == nullptr || !content->is_array()) {
      return fmt::format("Missing required parameter: '{}.content'.", at);
    }
    for (size_t i = 0; i < content->as_array().size(); ++i) {
      if (auto refused =
              check_part(content->as_array()[i], role, fmt::format("{}.content[{}]", at, i))) {
        return refused;
      }
    }
    return std::nullopt;
  }
  if (type == "function_call") {
    for (const std::string_view key : {"call_id", "name", "arguments"}) {
      if (!is_string(*item, key)) {
        return fmt::format("Missing required parameter: '{}.{}'.", at, key);
      }
    }
    return std::nullopt;
  }
  if (type == "function_call_output") {
    if (!is_string(*item, "call_id")) {
      return fmt::format("Missing required parameter: '{}.call_id'.", at);
    }
    const auto* output = item->if_contains("output");
    if (output == nullptr || !(output->is_string() || output->is_array())) {
      return fmt::format("Missing required parameter: '{}.output'.", at);
    }
    return std::nullopt;
  }
  return fmt::format("Invalid value for '{}.type': '{}'.", at, type);
}

Refusal check_tools(const json::object& request) {
  const auto* tools = request.if_contains("tools");
  if (tools == nullptr) {
    return std::nullopt;
  }
  if (!tools->is_array()) {
    return std::string("Invalid type for 'tools': expected an array.");
  }
  for (size_t i = 0; i < tools->as_array().size(); ++i) {
    const auto* tool = tools->as_array()[i].if_object();
    // A chat tool ({"type":"function","function":{...}}) has no top-level name: refused.
    if (tool == nullptr || type_of(*tool) != "function" || !is_string(*tool, "name")) {
      return fmt::format("Missing required parameter: 'tools[{}].name'.", i);
    }
    const auto* parameters = tool->if_contains("parameters");
    if (parameters != nullptr && !parameters->is_object() && !parameters->is_null()) {
      return fmt::format("Invalid type for 'tools[{}].parameters': expected an object.", i);
    }
  }
  const auto* choice = request.if_contains("tool_choice");
  if (choice == nullptr ||
      (choice->is_string() && (*choice == "auto" || *choice == "none" || *choice == "required"))) {
    return std::nullopt;
  }
  if (choice->is_object() && type_of(choice->as_object()) == "function" &&
      is_string(choice->as_object(), "name")) {
    return std::nullopt;
  }
  return std::string("Invalid value for 'tool_choice'.");
}

// The prompt's words, the mock's tokens: the instructions, every message's text and every tool
// output (what the Anthropic mock counts for the same conversation).
size_t prompt_words(const json::object& request) {
  size_t words = count_words(content_text(request.if_contains("instructions")));
  const auto& input = request.at("input");
  if (input.is_string()) {
    return words + count_words(input.as_string());
  }
  for (const auto& value : input.as_array()) {
    const auto& item = value.as_object();
    words += count_words(content_text(item.if_contains("content")));
    words += count_words(content_text(item.if_contains("output")));
  }
  return words;
}

// The count, or the refusal's message.
std::variant<size_t, std::string> count_request(const std::string& body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec, {}, deep_json());
  if (ec || !value.is_object()) {
    return std::string("We could not parse the JSON body of your request.");
  }
  const auto& request = value.as_object();
  for (const auto& [key, member] : request) {
    if (std::find(kCountFields.begin(), kCountFields.end(), std::string_view(key)) ==
        kCountFields.end()) {
      return fmt::format("Unrecognized request argument supplied: {}", std::string_view(key));
    }
  }
  const auto* input = request.if_contains("input");
  if (input == nullptr || !(input->is_string() || input->is_array())) {
    return std::string("Missing required parameter: 'input'.");
  }
  if (input->is_array()) {
    for (size_t i = 0; i < input->as_array().size(); ++i) {
      if (auto refused = check_item(input->as_array()[i], fmt::format("input[{}]", i))) {
        return std::move(*refused);
      }
    }
  }
  if (const auto* instructions = request.if_contains("instructions");
      instructions != nullptr && !instructions->is_string() && !instructions->is_null()) {
    return std::string("Invalid type for 'instructions': expected a string.");
  }
  if (auto refused = check_tools(request)) {
    return std::move(*refused);
  }
  return prompt_words(request);
}

}  // namespace

net::Task<void> serve_openai_input_tokens(MockStats& stats, net::Exchange& exchange) {
  RequestTracker tracker(stats, exchange.request);
  auto counted = count_request(exchange.request.body);
  net::Response response =
      std::holds_alternative<size_t>(counted)
          ? net::Response{200,
                          "application/json",
                          {},
                          fmt::format(R"({{"object":"response.input_tokens","input_tokens":{}}})",
                                      std::get<size_t>(counted))}
          : net::error_response({core::Errc::kInvalidRequest, std::get<std::string>(counted)});
  if (co_await exchange.writer.send(std::move(response))) {
    tracker.complete();
  }
}

}  // namespace gw::mock
