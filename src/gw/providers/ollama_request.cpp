// OpenAI chat requests -> Ollama's /api/chat: messages (text and images), tools, the tool choice
// (a forced call as a `format` schema) and the options Ollama takes; what it cannot express is
// refused by name. The answer side is ollama.cpp.

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/providers/common/message_parts.hpp"
#include "gw/providers/common/unsupported_field.hpp"
#include "gw/providers/ollama.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;

// Who refuses what it cannot translate, in error messages.
constexpr std::string_view kProvider = "the ollama provider";
using ollama_json::member;

// OpenAI content -> Ollama's text content plus base64 images.
tl::expected<void, Error> translate_content(const json::value* content, json::object& message,
                                            const std::string& param) {
  if (content == nullptr) {
    message["content"] = "";
    return {};
  }
  if (content->is_string()) {
    message["content"] = content->as_string();
    return {};
  }
  if (!content->is_array()) {
    return tl::unexpected(
        core::invalid_request("content must be a string or an array of parts", param));
  }
  std::string text;
  json::array images;
  for (const auto& part : content->as_array()) {
    const auto* type = part.is_object() ? member(part.as_object(), "type") : nullptr;
    const std::string_view kind =
        type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
    if (kind == "text") {
      const auto* t = member(part.as_object(), "text");
      text += t != nullptr && t->is_string() ? std::string_view(t->as_string()) : "";
    } else if (kind == "image_url") {
      const auto url = image_url_of(part.as_object());
      const auto data = url ? base64_data_url(*url) : std::nullopt;
      if (!data) {
        return tl::unexpected(
            core::invalid_request("ollama takes images as base64 data URLs only", param));
      }
      images.push_back(json::string(data->data));
    } else {
      return tl::unexpected(core::invalid_request(
          fmt::format("content parts of type '{}' are not supported by {}", kind, kProvider),
          param));
    }
  }
  message["content"] = text;
  if (!images.empty()) {
    message["images"] = std::move(images);
  }
  return {};
}

// The function a tool_choice names ({"type":"function","function":{"name":...}}), or nullptr.
const json::value* chosen_function(const json::value& choice) {
  const auto* function = choice.is_object() ? member(choice.as_object(), "function") : nullptr;
  const auto* name = function != nullptr && function->is_object()
                         ? member(function->as_object(), "name")
                         : nullptr;
  return name != nullptr && name->is_string() ? name : nullptr;
}

// One tool call as `format` describes it: {"name": <the tool's name>, "arguments": <its
// parameters' schema>}.
json::object call_schema(const json::object& function) {
  const auto* parameters = member(function, "parameters");
  return json::object{
      {"type", "object"},
      {"properties",
       json::object{
           {"name", json::object{{"type", "string"}, {"enum", json::array{function.at("name")}}}},
           {"arguments", parameters != nullptr && parameters->is_object()
                             ? *parameters
                             : json::value(json::object{{"type", "object"}})}}},
      {"required", json::array{"name", "arguments"}}};
}

// tool_choice: `auto` as is; `none` sends no tools; `required` and a named function constrain the
// output (`format`) to a call of one of the tools, or of that one.
tl::expected<void, Error> translate_tool_choice(const json::object& openai, json::object& out) {
  const auto* choice = member(openai, "tool_choice");
  if (choice == nullptr || *choice == "auto") {
    return {};
  }
  if (*choice == "none") {
    out.erase("tools");
    return {};
  }
  const auto* named = chosen_function(*choice);
  if (*choice != "required" && named == nullptr) {
    return tl::unexpected(
        core::invalid_request("tool_choice must be auto, none, required or "
                              "{\"type\":\"function\",\"function\":{\"name\":...}}",
                              "tool_choice"));
  }
  const auto* tools = member(out, "tools");
  if (tools == nullptr || !tools->is_array() || tools->as_array().empty()) {
    return tl::unexpected(core::invalid_request(
        "tool_choice asks for a tool call, but 'tools' is empty", "tool_choice"));
  }
  if (out.contains("format")) {
    return tl::unexpected(core::invalid_request(
        "a forced tool call and response_format cannot be combined on the ollama provider, which "
        "carries out both with its output format",
        "tool_choice"));
  }
  json::array calls;
  for (size_t i = 0; i < tools->as_array().size(); ++i) {
    const auto& tool = tools->as_array()[i];
    const auto* function = tool.is_object() ? member(tool.as_object(), "function") : nullptr;
    const auto* name = function != nullptr && function->is_object()
                           ? member(function->as_object(), "name")
                           : nullptr;
    if (name == nullptr || !name->is_string()) {
      return tl::unexpected(core::invalid_request("a function tool needs a name",
                                                  fmt::format("tools[{}].function.name", i)));
    }
    if (named == nullptr || *name == *named) {
      calls.push_back(call_schema(function->as_object()));
    }
  }
  if (calls.empty()) {
    return tl::unexpected(
        core::invalid_request(fmt::format("tool_choice names '{}', which is not in 'tools'",
                                          core::bounded_text(named->as_string(), 64)),
                              "tool_choice"));
  }
  out["format"] = calls.size() == 1 ? std::move(calls[0])
                                    : json::value(json::object{{"anyOf", std::move(calls)}});
  return {};
}

// response_format -> `format`: "json" for json_object, the schema for json_schema.
tl::expected<void, Error> translate_response_format(const json::value& value, json::object& out) {
  const auto* type = value.is_object() ? member(value.as_object(), "type") : nullptr;
  const std::string_view t =
      type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
  if (t == "json_object") {
    out["format"] = "json";
  } else if (t == "json_schema") {
    const auto* spec = member(value.as_object(), "json_schema");
    const auto* schema =
        spec != nullptr && spec->is_object() ? member(spec->as_object(), "schema") : nullptr;
    if (schema == nullptr) {
      return tl::unexpected(core::invalid_request("json_schema needs a schema", "response_format"));
    }
    out["format"] = *schema;
  } else if (t != "text") {
    return tl::unexpected(unsupported_field("response_format", kProvider));
  }
  return {};
}

// A field Ollama has no form for, accepted where it asks for nothing Ollama would not do anyway.
tl::expected<void, Error> check_untranslated(std::string_view key, const json::value& value) {
  if (key == "n") {
    if (!(value.is_int64() && value.as_int64() == 1)) {
      return tl::unexpected(unsupported_field("n", kProvider));
    }
  } else if (key == "logprobs" || key == "store") {
    if (!(value.is_bool() && !value.as_bool())) {
      return tl::unexpected(unsupported_field(key, kProvider));
    }
  } else if (key == "user") {
    // An end-user id for the provider's abuse monitoring: a local Ollama has none to tell.
    if (!value.is_string()) {
      return tl::unexpected(core::invalid_request("'user' must be a string", std::string(key)));
    }
  } else if (key == "parallel_tool_calls") {
    // Ollama cannot be told to call one at a time: the answer keeps the first call (false).
    if (!value.is_bool()) {
      return tl::unexpected(
          core::invalid_request("'parallel_tool_calls' must be a boolean", std::string(key)));
    }
  } else {
    return tl::unexpected(unsupported_field(key, kProvider));
  }
  return {};
}

// One top-level chat field other than model and messages, into the request or its options.
tl::expected<void, Error> translate_field(std::string_view key, const json::value& value,
                                          json::object& out, json::object& options) {
  if (key == "stream") {
    out["stream"] = value.is_bool() && value.as_bool();
  } else if (key == "temperature" || key == "top_p" || key == "top_k" || key == "seed" ||
             key == "frequency_penalty" || key == "presence_penalty") {
    if (!value.is_number()) {
      return tl::unexpected(
          core::invalid_request(fmt::format("'{}' must be a number", key), std::string(key)));
    }
    options[key] = value;
  } else if (key == "max_tokens" || key == "max_completion_tokens") {
    if (!value.is_int64()) {
      return tl::unexpected(
          core::invalid_request(fmt::format("'{}' must be an integer", key), std::string(key)));
    }
    options["num_predict"] = value;
  } else if (key == "stop") {
    options["stop"] = value.is_string() ? json::value(json::array{value}) : value;
  } else if (key == "response_format") {
    return translate_response_format(value, out);
  } else if (key == "tools") {
    out["tools"] = value;             // Ollama takes OpenAI's function tool shape as is
  } else if (key != "tool_choice") {  // tool_choice: once tools and format are known
    return check_untranslated(key, value);
  }
  return {};
}

// An assistant message's tool calls, with their arguments as JSON objects (Ollama's form).
tl::expected<json::array, Error> translate_tool_calls(const json::array& calls,
                                                      const std::string& param) {
  json::array translated;
  for (size_t c = 0; c < calls.size(); ++c) {
    const auto& call = calls[c];
    const auto* function = call.is_object() ? member(call.as_object(), "function") : nullptr;
    const auto* name = function != nullptr && function->is_object()
                           ? member(function->as_object(), "name")
                           : nullptr;
    const auto* arguments = function != nullptr && function->is_object()
                                ? member(function->as_object(), "arguments")
                                : nullptr;
    auto args = tool_call_arguments(arguments,
                                    fmt::format("{}.tool_calls[{}].function.arguments", param, c));
    if (!args) {
      return tl::unexpected(std::move(args.error()));
    }
    if (name == nullptr || !name->is_string()) {
      return tl::unexpected(core::invalid_request("a tool call needs function.name",
                                                  fmt::format("{}.tool_calls[{}]", param, c)));
    }
    translated.push_back(
        json::object{{"function", {{"name", name->as_string()}, {"arguments", std::move(*args)}}}});
  }
  return translated;
}

// One chat message: its role (developer as system), content and tool calls.
tl::expected<json::object, Error> translate_message(const json::object& m, size_t i) {
  const std::string param = fmt::format("messages[{}]", i);
  std::string_view role = m.at("role").as_string();
  if (role == "developer") {
    role = "system";
  }
  if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
    return tl::unexpected(core::invalid_request(
        fmt::format("role '{}' is not supported by {}", role, kProvider), param + ".role"));
  }
  json::object message{{"role", role}};
  if (auto content = translate_content(member(m, "content"), message, param + ".content");
      !content) {
    return tl::unexpected(content.error());
  }
  if (const auto* calls = member(m, "tool_calls"); calls != nullptr && calls->is_array()) {
    auto translated = translate_tool_calls(calls->as_array(), param);
    if (!translated) {
      return tl::unexpected(std::move(translated.error()));
    }
    message["tool_calls"] = std::move(*translated);
  }
  return message;
}

}  // namespace

OllamaToolMode ollama_tool_mode(const json::object& openai) {
  OllamaToolMode mode;
  if (const auto* choice = member(openai, "tool_choice")) {
    mode.forced_call = *choice == "required" || chosen_function(*choice) != nullptr;
  }
  const auto* parallel = member(openai, "parallel_tool_calls");
  mode.one_call = mode.forced_call || (parallel != nullptr && *parallel == false);
  return mode;
}

tl::expected<json::object, core::Error> ollama_request_from_openai(
    const json::object& openai, std::string_view upstream_model) {
  json::object out{{"model", upstream_model}};
  json::object options;
  for (const auto& [key, value] : openai) {
    if (value.is_null() || key == "model" || key == "messages" || key == "stream_options") {
      continue;
    }
    if (auto field = translate_field(key, value, out, options); !field) {
      return tl::unexpected(std::move(field.error()));
    }
  }
  if (auto choice = translate_tool_choice(openai, out); !choice) {
    return tl::unexpected(choice.error());
  }
  if (!out.contains("stream")) {
    out["stream"] = false;  // Ollama streams by default, OpenAI does not
  }
  if (!options.empty()) {
    out["options"] = std::move(options);
  }
  json::array messages;
  const auto& in = openai.at("messages").as_array();
  for (size_t i = 0; i < in.size(); ++i) {
    auto message = translate_message(in[i].as_object(), i);
    if (!message) {
      return tl::unexpected(std::move(message.error()));
    }
    messages.push_back(std::move(*message));
  }
  out["messages"] = std::move(messages);
  return out;
}

}  // namespace gw::providers
