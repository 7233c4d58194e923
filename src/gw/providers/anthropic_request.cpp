// OpenAI chat-completions request -> Anthropic Messages request.
//
// The request is written as JSON text straight from the client's parsed tree: building a second
// tree and serialising it took more instructions than reading the first (most of a translated
// request's cost). Only values copied whole (a tool's schema, tool-call input, stop sequences)
// go through Boost.JSON's serializer. One concern over ~600 lines: each chat field's check and
// its Anthropic form, which must be read side by side.

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "gw/core/logging.hpp"
#include "gw/providers/anthropic.hpp"
#include "gw/providers/common/message_parts.hpp"
#include "gw/providers/common/unsupported_field.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;
using core::Errc;
using core::Error;

// Who refuses what it cannot translate, in error messages.
constexpr std::string_view kProvider = "the anthropic provider";

// Appends `text` as a JSON string token.
void append_string(std::string& out, std::string_view text) {
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
}

// Appends `"key":` after a comma when `out` already holds a member.
void append_key(std::string& out, std::string_view key) {
  if (out.back() != '{' && out.back() != '[') {
    out += ',';
  }
  append_string(out, key);
  out += ':';
}

// Where a message's content is, for an error about it: built only when there is one.
std::string content_param(size_t message) {
  return fmt::format("messages[{}].content", message);
}

// Content blocks of one message, as JSON text without the brackets.
struct Blocks {
  std::string text;
  size_t count = 0;
  bool only_text = true;

  // Starts the next block: its separator, counted.
  std::string& next() {
    if (count++ > 0) {
      text += ',';
    }
    return text;
  }
  void add_text(std::string_view value) {
    next() += R"({"type":"text","text":)";
    append_string(text, value);
    text += '}';
  }
};

// "data:image/png;base64,AAAA" -> a base64 image source; http(s) URLs -> a url source.
tl::expected<void, Error> add_image(Blocks& blocks, const json::value& part, size_t message) {
  const auto url = image_url_of(part.as_object());
  if (!url) {
    return tl::unexpected(
        core::invalid_request("an image_url part needs image_url.url", content_param(message)));
  }
  const std::string_view text = *url;
  std::string source;
  if (text.starts_with("data:")) {
    const auto data = base64_data_url(text);
    if (!data) {
      return tl::unexpected(
          core::invalid_request("image data URLs must be base64", content_param(message)));
    }
    source = R"({"type":"base64","media_type":)";
    append_string(source, data->media_type);
    source += R"(,"data":)";
    append_string(source, data->data);
  } else if (text.starts_with("http://") || text.starts_with("https://")) {
    source = R"({"type":"url","url":)";
    append_string(source, text);
  } else {
    return tl::unexpected(
        core::invalid_request("image URLs must be data: or http(s) URLs", content_param(message)));
  }
  blocks.only_text = false;
  blocks.next().append(R"({"type":"image","source":)").append(source).append("}}");
  return {};
}

// OpenAI content (a string or an array of parts) -> Anthropic content blocks.
tl::expected<Blocks, Error> content_blocks(const json::value& content, size_t message) {
  Blocks blocks;
  if (content.is_null()) {
    return blocks;
  }
  if (content.is_string()) {
    if (!content.as_string().empty()) {
      blocks.add_text(content.as_string());
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
        blocks.add_text(text->as_string());
      }
    } else if (kind == "image_url") {
      if (auto added = add_image(blocks, part, message); !added) {
        return tl::unexpected(added.error());
      }
    } else {
      return tl::unexpected(core::invalid_request(
          fmt::format("content parts of type '{}' are not supported by {}", kind, kProvider),
          content_param(message)));
    }
  }
  return blocks;
}

// The "system" blocks and the "messages" turns, written as they are translated. A turn stays
// open while messages of its role follow: Anthropic needs strictly alternating user/assistant
// turns, so consecutive ones of a role are merged.
class Conversation {
 public:
  void add_system(const Blocks& blocks) {
    if (blocks.count > 0) {
      system_.append(system_.empty() ? "" : ",").append(blocks.text);
    }
  }

  void add_turn(std::string_view role, const Blocks& blocks) {
    if (blocks.count == 0) {
      return;
    }
    if (role == open_role_) {
      messages_ += ',';
    } else {
      messages_ += open_role_.empty() ? "" : "]},";
      messages_.append(R"({"role":")").append(role).append(R"(","content":[)");
      open_role_ = role;
    }
    messages_ += blocks.text;
  }

  bool has_turns() const { return !open_role_.empty(); }

  // `"system":[...],"messages":[...]`, the system member only when there is one.
  void append_to(std::string& out) const {
    if (!system_.empty()) {
      append_key(out, "system");
      out.append("[").append(system_).append("]");
    }
    append_key(out, "messages");
    out.append("[").append(messages_).append("]}]");
  }

 private:
  std::string system_;
  std::string messages_;
  std::string_view open_role_;  // a literal
};

// An assistant message's tool calls, as tool_use blocks after its content.
tl::expected<void, Error> add_tool_calls(Blocks& blocks, const json::array& calls,
                                         const std::string& param) {
  for (size_t c = 0; c < calls.size(); ++c) {
    const auto& call = calls[c];
    const std::string call_param = fmt::format("{}.tool_calls[{}]", param, c);
    const auto* id = call.is_object() ? call.as_object().if_contains("id") : nullptr;
    const auto* function = call.is_object() ? call.as_object().if_contains("function") : nullptr;
    if (id == nullptr || !id->is_string() || function == nullptr || !function->is_object()) {
      return tl::unexpected(
          core::invalid_request("a tool call needs an id and a function", call_param));
    }
    const auto* name = function->as_object().if_contains("name");
    const auto* arguments = function->as_object().if_contains("arguments");
    if (name == nullptr || !name->is_string()) {
      return tl::unexpected(core::invalid_request("a tool call needs function.name", call_param));
    }
    auto input = tool_call_arguments(arguments, call_param + ".function.arguments");
    if (!input) {
      return tl::unexpected(std::move(input.error()));
    }
    blocks.only_text = false;
    std::string& out = blocks.next();
    out += R"({"type":"tool_use","id":)";
    append_string(out, id->as_string());
    out += R"(,"name":)";
    append_string(out, name->as_string());
    out.append(R"(,"input":)").append(json::serialize(*input)).append("}");
  }
  return {};
}

tl::expected<void, Error> translate_messages(const json::array& in, std::string& out) {
  Conversation conversation;
  for (size_t i = 0; i < in.size(); ++i) {
    auto param = [i] { return fmt::format("messages[{}]", i); };  // for errors only
    const auto& message = in[i].as_object();
    const std::string_view role = message.at("role").as_string();
    const json::value* content = message.if_contains("content");
    const json::value null_content;
    auto blocks = content_blocks(content != nullptr ? *content : null_content, i);
    if (!blocks) {
      return tl::unexpected(blocks.error());
    }
    if (role == "system" || role == "developer") {
      if (!blocks->only_text) {
        return tl::unexpected(core::invalid_request("system messages may only hold text", param()));
      }
      conversation.add_system(*blocks);
    } else if (role == "user") {
      conversation.add_turn("user", *blocks);
    } else if (role == "assistant") {
      if (const auto* calls = message.if_contains("tool_calls");
          calls != nullptr && calls->is_array()) {
        if (auto added = add_tool_calls(*blocks, calls->as_array(), param()); !added) {
          return tl::unexpected(added.error());
        }
      }
      conversation.add_turn("assistant", *blocks);
    } else if (role == "tool") {
      const auto* id = message.if_contains("tool_call_id");
      if (id == nullptr || !id->is_string()) {
        return tl::unexpected(
            core::invalid_request("a tool message needs tool_call_id", param() + ".tool_call_id"));
      }
      Blocks result;
      std::string& text = result.next();
      text += R"({"type":"tool_result","tool_use_id":)";
      append_string(text, id->as_string());
      if (blocks->count > 0) {
        text.append(R"(,"content":[)").append(blocks->text).append("]");
      }
      text += '}';
      conversation.add_turn("user", result);
    } else {
      return tl::unexpected(core::invalid_request(
          fmt::format("role '{}' is not supported by {}", role, kProvider), param() + ".role"));
    }
  }
  if (!conversation.has_turns()) {
    return tl::unexpected(
        core::invalid_request("at least one user or assistant message is needed", "messages"));
  }
  conversation.append_to(out);
  return {};
}

// Anthropic's tool_choice: {"type": type[, "name": name][, "disable_parallel_tool_use": true]}.
struct ToolChoice {
  std::string_view type;  // empty: none given
  std::string_view name;
  bool disable_parallel = false;

  void append_to(std::string& out) const {
    if (type.empty()) {
      return;
    }
    append_key(out, "tool_choice");
    out += R"({"type":)";
    append_string(out, type);
    if (!name.empty()) {
      out += R"(,"name":)";
      append_string(out, name);
    }
    if (disable_parallel) {
      out += R"(,"disable_parallel_tool_use":true)";
    }
    out += '}';
  }
};

// One function tool, appended to `translated` (Anthropic's tools array, without its brackets).
tl::expected<void, Error> translate_tool(const json::value& tool, size_t i,
                                         std::string& translated) {
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
  if (const auto* strict = f.if_contains("strict");
      strict != nullptr && strict->is_bool() && strict->as_bool()) {
    return tl::unexpected(unsupported_field(param + ".function.strict", kProvider));
  }
  translated += translated.empty() ? R"({"name":)" : R"(,{"name":)";
  append_string(translated, name->as_string());
  if (const auto* d = f.if_contains("description"); d != nullptr && d->is_string()) {
    translated += R"(,"description":)";
    append_string(translated, d->as_string());
  }
  const auto* parameters = f.if_contains("parameters");
  translated.append(R"(,"input_schema":)")
      .append(parameters != nullptr && parameters->is_object()
                  ? json::serialize(*parameters)
                  : std::string(R"({"type":"object","properties":{}})"))
      .append("}");
  return {};
}

// OpenAI's tool_choice as Anthropic's (its type and tool name).
tl::expected<void, Error> read_tool_choice(const json::value& tc, ToolChoice& choice) {
  if (tc.is_string()) {
    const std::string_view mode = tc.as_string();
    if (mode == "auto" || mode == "none") {
      choice.type = mode;
    } else if (mode == "required") {
      choice.type = "any";
    } else {
      return tl::unexpected(
          core::invalid_request(fmt::format("unknown tool_choice '{}'", mode), "tool_choice"));
    }
    return {};
  }
  if (!tc.is_object()) {
    return tl::unexpected(
        core::invalid_request("tool_choice must be a string or an object", "tool_choice"));
  }
  const auto* function = tc.as_object().if_contains("function");
  const auto* name = function != nullptr && function->is_object()
                         ? function->as_object().if_contains("name")
                         : nullptr;
  if (name == nullptr || !name->is_string()) {
    return tl::unexpected(core::invalid_request("tool_choice needs function.name", "tool_choice"));
  }
  choice.type = "tool";
  choice.name = name->as_string();
  return {};
}

tl::expected<void, Error> translate_tools(const json::object& in, std::string& out) {
  if (const auto* tools = in.if_contains("tools"); tools != nullptr && !tools->is_null()) {
    if (!tools->is_array()) {
      return tl::unexpected(core::invalid_request("'tools' must be an array", "tools"));
    }
    std::string translated;
    for (size_t i = 0; i < tools->as_array().size(); ++i) {
      if (auto done = translate_tool(tools->as_array()[i], i, translated); !done) {
        return done;
      }
    }
    if (!translated.empty()) {
      append_key(out, "tools");
      out.append("[").append(translated).append("]");
    }
  }
  ToolChoice choice;
  if (const auto* tc = in.if_contains("tool_choice"); tc != nullptr && !tc->is_null()) {
    if (auto read = read_tool_choice(*tc, choice); !read) {
      return read;
    }
  }
  if (const auto* parallel = in.if_contains("parallel_tool_calls");
      parallel != nullptr && !parallel->is_null()) {
    if (!parallel->is_bool()) {
      return tl::unexpected(
          core::invalid_request("'parallel_tool_calls' must be a boolean", "parallel_tool_calls"));
    }
    if (!parallel->as_bool()) {
      if (choice.type.empty()) {
        choice.type = "auto";
      }
      choice.disable_parallel = choice.type != "none";
    }
  }
  choice.append_to(out);
  return {};
}

// response_format json_schema / json_object as Anthropic's way to a JSON answer: one tool, forced,
// whose input schema is the schema (any object for json_object); the response translator turns
// its input into the message content. The client's own tools would compete with it: refused.
tl::expected<void, Error> force_json_tool(const json::object& format, const json::object& in,
                                          std::string& out) {
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
  append_key(out, "tools");
  out += R"([{"name":)";
  append_string(out, kJsonResponseTool);
  out += R"(,"description":)";
  append_string(out, description);
  out.append(R"(,"input_schema":)").append(json::serialize(schema)).append("}]");
  ToolChoice{"tool", kJsonResponseTool, true}.append_to(out);
  return {};
}

bool is_zero(const json::value& v) {
  return v.is_null() || (v.is_number() && v.to_number<double>() == 0.0);
}

// What the field walk reads that is written after it.
struct LaterFields {
  int64_t max_tokens;
  const json::object* json_format = nullptr;  // response_format json_schema or json_object
};

// temperature and top_p: a number in Anthropic's range [0, 1].
tl::expected<void, Error> write_sampling(std::string_view key, const json::value& value,
                                         std::string& out) {
  if (value.is_null()) {
    return {};
  }
  if (!value.is_number()) {
    return tl::unexpected(
        core::invalid_request(fmt::format("'{}' must be a number", key), std::string(key)));
  }
  // OpenAI's temperature goes to 2, Anthropic's to 1: out of range is an error, not a clamp.
  const auto number = value.to_number<double>();
  if (number < 0 || number > 1) {
    return tl::unexpected(core::invalid_request(
        fmt::format("'{}' must be between 0 and 1 for the anthropic provider", key),
        std::string(key)));
  }
  append_key(out, key);
  fmt::format_to(std::back_inserter(out), "{}", number);  // finite: a JSON number
  return {};
}

// stop -> stop_sequences; user -> metadata.user_id.
tl::expected<void, Error> write_stop_or_user(std::string_view key, const json::value& value,
                                             std::string& out) {
  if (value.is_null()) {
    return {};
  }
  if (key == "stop") {
    if (!value.is_string() && !value.is_array()) {
      return tl::unexpected(core::invalid_request("'stop' must be a string or an array", "stop"));
    }
    append_key(out, "stop_sequences");
    if (value.is_string()) {
      out += '[';
      append_string(out, value.as_string());
      out += ']';
    } else {
      out += json::serialize(value);
    }
    return {};
  }
  if (!value.is_string()) {
    return tl::unexpected(core::invalid_request("'user' must be a string", "user"));
  }
  append_key(out, "metadata");
  out += R"({"user_id":)";
  append_string(out, value.as_string());
  out += '}';
  return {};
}

// A field Anthropic has no form for: accepted only at the value that asks for nothing.
tl::expected<void, Error> check_untranslated(std::string_view key, const json::value& value) {
  bool asks_nothing = value.is_null();
  if (key == "n") {
    asks_nothing = asks_nothing || (value.is_int64() && value.as_int64() == 1);
  } else if (key == "logprobs" || key == "store") {
    asks_nothing = asks_nothing || (value.is_bool() && !value.as_bool());
  } else if (key == "frequency_penalty" || key == "presence_penalty") {
    asks_nothing = is_zero(value);
  } else if (key == "logit_bias" || key == "metadata") {
    asks_nothing = asks_nothing || (value.is_object() && value.as_object().empty());
  }
  // Anything else (seed, top_logprobs, audio, modalities, prediction, functions, unknown names)
  // only as null.
  if (!asks_nothing) {
    return tl::unexpected(unsupported_field(key, kProvider));
  }
  return {};
}

// One top-level chat field other than model, messages and the tools': written to `out`, kept
// for later in `later`, or refused.
tl::expected<void, Error> translate_field(std::string_view key, const json::value& value,
                                          std::string& out, LaterFields& later) {
  if (key == "max_tokens" || key == "max_completion_tokens") {
    if (value.is_null()) {
      return {};
    }
    if (!value.is_int64() || value.as_int64() < 1) {
      return tl::unexpected(core::invalid_request(
          fmt::format("'{}' must be a positive integer", key), std::string(key)));
    }
    later.max_tokens = value.as_int64();
    return {};
  }
  if (key == "temperature" || key == "top_p") {
    return write_sampling(key, value, out);
  }
  if (key == "stop" || key == "user") {
    return write_stop_or_user(key, value, out);
  }
  if (key == "stream") {
    if (value.is_bool() && value.as_bool()) {
      out += R"(,"stream":true)";
    }
    return {};
  }
  if (key == "response_format") {
    const auto* type = value.is_object() ? value.as_object().if_contains("type") : nullptr;
    if (type != nullptr && (*type == "json_schema" || *type == "json_object")) {
      later.json_format = &value.as_object();
    } else if (!value.is_null() && !(type != nullptr && *type == "text")) {
      return tl::unexpected(unsupported_field("response_format", kProvider));
    }
    return {};
  }
  return check_untranslated(key, value);
}

}  // namespace

tl::expected<std::string, core::Error> anthropic_request_from_openai(
    const json::object& openai, std::string_view upstream_model, int64_t default_max_tokens) {
  std::string out;
  out.reserve(256);
  out += R"({"model":)";
  append_string(out, upstream_model);
  LaterFields later{default_max_tokens};
  for (const auto& [key, value] : openai) {
    if (key == "model" || key == "messages" || key == "tools" || key == "tool_choice" ||
        key == "parallel_tool_calls" || key == "stream_options") {
      continue;  // translated below, or (stream_options) handled by the response translator
    }
    if (auto field = translate_field(key, value, out, later); !field) {
      return tl::unexpected(std::move(field.error()));
    }
  }
  out += R"(,"max_tokens":)";
  out += fmt::format_int(later.max_tokens).c_str();
  if (auto messages = translate_messages(openai.at("messages").as_array(), out); !messages) {
    return tl::unexpected(messages.error());
  }
  if (later.json_format != nullptr) {
    if (auto forced = force_json_tool(*later.json_format, openai, out); !forced) {
      return tl::unexpected(forced.error());
    }
  } else if (auto tools = translate_tools(openai, out); !tools) {
    return tl::unexpected(tools.error());
  }
  out += '}';
  return out;
}

}  // namespace gw::providers
