// OpenAI's Responses request (POST /v1/responses) inspected for routing and read into chat
// completions' for providers without the Responses API. One concern, just over 500 lines: each
// input item type, content part, tool, tool choice and text format has its mapping and its
// refusal naming the field; the answer side is providers/responses_from_chat.cpp.

#include "gw/api/responses_request.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/request_json.hpp"
#include "gw/core/logging.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;
using core::Error;
using core::invalid_request;

tl::expected<void, Error> unexpected(std::string message, std::string param) {
  return tl::unexpected(invalid_request(std::move(message), std::move(param)));
}

// Whether a member is absent or null: an optional field the client did not set.
bool unset(const json::value* value) {
  return value == nullptr || value->is_null();
}

// A string member, or an error naming it.
tl::expected<std::string_view, Error> string_member(const json::object& object,
                                                    std::string_view key, const std::string& at) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return tl::unexpected(invalid_request(fmt::format("'{}.{}' must be a string", at, key),
                                          fmt::format("{}.{}", at, key)));
  }
  return std::string_view(value->as_string());
}

// One content part of an input message as a chat content part.
tl::expected<json::object, Error> chat_part(const json::value& part, const std::string& at) {
  if (!part.is_object()) {
    return tl::unexpected(invalid_request(fmt::format("'{}' must be an object", at), at));
  }
  const auto& object = part.as_object();
  const auto* type = object.if_contains("type");
  const std::string_view kind =
      type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
  if (kind == "input_text" || kind == "output_text" || kind == "refusal") {
    auto text = string_member(object, kind == "refusal" ? "refusal" : "text", at);
    if (!text) {
      return tl::unexpected(text.error());
    }
    return json::object{{"type", "text"}, {"text", *text}};
  }
  if (kind == "input_image") {
    const auto* url = object.if_contains("image_url");
    if (unset(url)) {
      return tl::unexpected(invalid_request(
          "images by file_id need OpenAI's file storage; send 'image_url' (a URL or a data URL)",
          at + ".file_id"));
    }
    if (!url->is_string()) {
      return tl::unexpected(
          invalid_request(fmt::format("'{}.image_url' must be a string", at), at + ".image_url"));
    }
    json::object image{{"url", url->as_string()}};
    if (const auto* detail = object.if_contains("detail"); !unset(detail)) {
      image["detail"] = *detail;
    }
    return json::object{{"type", "image_url"}, {"image_url", std::move(image)}};
  }
  return tl::unexpected(invalid_request(
      fmt::format("content part type '{}' is not supported by this provider", kind), at + ".type"));
}

// An input message's content as chat content: a string stays one; parts become chat parts, and
// text-only parts of a non-user message one string (what every chat dialect takes).
tl::expected<json::value, Error> chat_content(const json::value* content, std::string_view role,
                                              const std::string& at) {
  if (content == nullptr) {
    return tl::unexpected(
        invalid_request(fmt::format("'{}.content' is required", at), at + ".content"));
  }
  if (content->is_string()) {
    return *content;
  }
  if (!content->is_array()) {
    return tl::unexpected(invalid_request(
        fmt::format("'{}.content' must be a string or an array", at), at + ".content"));
  }
  json::array parts;
  bool text_only = true;
  for (size_t i = 0; i < content->as_array().size(); ++i) {
    auto part = chat_part(content->as_array()[i], fmt::format("{}.content[{}]", at, i));
    if (!part) {
      return tl::unexpected(part.error());
    }
    text_only = text_only && part->at("type") == "text";
    parts.emplace_back(std::move(*part));
  }
  if (role == "user" || !text_only) {
    return parts;
  }
  // Assistant output parts are pieces of one text; instructions read as paragraphs.
  std::string text;
  for (const auto& part : parts) {
    if (!text.empty() && role != "assistant") {
      text += "\n\n";
    }
    text += part.as_object().at("text").as_string();
  }
  return json::string(text);
}

// The chat message a function call joins: the last message if it is the assistant's, else a new
// assistant message with no text.
json::array& tool_calls_of(json::array& messages) {
  if (messages.empty() || messages.back().as_object().at("role") != "assistant") {
    messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}});
  }
  auto& message = messages.back().as_object();
  auto* calls = message.if_contains("tool_calls");
  if (calls == nullptr) {
    calls = &(message["tool_calls"] = json::array());
  }
  return calls->as_array();
}

tl::expected<void, Error> add_function_call(const json::object& item, const std::string& at,
                                            json::array& messages) {
  auto call_id = string_member(item, "call_id", at);
  auto name = string_member(item, "name", at);
  auto arguments = string_member(item, "arguments", at);
  for (const auto* read : {&call_id, &name, &arguments}) {
    if (!*read) {
      return tl::unexpected(read->error());
    }
  }
  tool_calls_of(messages).push_back(
      json::object{{"id", *call_id},
                   {"type", "function"},
                   {"function", json::object{{"name", *name}, {"arguments", *arguments}}}});
  return {};
}

tl::expected<void, Error> add_function_output(const json::object& item, const std::string& at,
                                              json::array& messages) {
  auto call_id = string_member(item, "call_id", at);
  if (!call_id) {
    return tl::unexpected(call_id.error());
  }
  const auto* output = item.if_contains("output");
  json::value content;
  if (output != nullptr && output->is_string()) {
    content = *output;
  } else if (output != nullptr && output->is_array()) {
    auto parts = chat_content(output, "tool", at + ".output");
    if (!parts) {
      return tl::unexpected(parts.error());
    }
    content = std::move(*parts);
  } else {
    return unexpected(fmt::format("'{}.output' must be a string or an array", at), at + ".output");
  }
  messages.push_back(
      json::object{{"role", "tool"}, {"tool_call_id", *call_id}, {"content", std::move(content)}});
  return {};
}

tl::expected<void, Error> add_message(const json::object& item, const std::string& at,
                                      json::array& messages) {
  const auto* role_value = item.if_contains("role");
  const std::string_view role = role_value != nullptr && role_value->is_string()
                                    ? std::string_view(role_value->as_string())
                                    : "";
  if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
    return unexpected(
        fmt::format("'{}.role' must be one of user, assistant, system, developer", at),
        at + ".role");
  }
  auto content = chat_content(item.if_contains("content"), role, at);
  if (!content) {
    return tl::unexpected(content.error());
  }
  // Text that follows the assistant's own calls (before their outputs) belongs to that turn: a
  // second assistant message there is refused by the chat dialects.
  if (role == "assistant" && !messages.empty()) {
    auto& last = messages.back().as_object();
    if (last.at("role") == "assistant" && last.at("content").is_null()) {
      last["content"] = std::move(*content);
      return {};
    }
  }
  // Chat-only servers do not all know "developer"; for them it is what "system" is.
  messages.push_back(json::object{{"role", role == "developer" ? "system" : role},
                                  {"content", std::move(*content)}});
  return {};
}

tl::expected<json::array, Error> chat_messages(const json::value* instructions,
                                               const json::value* input) {
  json::array messages;
  if (!unset(instructions)) {
    if (!instructions->is_string()) {
      return tl::unexpected(invalid_request("'instructions' must be a string", "instructions"));
    }
    messages.push_back(json::object{{"role", "system"}, {"content", *instructions}});
  }
  if (unset(input)) {
    return tl::unexpected(invalid_request("'input' is required by this provider", "input"));
  }
  if (input->is_string()) {
    messages.push_back(json::object{{"role", "user"}, {"content", *input}});
    return messages;
  }
  if (!input->is_array() || input->as_array().empty()) {
    return tl::unexpected(
        invalid_request("'input' must be a string or a non-empty array", "input"));
  }
  const auto& items = input->as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string at = fmt::format("input[{}]", i);
    if (!items[i].is_object()) {
      return tl::unexpected(invalid_request(fmt::format("'{}' must be an object", at), at));
    }
    const auto& item = items[i].as_object();
    const auto* type_value = item.if_contains("type");
    // A message may leave out its type (EasyInputMessage).
    const std::string_view type = type_value == nullptr ? "message"
                                  : type_value->is_string()
                                      ? std::string_view(type_value->as_string())
                                      : "";
    tl::expected<void, Error> added;
    if (type == "message") {
      added = add_message(item, at, messages);
    } else if (type == "function_call") {
      added = add_function_call(item, at, messages);
    } else if (type == "function_call_output") {
      added = add_function_output(item, at, messages);
    } else if (type == "item_reference") {
      added = unexpected(
          "item references need items stored by OpenAI; this provider has none: "
          "send the items themselves",
          at + ".type");
    } else {
      added =
          unexpected(fmt::format("input item type '{}' is not supported by this provider", type),
                     at + ".type");
    }
    if (!added) {
      return tl::unexpected(added.error());
    }
  }
  return messages;
}

tl::expected<json::array, Error> chat_tools(const json::value& tools) {
  if (!tools.is_array()) {
    return tl::unexpected(invalid_request("'tools' must be an array", "tools"));
  }
  json::array out;
  for (size_t i = 0; i < tools.as_array().size(); ++i) {
    const std::string at = fmt::format("tools[{}]", i);
    const auto& tool = tools.as_array()[i];
    const auto* type = tool.is_object() ? tool.as_object().if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      return tl::unexpected(
          invalid_request(fmt::format("'{}.type' must be a string", at), at + ".type"));
    }
    if (type->as_string() != "function") {
      return tl::unexpected(invalid_request(
          fmt::format("the built-in tool '{}' needs OpenAI's hosted tools; this provider "
                      "takes function tools only",
                      type->as_string().c_str()),
          at + ".type"));
    }
    const auto& object = tool.as_object();
    auto name = string_member(object, "name", at);
    if (!name) {
      return tl::unexpected(name.error());
    }
    json::object function{{"name", *name}};
    for (const std::string_view key : {"description", "parameters", "strict"}) {
      if (const auto* value = object.if_contains(key); !unset(value)) {
        function[key] = *value;
      }
    }
    out.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
  }
  return out;
}

tl::expected<json::value, Error> chat_tool_choice(const json::value& choice) {
  if (choice.is_string() && (choice == "auto" || choice == "none" || choice == "required")) {
    return choice;
  }
  const auto* type = choice.is_object() ? choice.as_object().if_contains("type") : nullptr;
  if (type != nullptr && *type == "function") {
    auto name = string_member(choice.as_object(), "name", "tool_choice");
    if (!name) {
      return tl::unexpected(name.error());
    }
    return json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}};
  }
  return tl::unexpected(invalid_request(
      "'tool_choice' must be auto, none, required or {\"type\":\"function\",\"name\":...} for "
      "this provider (hosted tools and allowed_tools need OpenAI)",
      "tool_choice"));
}

// text.format as chat's response_format; text.verbosity has no chat equivalent.
tl::expected<void, Error> chat_text_format(const json::value& text, json::object& chat) {
  if (!text.is_object()) {
    return tl::unexpected(invalid_request("'text' must be an object", "text"));
  }
  for (const auto& [key, value] : text.as_object()) {
    if (key == "format" && !value.is_null()) {
      const auto* type = value.is_object() ? value.as_object().if_contains("type") : nullptr;
      if (type == nullptr || !type->is_string()) {
        return tl::unexpected(
            invalid_request("'text.format.type' must be a string", "text.format.type"));
      }
      if (*type == "json_object") {
        chat["response_format"] = json::object{{"type", "json_object"}};
      } else if (*type == "json_schema") {
        json::object schema = value.as_object();
        schema.erase("type");
        chat["response_format"] =
            json::object{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
      } else if (*type != "text") {
        return tl::unexpected(invalid_request(
            fmt::format("text format '{}' is not supported", type->as_string().c_str()),
            "text.format.type"));
      }
    } else if (!value.is_null()) {
      return tl::unexpected(invalid_request(
          fmt::format("'text.{}' has no equivalent on this provider", std::string_view(key)),
          fmt::format("text.{}", std::string_view(key))));
    }
  }
  return {};
}

// A field that needs OpenAI's server side (state, hosted execution) unless it is off.
bool needs_openai(std::string_view key, const json::value& value) {
  if (key == "previous_response_id" || key == "conversation" || key == "prompt" ||
      key == "max_tool_calls" || key == "top_logprobs") {
    return !value.is_null() && !(key == "top_logprobs" && value == 0);
  }
  if (key == "store" || key == "background") {
    return value == true;
  }
  if (key == "include") {
    return !value.is_null() && !(value.is_array() && value.as_array().empty());
  }
  if (key == "truncation") {
    return !value.is_null() && value != "disabled";
  }
  return false;
}

// The settings accepted only in their off state: that state's type, checked (a wrong type is a
// 400, as at OpenAI, not a value taken as off).
tl::expected<void, Error> check_switch(std::string_view key, const json::value& value) {
  const bool boolean = key == "store" || key == "background";
  if ((boolean && !value.is_bool()) || (key == "include" && !value.is_array()) ||
      (key == "truncation" && !value.is_string())) {
    return tl::unexpected(invalid_request(fmt::format("'{}' must be {}", key,
                                                      boolean            ? "a boolean"
                                                      : key == "include" ? "an array"
                                                                         : "a string"),
                                          std::string(key)));
  }
  return {};
}

// Fields copied to the chat body under the same name (the chat translator judges the values).
bool same_in_chat(std::string_view key) {
  return key == "temperature" || key == "top_p" || key == "parallel_tool_calls" || key == "user" ||
         key == "service_tier" || key == "safety_identifier" || key == "prompt_cache_key";
}

// The members the response object repeats, each as the request gave it or its default.
std::string echoed_settings(const json::object& request) {
  std::string out;
  const auto echo = [&](std::string_view key, std::string_view fallback) {
    if (!out.empty()) {
      out += ',';
    }
    out += json::serialize(json::string_view(key));
    out += ':';
    const auto* value = request.if_contains(key);
    out += unset(value) ? std::string(fallback) : json::serialize(*value);
  };
  echo("instructions", "null");
  echo("max_output_tokens", "null");
  echo("metadata", "{}");
  echo("parallel_tool_calls", "true");
  echo("previous_response_id", "null");
  echo("reasoning", R"({"effort":null,"summary":null})");
  echo("store", "false");
  echo("temperature", "1.0");
  echo("text", R"({"format":{"type":"text"}})");
  echo("tool_choice", R"("auto")");
  echo("tools", "[]");
  echo("top_p", "1.0");
  echo("truncation", R"("disabled")");
  echo("user", "null");
  return out;
}

}  // namespace

tl::expected<ChatRequestInfo, core::Error> inspect_responses_request(const std::string& body) {
  ChatRequestInfo info;
  bool has_stream = false;
  auto walked = request_json::for_each_field(body, [&](request_json::Field& field) {
    if (field.key == "model") {
      return request_json::read_model(field.value, field.base, info.model, info.model_begin,
                                      info.model_end);
    }
    if (field.key != "stream") {
      return request_json::check_skipped(field.value);
    }
    if (std::exchange(has_stream, true)) {
      return unexpected("'stream' appears more than once", "stream");
    }
    bool is_null = false;
    if (field.value.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
      return tl::expected<void, Error>();
    }
    if (field.value.get_bool().get(info.stream) != simdjson::SUCCESS) {
      return unexpected("'stream' must be a boolean", "stream");
    }
    return tl::expected<void, Error>();
  });
  if (!walked) {
    return tl::unexpected(walked.error());
  }
  if (info.model.empty()) {
    return tl::unexpected(invalid_request("you must provide a model parameter", "model"));
  }
  return info;
}

namespace {

// `reasoning`: only its effort has a chat equivalent.
tl::expected<void, core::Error> chat_reasoning(const json::value& value, json::object& chat) {
  if (!value.is_object()) {
    return tl::unexpected(invalid_request("'reasoning' must be an object", "reasoning"));
  }
  for (const auto& [name, setting] : value.as_object()) {
    if (name == "effort" && !setting.is_null()) {
      chat["reasoning_effort"] = setting;
    } else if (!setting.is_null()) {
      return tl::unexpected(invalid_request(
          fmt::format("'reasoning.{}' is not available on this provider (only the effort is)",
                      core::bounded_text(name, 64)),
          fmt::format("reasoning.{}", core::bounded_text(name, 64))));
    }
  }
  return {};
}

// One top-level field of a Responses request (not model, input or instructions) into `chat`, or
// its refusal.
tl::expected<void, core::Error> chat_field(std::string_view key, const json::value& value,
                                           json::object& chat) {
  if (needs_openai(key, value)) {
    return tl::unexpected(invalid_request(
        fmt::format("'{}' needs OpenAI's stored responses or hosted execution; this provider "
                    "has neither",
                    key),
        std::string(key)));
  }
  if (auto checked = check_switch(key, value); !checked) {
    return checked;
  }
  if (key == "stream") {
    chat["stream"] = value;
  } else if (key == "tools") {
    auto tools = chat_tools(value);
    if (!tools) {
      return tl::unexpected(tools.error());
    }
    if (!tools->empty()) {
      chat["tools"] = std::move(*tools);
    }
  } else if (key == "tool_choice") {
    auto choice = chat_tool_choice(value);
    if (!choice) {
      return tl::unexpected(choice.error());
    }
    chat["tool_choice"] = std::move(*choice);
  } else if (key == "max_output_tokens") {
    chat["max_tokens"] = value;
  } else if (key == "text") {
    return chat_text_format(value, chat);
  } else if (key == "reasoning") {
    return chat_reasoning(value, chat);
  } else if (same_in_chat(key)) {
    chat[key] = value;
  } else if (key != "store" && key != "background" && key != "include" && key != "truncation" &&
             key != "stream_options" && key != "top_logprobs") {
    // stream_options of Responses only asks for obfuscation padding, which translated streams do
    // not need (the gateway's events are not the provider's).
    return tl::unexpected(invalid_request(
        fmt::format("Unrecognized request argument supplied: {}", core::bounded_text(key, 64)),
        std::string(core::bounded_text(key, 64))));
  }
  return {};
}

}  // namespace

tl::expected<ResponsesAsChat, core::Error> responses_to_chat(std::string_view body) {
  auto parsed = parse_request_object(body);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  const json::object& request = *parsed;
  json::object chat;
  chat["model"] = request.at("model");
  auto messages = chat_messages(request.if_contains("instructions"), request.if_contains("input"));
  if (!messages) {
    return tl::unexpected(messages.error());
  }
  chat["messages"] = std::move(*messages);
  for (const auto& [key_view, value] : request) {
    const std::string_view key = key_view;
    if (key == "model" || key == "input" || key == "instructions" || key == "metadata" ||
        value.is_null()) {
      continue;  // metadata is the client's own: repeated in the response, not sent
    }
    if (auto translated = chat_field(key, value, chat); !translated) {
      return tl::unexpected(translated.error());
    }
  }
  std::string echoed = echoed_settings(request);
  return ResponsesAsChat{write_chat_request(std::move(chat)), std::move(echoed)};
}

}  // namespace gw::api
