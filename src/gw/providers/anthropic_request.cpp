// OpenAI chat-completions request -> Anthropic Messages request.

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gw/providers/anthropic.hpp"
#include "gw/providers/message_parts.hpp"
#include "gw/providers/refusals.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;

// Who refuses what it cannot translate, in error messages.
constexpr std::string_view kProvider = "the anthropic provider";

// Where a message's content is, for an error about it: built only when there is one.
std::string content_param(size_t message) {
  return fmt::format("messages[{}].content", message);
}

// A {"type": type, key: text} block, without the initializer list's per-entry conversions.
json::object text_block(std::string_view type, std::string_view key, std::string_view text,
                        const json::storage_ptr& sp) {
  json::object block(sp);
  block.reserve(2);
  block.emplace("type", type);
  block.emplace(key, text);
  return block;
}

// "data:image/png;base64,AAAA" -> a base64 image source; http(s) URLs -> a url source.
tl::expected<json::object, Error> image_block(const json::value& part, size_t message,
                                              const json::storage_ptr& sp) {
  const auto url = image_url_of(part.as_object());
  if (!url) {
    return tl::unexpected(
        core::invalid_request("an image_url part needs image_url.url", content_param(message)));
  }
  const std::string_view text = *url;
  json::object source(sp);
  if (text.starts_with("data:")) {
    const auto data = base64_data_url(text);
    if (!data) {
      return tl::unexpected(
          core::invalid_request("image data URLs must be base64", content_param(message)));
    }
    source["type"] = "base64";
    source["media_type"] = data->media_type;
    source["data"] = data->data;
  } else if (text.starts_with("http://") || text.starts_with("https://")) {
    source["type"] = "url";
    source["url"] = text;
  } else {
    return tl::unexpected(
        core::invalid_request("image URLs must be data: or http(s) URLs", content_param(message)));
  }
  return json::object({{"type", "image"}, {"source", std::move(source)}}, sp);
}

// OpenAI content (a string or an array of parts) -> Anthropic content blocks.
tl::expected<json::array, Error> content_blocks(const json::value& content, size_t message,
                                                const json::storage_ptr& sp) {
  json::array blocks(sp);
  if (content.is_null()) {
    return blocks;
  }
  if (content.is_string()) {
    if (!content.as_string().empty()) {
      blocks.push_back(text_block("text", "text", content.as_string(), sp));
    }
    return blocks;
  }
  if (!content.is_array()) {
    return tl::unexpected(core::invalid_request("content must be a string or an array of parts",
                                                content_param(message)));
  }
  for (const auto& part : content.as_array()) {
    if (!part.is_object()) {
      return tl::unexpected(
          core::invalid_request("content parts must be objects", content_param(message)));
    }
    const auto* type = part.as_object().if_contains("type");
    std::string_view kind =
        type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
    if (kind == "text") {
      const auto* text = part.as_object().if_contains("text");
      if (text == nullptr || !text->is_string()) {
        return tl::unexpected(
            core::invalid_request("a text part needs 'text'", content_param(message)));
      }
      if (!text->as_string().empty()) {
        blocks.push_back(text_block("text", "text", text->as_string(), sp));
      }
    } else if (kind == "image_url") {
      auto block = image_block(part, message, sp);
      if (!block) {
        return tl::unexpected(block.error());
      }
      blocks.push_back(std::move(*block));
    } else {
      return tl::unexpected(core::invalid_request(
          fmt::format("content parts of type '{}' are not supported by {}", kind, kProvider),
          content_param(message)));
    }
  }
  return blocks;
}

// Appends a turn, merging it into the previous one when the role is the same (Anthropic needs
// strictly alternating user/assistant turns).
void append_turn(json::array& messages, std::string_view role, json::array blocks) {
  if (blocks.empty()) {
    return;
  }
  if (!messages.empty() && messages.back().as_object().at("role").as_string() == role) {
    auto& previous = messages.back().as_object().at("content").as_array();
    for (auto& block : blocks) {
      previous.push_back(std::move(block));
    }
    return;
  }
  json::object turn(messages.storage());
  turn.reserve(2);
  turn.emplace("role", role);
  turn.emplace("content", std::move(blocks));
  messages.push_back(std::move(turn));
}

tl::expected<void, Error> translate_messages(const json::array& in, json::object& out) {
  const json::storage_ptr& sp = out.storage();
  json::array system(sp);
  json::array messages(sp);
  for (size_t i = 0; i < in.size(); ++i) {
    auto param = [i] { return fmt::format("messages[{}]", i); };  // for errors only
    const auto& message = in[i].as_object();
    const std::string_view role = message.at("role").as_string();
    const json::value* content = message.if_contains("content");
    const json::value null_content;
    auto blocks = content_blocks(content != nullptr ? *content : null_content, i, sp);
    if (!blocks) {
      return tl::unexpected(blocks.error());
    }
    if (role == "system" || role == "developer") {
      for (auto& block : *blocks) {
        if (block.as_object().at("type").as_string() != "text") {
          return tl::unexpected(
              core::invalid_request("system messages may only hold text", param()));
        }
        system.push_back(std::move(block));
      }
    } else if (role == "user") {
      append_turn(messages, "user", std::move(*blocks));
    } else if (role == "assistant") {
      if (const auto* calls = message.if_contains("tool_calls");
          calls != nullptr && calls->is_array()) {
        for (size_t c = 0; c < calls->as_array().size(); ++c) {
          const auto& call = calls->as_array()[c];
          const std::string call_param = fmt::format("{}.tool_calls[{}]", param(), c);
          const auto* id = call.is_object() ? call.as_object().if_contains("id") : nullptr;
          const auto* function =
              call.is_object() ? call.as_object().if_contains("function") : nullptr;
          if (id == nullptr || !id->is_string() || function == nullptr || !function->is_object()) {
            return tl::unexpected(
                core::invalid_request("a tool call needs an id and a function", call_param));
          }
          const auto* name = function->as_object().if_contains("name");
          const auto* arguments = function->as_object().if_contains("arguments");
          if (name == nullptr || !name->is_string()) {
            return tl::unexpected(
                core::invalid_request("a tool call needs function.name", call_param));
          }
          auto input = tool_call_arguments(arguments, call_param + ".function.arguments", sp);
          if (!input) {
            return tl::unexpected(std::move(input.error()));
          }
          blocks->push_back(json::object({{"type", "tool_use"},
                                          {"id", id->as_string()},
                                          {"name", name->as_string()},
                                          {"input", std::move(*input)}},
                                         sp));
        }
      }
      append_turn(messages, "assistant", std::move(*blocks));
    } else if (role == "tool") {
      const auto* id = message.if_contains("tool_call_id");
      if (id == nullptr || !id->is_string()) {
        return tl::unexpected(
            core::invalid_request("a tool message needs tool_call_id", param() + ".tool_call_id"));
      }
      json::object result({{"type", "tool_result"}, {"tool_use_id", id->as_string()}}, sp);
      if (!blocks->empty()) {
        result["content"] = std::move(*blocks);
      }
      json::array turn(sp);
      turn.push_back(std::move(result));
      append_turn(messages, "user", std::move(turn));
    } else {
      return tl::unexpected(core::invalid_request(
          fmt::format("role '{}' is not supported by {}", role, kProvider), param() + ".role"));
    }
  }
  if (messages.empty()) {
    return tl::unexpected(
        core::invalid_request("at least one user or assistant message is needed", "messages"));
  }
  if (!system.empty()) {
    out["system"] = std::move(system);
  }
  out["messages"] = std::move(messages);
  return {};
}

tl::expected<void, Error> translate_tools(const json::object& in, json::object& out) {
  if (const auto* tools = in.if_contains("tools"); tools != nullptr && !tools->is_null()) {
    if (!tools->is_array()) {
      return tl::unexpected(core::invalid_request("'tools' must be an array", "tools"));
    }
    json::array translated(out.storage());
    for (size_t i = 0; i < tools->as_array().size(); ++i) {
      const auto& tool = tools->as_array()[i];
      const std::string param = fmt::format("tools[{}]", i);
      const auto* type = tool.is_object() ? tool.as_object().if_contains("type") : nullptr;
      const auto* function = tool.is_object() ? tool.as_object().if_contains("function") : nullptr;
      if (type == nullptr || !type->is_string() || type->as_string() != "function" ||
          function == nullptr || !function->is_object()) {
        return tl::unexpected(core::invalid_request("only function tools are supported", param));
      }
      const auto& f = function->as_object();
      const auto* name = f.if_contains("name");
      if (name == nullptr || !name->is_string()) {
        return tl::unexpected(
            core::invalid_request("a function tool needs a name", param + ".function.name"));
      }
      json::object t({{"name", name->as_string()}}, out.storage());
      if (const auto* d = f.if_contains("description"); d != nullptr && d->is_string()) {
        t["description"] = d->as_string();
      }
      const auto* parameters = f.if_contains("parameters");
      t["input_schema"] =
          parameters != nullptr && parameters->is_object()
              ? *parameters
              : json::value(json::object{{"type", "object"}, {"properties", json::object{}}});
      if (const auto* strict = f.if_contains("strict");
          strict != nullptr && strict->is_bool() && strict->as_bool()) {
        return tl::unexpected(unsupported_field(param + ".function.strict", kProvider));
      }
      translated.push_back(std::move(t));
    }
    if (!translated.empty()) {
      out["tools"] = std::move(translated);
    }
  }
  json::object choice(out.storage());
  if (const auto* tc = in.if_contains("tool_choice"); tc != nullptr && !tc->is_null()) {
    if (tc->is_string()) {
      const std::string_view mode = tc->as_string();
      if (mode == "auto") {
        choice["type"] = "auto";
      } else if (mode == "none") {
        choice["type"] = "none";
      } else if (mode == "required") {
        choice["type"] = "any";
      } else {
        return tl::unexpected(
            core::invalid_request(fmt::format("unknown tool_choice '{}'", mode), "tool_choice"));
      }
    } else if (tc->is_object()) {
      const auto* function = tc->as_object().if_contains("function");
      const auto* name = function != nullptr && function->is_object()
                             ? function->as_object().if_contains("name")
                             : nullptr;
      if (name == nullptr || !name->is_string()) {
        return tl::unexpected(
            core::invalid_request("tool_choice needs function.name", "tool_choice"));
      }
      choice["type"] = "tool";
      choice["name"] = name->as_string();
    } else {
      return tl::unexpected(
          core::invalid_request("tool_choice must be a string or an object", "tool_choice"));
    }
  }
  if (const auto* parallel = in.if_contains("parallel_tool_calls");
      parallel != nullptr && !parallel->is_null()) {
    if (!parallel->is_bool()) {
      return tl::unexpected(
          core::invalid_request("'parallel_tool_calls' must be a boolean", "parallel_tool_calls"));
    }
    if (!parallel->as_bool()) {
      if (choice.empty()) {
        choice["type"] = "auto";
      }
      if (choice["type"] != "none") {
        choice["disable_parallel_tool_use"] = true;
      }
    }
  }
  if (!choice.empty()) {
    out["tool_choice"] = std::move(choice);
  }
  return {};
}

// response_format json_schema / json_object as Anthropic's way to a JSON answer: one tool, forced,
// whose input schema is the schema (any object for json_object); the response translator turns
// its input into the message content. The client's own tools would compete with it: refused.
tl::expected<void, Error> force_json_tool(const json::object& format, const json::object& in,
                                          json::object& out) {
  for (const std::string_view key : {"tools", "tool_choice"}) {
    // No tools, and a tool_choice that asks for none, compete with nothing.
    if (const auto* value = in.if_contains(key);
        value != nullptr && !value->is_null() &&
        !(value->is_array() && value->as_array().empty()) && *value != "auto" && *value != "none") {
      return tl::unexpected(core::invalid_request(
          fmt::format("response_format json_schema/json_object cannot be combined with '{}' on the "
                      "anthropic provider, which answers in JSON through a tool of its own",
                      key),
          "response_format"));
    }
  }
  json::object tool{{"name", kJsonResponseTool}};
  json::value schema = json::object{{"type", "object"}};
  std::string description = "Give the answer as this tool's input: a JSON object";
  if (format.at("type") == "json_schema") {
    const auto* spec = format.if_contains("json_schema");
    if (spec == nullptr || !spec->is_object()) {
      return tl::unexpected(
          core::invalid_request("response_format json_schema needs a 'json_schema' object",
                                "response_format.json_schema"));
    }
    const auto& fields = spec->as_object();
    if (const auto* given = fields.if_contains("schema"); given != nullptr && !given->is_null()) {
      const auto* type = given->is_object() ? given->as_object().if_contains("type") : nullptr;
      if (!given->is_object() || (type != nullptr && *type != "object")) {
        return tl::unexpected(core::invalid_request(
            "the anthropic provider answers in JSON through a tool, whose input must be an object: "
            "the schema's type must be 'object'",
            "response_format.json_schema.schema"));
      }
      schema = *given;
      if (type == nullptr) {
        schema.as_object()["type"] = "object";  // a tool's input_schema states it
      }
    }
    if (const auto* name = fields.if_contains("name"); name != nullptr && name->is_string()) {
      description += fmt::format(" ({})", std::string_view(name->as_string()));
    }
    if (const auto* text = fields.if_contains("description");
        text != nullptr && text->is_string()) {
      description += ": ";
      description += text->as_string();
    }
  }
  tool["description"] = description;
  tool["input_schema"] = std::move(schema);
  out["tools"] = json::array{std::move(tool)};
  out["tool_choice"] = json::object{
      {"type", "tool"}, {"name", kJsonResponseTool}, {"disable_parallel_tool_use", true}};
  return {};
}

bool is_zero(const json::value& v) {
  return v.is_null() || (v.is_number() && v.to_number<double>() == 0.0);
}

}  // namespace

tl::expected<json::object, core::Error> anthropic_request_from_openai(
    const json::object& openai, std::string_view upstream_model, int64_t default_max_tokens,
    json::storage_ptr storage) {
  json::object out(std::move(storage));
  out["model"] = upstream_model;
  int64_t max_tokens = default_max_tokens;
  const json::object* json_format = nullptr;  // response_format json_schema or json_object
  for (const auto& [key, value] : openai) {
    if (key == "model" || key == "messages" || key == "tools" || key == "tool_choice" ||
        key == "parallel_tool_calls" || key == "stream_options") {
      continue;  // translated below, or (stream_options) handled by the response translator
    }
    if (key == "max_tokens" || key == "max_completion_tokens") {
      if (value.is_null()) {
        continue;
      }
      if (!value.is_int64() || value.as_int64() < 1) {
        return tl::unexpected(core::invalid_request(
            fmt::format("'{}' must be a positive integer", std::string_view(key)),
            std::string(key)));
      }
      max_tokens = value.as_int64();
    } else if (key == "temperature" || key == "top_p") {
      if (!value.is_null()) {
        if (!value.is_number()) {
          return tl::unexpected(core::invalid_request(
              fmt::format("'{}' must be a number", std::string_view(key)), std::string(key)));
        }
        // OpenAI's temperature goes to 2, Anthropic's to 1: out of range is an error, not a clamp.
        if (value.to_number<double>() < 0 || value.to_number<double>() > 1) {
          return tl::unexpected(core::invalid_request(
              fmt::format("'{}' must be between 0 and 1 for the anthropic provider",
                          std::string_view(key)),
              std::string(key)));
        }
        out[key] = value.to_number<double>();
      }
    } else if (key == "stop") {
      if (value.is_string()) {
        out["stop_sequences"] = json::array{value};
      } else if (value.is_array()) {
        out["stop_sequences"] = value;
      } else if (!value.is_null()) {
        return tl::unexpected(core::invalid_request("'stop' must be a string or an array", "stop"));
      }
    } else if (key == "user") {
      if (value.is_string()) {
        out["metadata"] = json::object{{"user_id", value}};
      } else if (!value.is_null()) {
        return tl::unexpected(core::invalid_request("'user' must be a string", "user"));
      }
    } else if (key == "stream") {
      if (value.is_bool() && value.as_bool()) {
        out["stream"] = true;
      }
    } else if (key == "n") {
      if (!value.is_null() && !(value.is_int64() && value.as_int64() == 1)) {
        return tl::unexpected(unsupported_field("n", kProvider));
      }
    } else if (key == "logprobs" || key == "store") {
      if (!value.is_null() && !(value.is_bool() && !value.as_bool())) {
        return tl::unexpected(unsupported_field(key, kProvider));
      }
    } else if (key == "frequency_penalty" || key == "presence_penalty") {
      if (!is_zero(value)) {
        return tl::unexpected(unsupported_field(key, kProvider));
      }
    } else if (key == "response_format") {
      const auto* type = value.is_object() ? value.as_object().if_contains("type") : nullptr;
      if (type != nullptr && (*type == "json_schema" || *type == "json_object")) {
        json_format = &value.as_object();
      } else if (!value.is_null() && !(type != nullptr && *type == "text")) {
        return tl::unexpected(unsupported_field("response_format", kProvider));
      }
    } else if (key == "logit_bias" || key == "metadata") {
      if (!value.is_null() && !(value.is_object() && value.as_object().empty())) {
        return tl::unexpected(unsupported_field(key, kProvider));
      }
    } else {
      // seed, top_logprobs, audio, modalities, prediction, functions, … and anything unknown.
      if (!value.is_null()) {
        return tl::unexpected(unsupported_field(key, kProvider));
      }
    }
  }
  out["max_tokens"] = max_tokens;
  if (auto messages = translate_messages(openai.at("messages").as_array(), out); !messages) {
    return tl::unexpected(messages.error());
  }
  if (json_format != nullptr) {
    if (auto forced = force_json_tool(*json_format, openai, out); !forced) {
      return tl::unexpected(forced.error());
    }
  } else if (auto tools = translate_tools(openai, out); !tools) {
    return tl::unexpected(tools.error());
  }
  return out;
}

}  // namespace gw::providers
