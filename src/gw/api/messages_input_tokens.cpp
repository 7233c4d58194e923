// POST /v1/messages/count_tokens counted by OpenAI's POST /responses/input_tokens: the Messages
// body translated to chat (messages_to_chat.cpp, which checks every field), then the chat
// request's prompt into Responses input items.

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/messages_to_chat.hpp"
#include "gw/api/messages_to_chat_object.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;

// A user message's chat content parts as Responses input parts.
json::array input_parts(const json::array& parts) {
  json::array out;
  out.reserve(parts.size());
  for (const auto& value : parts) {
    const auto& part = value.as_object();
    if (part.at("type") == "image_url") {
      out.push_back(json::object{{"type", "input_image"},
                                 {"image_url", part.at("image_url").as_object().at("url")},
                                 {"detail", "auto"}});
    } else {
      out.push_back(json::object{{"type", "input_text"}, {"text", part.at("text")}});
    }
  }
  return out;
}

// One chat message as Responses input items (an assistant turn's tool calls are items of their
// own); a system message as the instructions.
void add_items(const json::object& message, json::array& input, json::object& out) {
  const auto& role = message.at("role").as_string();
  const json::value& content = message.at("content");
  if (role == "system") {
    out["instructions"] = content;
  } else if (role == "tool") {
    input.push_back(json::object{{"type", "function_call_output"},
                                 {"call_id", message.at("tool_call_id")},
                                 {"output", content}});
  } else if (role == "user") {
    input.push_back(json::object{
        {"type", "message"},
        {"role", "user"},
        {"content", content.is_array() ? json::value(input_parts(content.as_array())) : content}});
  } else {
    const auto* calls = message.if_contains("tool_calls");
    if (content.is_string() && (calls == nullptr || !content.as_string().empty())) {
      input.push_back(
          json::object{{"type", "message"}, {"role", "assistant"}, {"content", content}});
    }
    if (calls != nullptr) {
      for (const auto& call : calls->as_array()) {
        const auto& function = call.as_object().at("function").as_object();
        input.push_back(json::object{{"type", "function_call"},
                                     {"call_id", call.as_object().at("id")},
                                     {"name", function.at("name")},
                                     {"arguments", function.at("arguments")}});
      }
    }
  }
}

// Chat's function tools as Responses function tools: the function's fields one level up, and
// strict off, as chat has it (the Responses API's default, on, refuses many schemas).
json::array responses_tools(const json::array& tools) {
  json::array out;
  out.reserve(tools.size());
  for (const auto& tool : tools) {
    json::object function = tool.as_object().at("function").as_object();
    function["type"] = "function";
    function["strict"] = false;
    out.emplace_back(std::move(function));
  }
  return out;
}

}  // namespace

tl::expected<std::string, core::Error> messages_to_input_tokens(std::string_view body,
                                                                std::string_view upstream_model) {
  auto chat = messages_to_chat_object(body, MessagesUse::kCount);
  if (!chat) {
    return tl::unexpected(chat.error());
  }
  json::object out;
  out["model"] = upstream_model;
  json::array input;
  for (const auto& message : chat->at("messages").as_array()) {
    add_items(message.as_object(), input, out);
  }
  out["input"] = std::move(input);
  if (const auto* tools = chat->if_contains("tools")) {
    out["tools"] = responses_tools(tools->as_array());
  }
  if (const auto* choice = chat->if_contains("tool_choice")) {
    // "auto", "none" and "required" are the same strings; a named function loses chat's nesting.
    out["tool_choice"] =
        choice->is_object()
            ? json::value(json::object{{"type", "function"},
                                       {"name", choice->as_object().at("function").at("name")}})
            : *choice;
  }
  if (const auto* parallel = chat->if_contains("parallel_tool_calls")) {
    out["parallel_tool_calls"] = *parallel;
  }
  if (const auto* effort = chat->if_contains("reasoning_effort")) {
    out["reasoning"] = json::object{{"effort", *effort}};
  }
  return json::serialize(out);
}

}  // namespace gw::api
