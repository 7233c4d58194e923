// Anthropic's Messages format from the chat-completions format every provider translator produces:
// a chat.completion becomes a `message`, a chat stream the Messages event sequence.

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "gw/core/request_id.hpp"
#include "gw/providers/from_chat.hpp"
#include "gw/providers/messages.hpp"

namespace gw::providers {
namespace {

using namespace responses_json;

// A chat usage object as the Messages API's usage. Anthropic's input_tokens leave out what was read
// from the cache (cache_read_input_tokens); OpenAI's prompt_tokens include it.
// Unknown counts (message_start's, before any) are 0.
void append_usage(std::string& out, const api::Usage& usage) {
  const int64_t cached = usage.cached_tokens.value_or(0);
  fmt::format_to(std::back_inserter(out), R"({{"input_tokens":{})",
                 std::max<int64_t>(usage.prompt_tokens - cached, 0));
  if (usage.cached_tokens) {
    fmt::format_to(std::back_inserter(out),
                   R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":{})", cached);
  }
  fmt::format_to(std::back_inserter(out), R"(,"output_tokens":{}}})",
                 std::max<int64_t>(usage.completion_tokens, 0));
}

// Why the answer ended, as Anthropic says it.
struct Stop {
  std::string_view reason = "end_turn";
  std::string sequence;  // the stop sequence met, when the upstream says which (vLLM does)
};

// finish_reason -> stop_reason. `stop_reason` is the matched stop string some servers (vLLM) add to
// a choice; `called_tools` whether the answer holds tool calls (some servers finish those with
// "stop").
Stop stop_of(std::string_view finish_reason, dom::object choice, bool called_tools) {
  if (finish_reason == "length") {
    return {"max_tokens"};
  }
  if (finish_reason == "content_filter") {
    return {"refusal"};
  }
  if (finish_reason == "tool_calls" || finish_reason == "function_call" || called_tools) {
    return {"tool_use"};
  }
  if (std::string_view matched; choice["stop_reason"].get(matched) == simdjson::SUCCESS) {
    return {"stop_sequence", std::string(matched)};
  }
  return {};
}

void append_stop(std::string& out, const Stop& stop) {
  out += R"("stop_reason":)";
  append_quoted(out, stop.reason);
  out += R"(,"stop_sequence":)";
  if (stop.sequence.empty()) {
    out += "null";
  } else {
    append_quoted(out, stop.sequence);
  }
}

// The reasoning text some servers add to a message or delta (vLLM and DeepSeek:
// reasoning_content; Ollama's and OpenRouter's OpenAI dialect: reasoning).
std::string_view reasoning_of(dom::object message) {
  const std::string_view text = text_at(message, "reasoning_content");
  return text.empty() ? text_at(message, "reasoning") : text;
}

enum class BlockKind { kText, kThinking, kToolUse };

class MessagesFromChat final : public FromChatTranslator {
 public:
  MessagesFromChat(std::unique_ptr<ResponseTranslator> chat, std::string requested_model,
                   std::string id)
      : FromChatTranslator(std::move(chat)),
        id_(id.empty() ? "msg_" + core::new_request_id() : std::move(id)),
        model_(std::move(requested_model)) {}

  void on_model(std::string_view model) override { set_model(model); }

  std::string_view keepalive_event() const override {
    return "event: ping\ndata: {\"type\":\"ping\"}\n\n";
  }

  size_t held() const override {
    size_t bytes = open_ ? open_->held.size() : 0;
    for (const auto& piece : held_text_) {
      bytes += piece.second.size();
    }
    return bytes;
  }

  tl::expected<std::string, core::Error> render_completion(dom::object choice,
                                                           dom::object message) override {
    std::string content;
    const auto add_block = [&](std::string_view type, std::string_view key, std::string_view text) {
      content += content.empty() ? R"({"type":)" : R"(,{"type":)";
      append_quoted(content, type);
      content += ",";
      append_quoted(content, key);
      content += ':';
      append_quoted(content, text);
      content += type == "thinking" ? R"(,"signature":""})" : "}";
    };
    if (const std::string_view reasoning = reasoning_of(message); !reasoning.empty()) {
      add_block("thinking", "thinking", reasoning);
    }
    if (const std::string text = content_text(message); !text.empty()) {
      add_block("text", "text", text);
    }
    if (const std::string_view refusal = text_at(message, "refusal"); !refusal.empty()) {
      add_block("text", "text", refusal);
    }
    bool called_tools = false;
    if (dom::array calls; message["tool_calls"].get(calls) == simdjson::SUCCESS) {
      for (dom::element call : calls) {
        auto input = tool_input(text_at(call["function"], "arguments"));
        if (!input) {
          return tl::unexpected(input.error());
        }
        called_tools = true;
        content += content.empty() ? R"({"type":"tool_use","id":)" : R"(,{"type":"tool_use","id":)";
        append_quoted(content, tool_id(text_at(call, "id")));
        content += R"(,"name":)";
        append_quoted(content, text_at(call["function"], "name"));
        content += R"(,"input":)";
        content += *input;
        content += '}';
      }
    }
    const Stop stop = stop_of(text_at(choice, "finish_reason"), choice, called_tools);
    std::string out;
    out.reserve(content.size() + 256);
    out += R"({"id":)";
    append_quoted(out, id_);
    out += R"(,"type":"message","role":"assistant","model":)";
    append_quoted(out, model_);
    out += R"(,"content":[)";
    out += content;
    out += "],";
    append_stop(out, stop);
    out += R"(,"usage":)";
    append_usage(out, usage_);
    out += '}';
    return out;
  }

 private:
  // One content block of the streamed message.
  struct Block {
    BlockKind kind = BlockKind::kText;
    size_t index = 0;
    int64_t tool_index = -1;  // tool_use: the chat stream's index of the call
    std::string id;           // tool_use
    std::string name;
    std::string held;  // tool_use: arguments that came before its name (the start needs it)
    bool announced = false;
  };

  void set_model(std::string_view model) {
    if (!model.empty()) {
      model_ = model;
    }
  }

  // A tool call's id, made up when the upstream gave none.
  std::string tool_id(std::string_view id) {
    return id.empty() ? fmt::format("toolu_{}_{}", std::string_view(id_).substr(4), tool_count_++)
                      : std::string(id);
  }

  // Arguments as the tool_use input object (none: an empty object). Anything else is not a call
  // the client could make: an error, not a made-up input.
  static tl::expected<std::string, core::Error> tool_input(std::string_view arguments) {
    if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return "{}";
    }
    // Its own parser: the completion being read lives in parse_object's.
    thread_local dom::parser parser;
    thread_local std::string padded;
    padded.reserve(arguments.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(arguments);
    dom::object input;
    if (parser.parse(padded.data(), padded.size(), false).get(input) != simdjson::SUCCESS) {
      return tl::unexpected(protocol_error(
          "the upstream's tool call arguments are not a JSON object (the model wrote invalid "
          "arguments)"));
    }
    return std::string(arguments);
  }

  void on_choice(dom::object choice) override {
    if (dom::object delta; choice["delta"].get(delta) == simdjson::SUCCESS) {
      // One pass over the delta's members (a lookup per field scans them all each time); the
      // blocks they make, in a fixed order.
      std::string_view reasoning;
      std::string_view text;
      std::string_view refusal;
      dom::array calls;
      bool called = false;
      for (const auto field : delta) {
        if (field.key == "content") {
          text = string_of(field.value);
        } else if (field.key == "reasoning_content" || field.key == "reasoning") {
          // Either name (vLLM's, Ollama's); the first that has text.
          if (reasoning.empty()) {
            reasoning = string_of(field.value);
          }
        } else if (field.key == "refusal") {
          refusal = string_of(field.value);
        } else if (field.key == "tool_calls") {
          called = field.value.get(calls) == simdjson::SUCCESS;
        }
      }
      if (!reasoning.empty()) {
        on_text(BlockKind::kThinking, reasoning);
      }
      if (!text.empty()) {
        on_text(BlockKind::kText, text);
      }
      if (!refusal.empty()) {
        on_text(BlockKind::kText, refusal);
      }
      if (called) {
        for (dom::element call : calls) {
          on_tool_call(call);
        }
      }
    }
    if (const std::string_view finish = text_at(choice, "finish_reason"); !finish.empty()) {
      stop_ = stop_of(finish, choice, called_tools_);
    }
  }

  // message_start, once the upstream has answered, and a ping as Anthropic sends one. The input
  // tokens are not known yet (chat streams count at the end): message_delta reports them.
  void start(std::string_view model) override {
    if (started_) {
      return;
    }
    started_ = true;
    set_model(model);
    members_.assign(R"("message":{"id":)");
    append_quoted(members_, id_);
    members_ += R"(,"type":"message","role":"assistant","model":)";
    append_quoted(members_, model_);
    members_ += R"(,"content":[],"stop_reason":null,"stop_sequence":null,"usage":)";
    append_usage(members_, api::Usage{});
    members_ += '}';
    emit("message_start", members_);
    emit("ping", {});
  }

  // Text or thinking: into the open block of that kind, or a new one.
  // Text that comes while a tool call is open (some servers' tool parsers put text between a
  // call's fragments) waits for the call's block to close: blocks never interleave.
  void on_text(BlockKind kind, std::string_view text) {
    if (open_ && open_->kind == BlockKind::kToolUse) {
      held_text_.emplace_back(kind, std::string(text));
      return;
    }
    if (!open_ || open_->kind != kind) {
      open_block(Block{kind});
    }
    delta(kind == BlockKind::kText ? "text_delta" : "thinking_delta",
          kind == BlockKind::kText ? "text" : "thinking", text);
  }

  // A tool call fragment: a new tool_use block when its index or id differs from the open one's.
  // The block starts once its name is known (its start event carries it).
  void on_tool_call(dom::element call) {
    int64_t index = 0;
    if (call["index"].get(index) != simdjson::SUCCESS) {
      index = open_ && open_->kind == BlockKind::kToolUse ? open_->tool_index : 0;
    }
    const std::string_view id = text_at(call, "id");
    const std::string_view name = text_at(call["function"], "name");
    const bool same = open_ && open_->kind == BlockKind::kToolUse && open_->tool_index == index &&
                      (id.empty() || id == open_->id);
    const std::string_view arguments = text_at(call["function"], "arguments");
    if (!same && id.empty()) {
      // A late fragment of a call whose block was closed (a server that interleaves two calls'
      // arguments): its arguments go to that block, whose index the SDKs accumulate by, rather
      // than into a new call without a name.
      const auto closed = std::find_if(closed_calls_.begin(), closed_calls_.end(),
                                       [index](const auto& c) { return c.first == index; });
      if (closed != closed_calls_.end()) {
        if (!arguments.empty()) {
          delta("input_json_delta", "partial_json", arguments, closed->second);
        }
        return;
      }
    }
    if (!same) {
      Block block{BlockKind::kToolUse};
      block.tool_index = index;
      block.id = tool_id(id);
      open_block(std::move(block), false);
      called_tools_ = true;
    }
    Block& block = *open_;
    if (!block.announced) {
      block.name += name;
      block.held += arguments;
      if (block.name.empty()) {
        return;
      }
      announce();
      if (!block.held.empty()) {
        delta("input_json_delta", "partial_json", block.held);
      }
      return;
    }
    if (!arguments.empty()) {
      delta("input_json_delta", "partial_json", arguments);
    }
  }

  // Closes the open block and opens `block` at the next index (announced now unless told).
  void open_block(Block block, bool announce_now = true) {
    while (open_) {
      close_block();  // a tool call's held text makes a block of its own, closed in turn
    }
    block.index = block_count_++;
    open_ = std::move(block);
    if (announce_now) {
      announce();
    }
  }

  void announce() {
    Block& block = *open_;
    block.announced = true;
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("index":{},"content_block":)", block.index);
    switch (block.kind) {
      case BlockKind::kText:
        members_ += R"({"type":"text","text":""})";
        break;
      case BlockKind::kThinking:
        members_ += R"({"type":"thinking","thinking":"","signature":""})";
        break;
      case BlockKind::kToolUse:
        members_ += R"({"type":"tool_use","id":)";
        append_quoted(members_, block.id);
        members_ += R"(,"name":)";
        append_quoted(members_, block.name);
        members_ += R"(,"input":{}})";
        break;
    }
    emit("content_block_start", members_);
  }

  // A content_block_delta of the open block (or of the block at `index`).
  void delta(std::string_view type, std::string_view key, std::string_view value,
             std::optional<size_t> index = std::nullopt) {
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("index":{},"delta":{{"type":)",
                   index.value_or(open_->index));
    append_quoted(members_, type);
    members_ += ',';
    append_quoted(members_, key);
    members_ += ':';
    append_quoted(members_, value);
    members_ += '}';
    emit("content_block_delta", members_);
  }

  void close_block() {
    if (!open_) {
      return;
    }
    if (!open_->announced) {
      announce();  // a call whose name never came: still a block, with what it had
      if (!open_->held.empty()) {
        delta("input_json_delta", "partial_json", open_->held);
      }
    }
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("index":{})", open_->index);
    emit("content_block_stop", members_);
    if (open_->kind == BlockKind::kToolUse) {
      closed_calls_.emplace_back(open_->tool_index, open_->index);
    }
    open_.reset();
    for (auto& [kind, text] : std::exchange(held_text_, {})) {
      on_text(kind, text);
    }
  }

  // [DONE]: the last block ends, then the message with its stop reason and usage.
  void close() override {
    start({});
    while (open_) {
      close_block();
    }
    closed_ = true;
    // Translators that did not send a usage chunk (none was asked for) still counted.
    take_usage(chat_->usage());
    members_.assign(R"("delta":{)");
    append_stop(members_, stop_);
    members_ += R"(},"usage":)";
    append_usage(members_, usage_);
    emit("message_delta", members_);
    emit("message_stop", {});
  }

  // The stream cannot complete: Anthropic's `error` event ends it.
  void fail(const core::Error& error) override {
    start({});
    closed_ = true;
    out_ += core::anthropic_sse_error_event(error);
  }

  // One event: `members` are the JSON members after its type.
  void emit(std::string_view type, std::string_view members) {
    out_ += "event: ";
    out_ += type;
    out_ += "\ndata: {\"type\":\"";
    out_ += type;
    out_ += '"';
    if (!members.empty()) {
      out_ += ',';
      out_ += members;
    }
    out_ += "}\n\n";
  }

  std::string id_;
  std::string model_;
  std::string members_;        // scratch for one event's members
  std::optional<Block> open_;  // the block receiving deltas
  size_t block_count_ = 0;
  std::vector<std::pair<int64_t, size_t>> closed_calls_;      // chat index -> block index
  std::vector<std::pair<BlockKind, std::string>> held_text_;  // while a tool call is open
  size_t tool_count_ = 0;                                     // ids made up so far
  Stop stop_;
  bool called_tools_ = false;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<ResponseTranslator> make_messages_from_chat(
    std::unique_ptr<ResponseTranslator> chat, std::string requested_model, std::string id) {
  return std::make_unique<MessagesFromChat>(std::move(chat), std::move(requested_model),
                                            std::move(id));
}

}  // namespace gw::providers
