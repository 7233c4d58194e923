// Anthropic's Messages request read into chat completions' (and, for counting, handed on as a
// tree to messages_input_tokens.cpp). One concern, over 500 lines because each block type, source
// and top-level field has its mapping and its refusal naming the field; the answer side is
// providers/messages_from_chat.cpp.

#include "gw/api/messages_to_chat.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/api/messages_to_chat_object.hpp"
#include "gw/api/request_json.hpp"
#include "gw/core/logging.hpp"

namespace gw::api {
namespace {

namespace json = boost::json;
using core::Error;
using core::invalid_request;

template <class T>
using Result = tl::expected<T, Error>;

Error must_be(const std::string& at, std::string_view what) {
  return invalid_request(fmt::format("'{}' must be {}", at, what), at);
}

// A block's (or source's, or tool's) "type"; empty when absent or not a string.
std::string_view type_of(const json::object& object) {
  const auto* type = object.if_contains("type");
  return type != nullptr && type->is_string() ? std::string_view(type->as_string()) : "";
}

Result<std::string_view> string_at(const json::object& object, std::string_view key,
                                   const std::string& at) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return tl::unexpected(must_be(fmt::format("{}.{}", at, key), "a string"));
  }
  return std::string_view(value->as_string());
}

Result<const json::object*> object_at(const json::value& value, const std::string& at) {
  if (!value.is_object()) {
    return tl::unexpected(must_be(at, "an object"));
  }
  return &value.as_object();
}

// Calls `add(block, its path, its type)` for each content block, in order, until one fails.
template <class Add>
Result<void> for_each_block(const json::array& blocks, const std::string& at, Add&& add) {
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string block_at = fmt::format("{}[{}]", at, i);
    auto block = object_at(blocks[i], block_at);
    if (!block) {
      return tl::unexpected(block.error());
    }
    if (auto added = add(**block, block_at, type_of(**block)); !added) {
      return added;
    }
  }
  return {};
}

// A block type the chat API has no way to take.
Error unsupported_block(std::string_view type, const std::string& at) {
  return invalid_request(fmt::format("content block type '{}' has no equivalent on this provider",
                                     core::bounded_text(type, 64)),
                         at + ".type");
}

// An image block as a chat image part: base64 data as a data URL, a URL as it is.
Result<json::object> image_part(const json::object& block, const std::string& at) {
  const auto* source_value = block.if_contains("source");
  auto source =
      source_value == nullptr
          ? Result<const json::object*>(tl::unexpected(must_be(at + ".source", "an object")))
          : object_at(*source_value, at + ".source");
  if (!source) {
    return tl::unexpected(source.error());
  }
  const std::string source_at = at + ".source";
  const std::string_view kind = type_of(**source);
  std::string url;
  if (kind == "base64") {
    auto media_type = string_at(**source, "media_type", source_at);
    auto data = string_at(**source, "data", source_at);
    if (!media_type || !data) {
      return tl::unexpected(!media_type ? media_type.error() : data.error());
    }
    url.reserve(media_type->size() + data->size() + 13);
    url += "data:";
    url += *media_type;
    url += ";base64,";
    url += *data;
  } else if (kind == "url") {
    auto location = string_at(**source, "url", source_at);
    if (!location) {
      return tl::unexpected(location.error());
    }
    url = *location;
  } else {
    return tl::unexpected(invalid_request(
        fmt::format("image source type '{}' has no equivalent on this provider (base64 and url "
                    "have)",
                    core::bounded_text(kind, 64)),
        source_at + ".type"));
  }
  return json::object{{"type", "image_url"}, {"image_url", json::object{{"url", std::move(url)}}}};
}

// The text of a string or of an array of text blocks (`system`, a tool result's content), the
// blocks' texts one paragraph each. With `images`, image blocks are taken too, into it.
Result<std::string> joined_text(const json::value& content, const std::string& at,
                                json::array* images = nullptr) {
  if (content.is_string()) {
    return std::string(content.as_string());
  }
  if (!content.is_array()) {
    return tl::unexpected(must_be(at, "a string or an array of text blocks"));
  }
  std::string text;
  auto added = for_each_block(content.as_array(), at,
                              [&](const json::object& block, const std::string& block_at,
                                  std::string_view type) -> Result<void> {
                                if (type == "image" && images != nullptr) {
                                  auto image = image_part(block, block_at);
                                  if (!image) {
                                    return tl::unexpected(image.error());
                                  }
                                  images->emplace_back(std::move(*image));
                                  return {};
                                }
                                if (type != "text") {
                                  return tl::unexpected(unsupported_block(type, block_at));
                                }
                                auto piece = string_at(block, "text", block_at);
                                if (!piece) {
                                  return tl::unexpected(piece.error());
                                }
                                text += text.empty() ? "" : "\n\n";
                                text += *piece;
                                return {};
                              });
  if (!added) {
    return tl::unexpected(added.error());
  }
  return text;
}

// A tool_result block as a chat tool message. Chat has no error flag: an error result says so in
// its text, which is what the flag tells the model. Chat tool messages take text only: the
// result's images go to `images`, for the user message that follows the tool messages.
Result<json::object> tool_message(const json::object& block, const std::string& at,
                                  json::array& images) {
  auto id = string_at(block, "tool_use_id", at);
  if (!id) {
    return tl::unexpected(id.error());
  }
  std::string text;
  if (const auto* content = block.if_contains("content"); content != nullptr) {
    const size_t images_before = images.size();
    auto joined = joined_text(*content, at + ".content", &images);
    if (!joined) {
      return tl::unexpected(joined.error());
    }
    text = std::move(*joined);
    if (images.size() > images_before) {
      text += text.empty() ? "" : "\n\n";
      text += "(the tool's image is in the next user message)";
    }
  }
  if (const auto* is_error = block.if_contains("is_error"); is_error != nullptr) {
    if (!is_error->is_bool()) {
      return tl::unexpected(must_be(at + ".is_error", "a boolean"));
    }
    if (is_error->as_bool()) {
      text.insert(0, text.empty() ? "Error" : "Error: ");
    }
  }
  return json::object{{"role", "tool"}, {"tool_call_id", *id}, {"content", std::move(text)}};
}

// A tool_use block as a chat tool call (its input serialized as the arguments).
Result<json::object> tool_call(const json::object& block, const std::string& at) {
  auto id = string_at(block, "id", at);
  auto name = string_at(block, "name", at);
  if (!id || !name) {
    return tl::unexpected(!id ? id.error() : name.error());
  }
  const auto* input = block.if_contains("input");
  if (input == nullptr || !input->is_object()) {
    return tl::unexpected(must_be(at + ".input", "an object"));
  }
  return json::object{
      {"id", *id},
      {"type", "function"},
      {"function", json::object{{"name", *name}, {"arguments", json::serialize(*input)}}}};
}

// The text parts of a message as one string when that is all it has (what every chat server
// takes), else the parts as they are.
json::value user_content(json::array parts) {
  for (const auto& part : parts) {
    if (part.as_object().at("type") != "text") {
      return parts;
    }
  }
  std::string text;
  for (const auto& part : parts) {
    text += text.empty() ? "" : "\n\n";
    text += part.as_object().at("text").as_string();
  }
  return json::string(text);
}

// A user turn: its tool results first, as tool messages (chat wants them right after the
// assistant's calls), then the rest as one user message.
Result<void> add_user_blocks(const json::array& blocks, const std::string& at,
                             json::array& messages) {
  json::array parts;
  json::array tool_images;
  auto added = for_each_block(blocks, at,
                              [&](const json::object& block, const std::string& block_at,
                                  std::string_view type) -> Result<void> {
                                if (type == "text") {
                                  auto text = string_at(block, "text", block_at);
                                  if (!text) {
                                    return tl::unexpected(text.error());
                                  }
                                  parts.push_back(json::object{{"type", "text"}, {"text", *text}});
                                } else if (type == "image") {
                                  auto image = image_part(block, block_at);
                                  if (!image) {
                                    return tl::unexpected(image.error());
                                  }
                                  parts.emplace_back(std::move(*image));
                                } else if (type == "tool_result") {
                                  auto message = tool_message(block, block_at, tool_images);
                                  if (!message) {
                                    return tl::unexpected(message.error());
                                  }
                                  messages.emplace_back(std::move(*message));
                                } else {
                                  return tl::unexpected(unsupported_block(type, block_at));
                                }
                                return {};
                              });
  if (!added) {
    return added;
  }
  if (!tool_images.empty()) {
    parts.insert(parts.begin(), tool_images.begin(), tool_images.end());
  }
  if (!parts.empty() || blocks.empty()) {
    messages.push_back(json::object{{"role", "user"}, {"content", user_content(std::move(parts))}});
  }
  return {};
}

// An assistant turn: its text as the content, its tool_use blocks as tool calls. Its thinking
// blocks are the model's earlier reasoning, which chat takes no input for: left out.
Result<void> add_assistant_blocks(const json::array& blocks, const std::string& at,
                                  json::array& messages) {
  std::string text;
  json::array calls;
  auto added = for_each_block(blocks, at,
                              [&](const json::object& block, const std::string& block_at,
                                  std::string_view type) -> Result<void> {
                                if (type == "text") {
                                  auto piece = string_at(block, "text", block_at);
                                  if (!piece) {
                                    return tl::unexpected(piece.error());
                                  }
                                  text += text.empty() ? "" : "\n\n";
                                  text += *piece;
                                } else if (type == "tool_use") {
                                  auto call = tool_call(block, block_at);
                                  if (!call) {
                                    return tl::unexpected(call.error());
                                  }
                                  calls.emplace_back(std::move(*call));
                                } else if (type != "thinking" && type != "redacted_thinking") {
                                  return tl::unexpected(unsupported_block(type, block_at));
                                }
                                return {};
                              });
  if (!added) {
    return added;
  }
  json::object message{{"role", "assistant"}};
  message["content"] = text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text);
  if (!calls.empty()) {
    message["tool_calls"] = std::move(calls);
  }
  messages.emplace_back(std::move(message));
  return {};
}

Result<json::array> chat_messages(const json::object& request, MessagesUse use) {
  json::array messages;
  if (const auto* system = request.if_contains("system"); system != nullptr) {
    auto text = joined_text(*system, "system");
    if (!text) {
      return tl::unexpected(text.error());
    }
    messages.push_back(json::object{{"role", "system"}, {"content", std::move(*text)}});
  }
  const auto& turns = request.at("messages").as_array();  // checked by the inspector
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string at = fmt::format("messages[{}]", i);
    auto turn = object_at(turns[i], at);
    if (!turn) {
      return tl::unexpected(turn.error());
    }
    auto role = string_at(**turn, "role", at);
    if (!role || (*role != "user" && *role != "assistant")) {
      return tl::unexpected(invalid_request(
          fmt::format("'{}.role' must be \"user\" or \"assistant\"", at), at + ".role"));
    }
    const auto* content = (*turn)->if_contains("content");
    if (content != nullptr && content->is_string()) {
      messages.push_back(json::object{{"role", *role}, {"content", *content}});
      continue;
    }
    if (content == nullptr || !content->is_array()) {
      return tl::unexpected(must_be(at + ".content", "a string or an array of content blocks"));
    }
    auto added = *role == "user"
                     ? add_user_blocks(content->as_array(), at + ".content", messages)
                     : add_assistant_blocks(content->as_array(), at + ".content", messages);
    if (!added) {
      return tl::unexpected(added.error());
    }
  }
  // Anthropic continues a final assistant turn (a prefill); a chat server answers it with a new
  // turn instead, which is not what the client asked for. (Counted, it is only more input.)
  if (use == MessagesUse::kAnswer && !turns.empty() && turns.back().is_object() &&
      turns.back().as_object().at("role") == "assistant") {
    const std::string at = fmt::format("messages[{}]", turns.size() - 1);
    return tl::unexpected(invalid_request(
        "a final assistant message (a prefill for the model to continue) has no equivalent on "
        "this provider: chat answers it with a new turn",
        at + ".role"));
  }
  return messages;
}

Result<json::array> chat_tools(const json::value& tools) {
  if (!tools.is_array()) {
    return tl::unexpected(must_be("tools", "an array"));
  }
  json::array out;
  for (size_t i = 0; i < tools.as_array().size(); ++i) {
    const std::string at = fmt::format("tools[{}]", i);
    auto tool = object_at(tools.as_array()[i], at);
    if (!tool) {
      return tl::unexpected(tool.error());
    }
    // Anthropic's own tools (web search, code execution, bash, the text editor...) run at
    // Anthropic: another provider has none of them.
    if (const auto* type = (*tool)->if_contains("type");
        type != nullptr && !type->is_null() && *type != "custom") {
      return tl::unexpected(invalid_request(
          fmt::format(
              "'{}.type' names a tool Anthropic runs; this provider takes client tools only "
              "(name, description, input_schema)",
              at),
          at + ".type"));
    }
    auto name = string_at(**tool, "name", at);
    if (!name) {
      return tl::unexpected(name.error());
    }
    const auto* schema = (*tool)->if_contains("input_schema");
    if (schema == nullptr || !schema->is_object()) {
      return tl::unexpected(must_be(at + ".input_schema", "an object"));
    }
    json::object function{{"name", *name}, {"parameters", *schema}};
    if (const auto* description = (*tool)->if_contains("description");
        description != nullptr && !description->is_null()) {
      function["description"] = *description;
    }
    out.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
  }
  return out;
}

// tool_choice, and its disable_parallel_tool_use as parallel_tool_calls. Chat servers refuse
// both without tools, where they mean nothing (auto, none) or cannot be met (any, tool).
Result<void> chat_tool_choice(const json::value& value, json::object& chat) {
  auto choice = object_at(value, "tool_choice");
  if (!choice) {
    return tl::unexpected(choice.error());
  }
  const std::string_view type = type_of(**choice);
  const bool has_tools = chat.contains("tools");
  json::value mapped;
  if (type == "auto" || type == "none") {
    mapped = type;
  } else if (type == "any") {
    mapped = "required";
  } else if (type == "tool") {
    auto name = string_at(**choice, "name", "tool_choice");
    if (!name) {
      return tl::unexpected(name.error());
    }
    mapped = json::object{{"type", "function"}, {"function", json::object{{"name", *name}}}};
  } else {
    return tl::unexpected(invalid_request("'tool_choice.type' must be one of auto, any, tool, none",
                                          "tool_choice.type"));
  }
  if (!has_tools) {
    if (type == "any" || type == "tool") {
      return tl::unexpected(
          invalid_request(fmt::format("tool_choice '{}' needs tools", type), "tool_choice"));
    }
    return {};
  }
  chat["tool_choice"] = std::move(mapped);
  if (const auto* single = (*choice)->if_contains("disable_parallel_tool_use"); single != nullptr) {
    if (!single->is_bool()) {
      return tl::unexpected(must_be("tool_choice.disable_parallel_tool_use", "a boolean"));
    }
    if (single->as_bool() && type != "none") {
      chat["parallel_tool_calls"] = false;
    }
  }
  return {};
}

// Extended thinking as OpenAI's reasoning effort: the budget read as a rough effort level.
// Reasoning models take it; a provider without a reasoning control refuses it (a 400 naming it).
Result<std::optional<std::string_view>> reasoning_effort(const json::value& value) {
  auto thinking = object_at(value, "thinking");
  if (!thinking) {
    return tl::unexpected(thinking.error());
  }
  const std::string_view type = type_of(**thinking);
  if (type == "disabled") {
    return std::nullopt;
  }
  if (type == "adaptive") {
    return "medium";
  }
  if (type != "enabled") {
    return tl::unexpected(
        invalid_request("'thinking.type' must be enabled, disabled or adaptive", "thinking.type"));
  }
  const auto* budget = (*thinking)->if_contains("budget_tokens");
  if (budget == nullptr || !budget->is_int64() || budget->as_int64() < 1) {
    return tl::unexpected(must_be("thinking.budget_tokens", "a positive integer"));
  }
  const int64_t tokens = budget->as_int64();
  return tokens < 4096 ? "low" : tokens < 16384 ? "medium" : "high";
}

Result<void> chat_user(const json::value& metadata, json::object& chat) {
  auto fields = object_at(metadata, "metadata");
  if (!fields) {
    return tl::unexpected(fields.error());
  }
  for (const auto& [key, value] : **fields) {
    if (key != "user_id") {
      const std::string name(core::bounded_text(key, 64));
      return tl::unexpected(invalid_request(
          fmt::format("'metadata.{}' is not a Messages API field", name), "metadata." + name));
    }
    if (!value.is_null()) {
      if (!value.is_string()) {
        return tl::unexpected(must_be("metadata.user_id", "a string"));
      }
      chat["user"] = value;
    }
  }
  return {};
}

Result<void> chat_stop(const json::value& sequences, json::object& chat) {
  if (!sequences.is_array()) {
    return tl::unexpected(must_be("stop_sequences", "an array of strings"));
  }
  for (const auto& sequence : sequences.as_array()) {
    if (!sequence.is_string()) {
      return tl::unexpected(must_be("stop_sequences", "an array of strings"));
    }
  }
  if (!sequences.as_array().empty()) {
    chat["stop"] = sequences;
  }
  return {};
}

// One top-level field of a Messages request (not model, messages, system or tools) into `chat`,
// or its refusal. `thinks`: set when it asks for reasoning.
Result<void> chat_field(std::string_view key, const json::value& value, json::object& chat,
                        bool& thinks) {
  if (key == "max_tokens" || key == "temperature" || key == "top_p" || key == "top_k" ||
      key == "stream") {
    // top_k: servers with it (vLLM, llama.cpp, Ollama) take it under this name; OpenAI refuses it
    // with a 400 naming it.
    chat[key] = value;
    return {};
  }
  if (key == "stop_sequences") {
    return chat_stop(value, chat);
  }
  if (key == "tool_choice") {
    return chat_tool_choice(value, chat);
  }
  if (key == "metadata") {
    return chat_user(value, chat);
  }
  if (key == "thinking") {
    auto effort = reasoning_effort(value);
    if (!effort) {
      return tl::unexpected(effort.error());
    }
    if (*effort) {
      chat["reasoning_effort"] = **effort;
      thinks = true;
    }
    return {};
  }
  if (key == "service_tier") {
    return {};  // priority capacity at Anthropic: a wish, not a change to the answer
  }
  const std::string name(core::bounded_text(key, 64));
  return tl::unexpected(invalid_request(
      fmt::format("'{}' has no equivalent on this provider (it needs Anthropic's API)", name),
      name));
}

}  // namespace

Result<json::object> messages_to_chat_object(std::string_view body, MessagesUse use) {
  auto parsed = parse_request_object(body);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  const json::object& request = *parsed;
  json::object chat;
  chat["model"] = request.at("model");
  auto messages = chat_messages(request, use);
  if (!messages) {
    return tl::unexpected(messages.error());
  }
  chat["messages"] = std::move(*messages);
  // Tools first: tool_choice depends on them.
  if (const auto* tools = request.if_contains("tools"); tools != nullptr && !tools->is_null()) {
    auto translated = chat_tools(*tools);
    if (!translated) {
      return tl::unexpected(translated.error());
    }
    if (!translated->empty()) {
      chat["tools"] = std::move(*translated);
    }
  }
  bool thinks = false;
  for (const auto& [key_view, value] : request) {
    const std::string_view key = key_view;
    if (key == "model" || key == "messages" || key == "system" || key == "tools" ||
        value.is_null()) {
      continue;
    }
    if (auto done = chat_field(key, value, chat, thinks); !done) {
      return tl::unexpected(done.error());
    }
  }
  if (const auto* limit = chat.if_contains("max_tokens"); thinks && limit != nullptr) {
    // OpenAI's reasoning models take their limit only under its newer name.
    chat["max_completion_tokens"] = *limit;
    chat.erase("max_tokens");
  }
  return chat;
}

tl::expected<ChatRequest, core::Error> messages_to_chat(std::string_view body) {
  auto chat = messages_to_chat_object(body, MessagesUse::kAnswer);
  if (!chat) {
    return tl::unexpected(chat.error());
  }
  return write_chat_request(std::move(*chat));
}

}  // namespace gw::api
