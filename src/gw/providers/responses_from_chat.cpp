// OpenAI's Responses format from the chat-completions format every provider translator produces:
// a chat.completion becomes a `response` object, a chat stream the Responses event sequence.

#include <fmt/format.h>

#include <vector>

#include "gw/core/request_id.hpp"
#include "gw/providers/from_chat.hpp"
#include "gw/providers/responses.hpp"

namespace gw::providers {
namespace {

using namespace responses_json;

// A chat usage object as the Responses API's usage (null when unknown).
void append_usage(std::string& out, const api::Usage& usage) {
  if (!usage.known()) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out),
                 R"({{"input_tokens":{},"input_tokens_details":{{"cached_tokens":{}}},)"
                 R"("output_tokens":{},"output_tokens_details":{{"reasoning_tokens":{}}},)"
                 R"("total_tokens":{}}})",
                 usage.prompt_tokens, usage.cached_tokens.value_or(0), usage.completion_tokens,
                 usage.reasoning_tokens.value_or(0), usage.prompt_tokens + usage.completion_tokens);
}

// One content part of a message: its text, or a refusal.
struct ContentPart {
  bool refusal = false;
  std::string text;

  // As first announced (content_part.added), without its text yet.
  void append_to(std::string& out, bool announced = false) const {
    const std::string_view text_now = announced ? std::string_view() : std::string_view(text);
    if (refusal) {
      out += R"({"type":"refusal","refusal":)";
    } else {
      out += R"({"type":"output_text","annotations":[],"logprobs":[],"text":)";
    }
    append_quoted(out, text_now);
    out += '}';
  }
};

// An output item: a message of content parts, or a function call.
struct OutputItem {
  bool function_call = false;
  std::string id;
  std::vector<ContentPart> parts;  // messages
  std::string call_id;             // function calls
  std::string name;
  std::string arguments;
  int64_t tool_index = -1;  // the chat stream's index of the call

  // As first announced (output_item.added), without its content or arguments yet.
  void append_to(std::string& out, std::string_view status, bool announced = false) const {
    out += R"({"id":)";
    append_quoted(out, id);
    if (!function_call) {
      out += R"(,"type":"message","status":)";
      append_quoted(out, status);
      out += R"(,"role":"assistant","content":[)";
      for (size_t i = 0; !announced && i < parts.size(); ++i) {
        out += i == 0 ? "" : ",";
        parts[i].append_to(out);
      }
      out += "]}";
      return;
    }
    out += R"(,"type":"function_call","status":)";
    append_quoted(out, status);
    out += R"(,"arguments":)";
    append_quoted(out, announced ? std::string_view() : std::string_view(arguments));
    out += R"(,"call_id":)";
    append_quoted(out, call_id);
    out += R"(,"name":)";
    append_quoted(out, name);
    out += '}';
  }
};

// The status a chat finish_reason gives the response, and incomplete_details' reason.
struct Outcome {
  std::string_view status = "completed";
  std::string_view reason;  // empty: incomplete_details is null
};

Outcome outcome_of_finish(std::string_view finish_reason) {
  if (finish_reason == "length") {
    return {"incomplete", "max_output_tokens"};
  }
  if (finish_reason == "content_filter") {
    return {"incomplete", "content_filter"};
  }
  return {};
}

// The response object around its output items.
class ResponseObject {
 public:
  explicit ResponseObject(ResponseIdentity identity) : identity_(std::move(identity)) {}

  void set_model(std::string_view model) {
    if (model_.empty()) {
      model_ = model;
    }
  }
  // Ids of its items: resp_<x> gives msg_<x>_<n>, fc_<x>_<n>, call_<x>_<n>.
  std::string item_id(std::string_view prefix, size_t index) const {
    return fmt::format("{}_{}_{}", prefix, std::string_view(identity_.id).substr(5), index);
  }

  // `output`: the items' JSON, comma-separated; `error`: JSON, or empty for null.
  void append_to(std::string& out, std::string_view status, std::string_view reason,
                 std::string_view output, const api::Usage& usage,
                 std::string_view error = {}) const {
    out += R"({"id":)";
    append_quoted(out, identity_.id);
    fmt::format_to(std::back_inserter(out), R"(,"object":"response","created_at":{},"status":)",
                   identity_.created_at);
    append_quoted(out, status);
    out += R"(,"background":false,"completed_at":)";
    if (status == "completed") {
      fmt::format_to(std::back_inserter(out), "{}", api::unix_now());
    } else {
      out += "null";
    }
    out += R"(,"error":)";
    out += error.empty() ? std::string_view("null") : error;
    out += R"(,"incomplete_details":)";
    if (reason.empty()) {
      out += "null";
    } else {
      out += R"({"reason":)";
      append_quoted(out, reason);
      out += '}';
    }
    out += R"(,"model":)";
    append_quoted(out, model_);
    out += R"(,"output":[)";
    out += output;
    out += "],";
    out += identity_.echoed;
    out += R"(,"usage":)";
    append_usage(out, usage);
    out += '}';
  }

 private:
  ResponseIdentity identity_;
  std::string model_;
};

class ResponsesFromChat final : public FromChatTranslator {
 public:
  ResponsesFromChat(std::unique_ptr<ResponseTranslator> chat, ResponseIdentity identity)
      : FromChatTranslator(std::move(chat)), response_(std::move(identity)) {}

  void on_model(std::string_view model) override { response_.set_model(model); }

  tl::expected<std::string, core::Error> render_completion(dom::object choice,
                                                           dom::object message) override {
    const Outcome outcome = outcome_of_finish(text_at(choice, "finish_reason"));
    std::vector<OutputItem> items;
    OutputItem text{false, response_.item_id("msg", 0)};
    if (std::string content = content_text(message); !content.empty()) {
      text.parts.push_back({false, std::move(content)});
    }
    if (const std::string_view refusal = text_at(message, "refusal"); !refusal.empty()) {
      text.parts.push_back({true, std::string(refusal)});
    }
    if (!text.parts.empty()) {
      items.push_back(std::move(text));
    }
    if (dom::array calls; message["tool_calls"].get(calls) == simdjson::SUCCESS) {
      for (dom::element call : calls) {
        OutputItem item{true, response_.item_id("fc", items.size())};
        item.call_id = text_at(call, "id");
        if (item.call_id.empty()) {
          item.call_id = response_.item_id("call", items.size());
        }
        item.name = text_at(call["function"], "name");
        item.arguments = text_at(call["function"], "arguments");
        items.push_back(std::move(item));
      }
    }
    std::string output;
    for (const auto& item : items) {
      output += output.empty() ? "" : ",";
      const bool cut = outcome.status == "incomplete" && &item == &items.back();
      item.append_to(output, cut ? "incomplete" : "completed");
    }
    std::string out;
    out.reserve(output.size() + 1024);
    response_.append_to(out, outcome.status, outcome.reason, output, usage_);
    return out;
  }

 private:
  void on_choice(dom::object choice) override {
    if (dom::object delta; choice["delta"].get(delta) == simdjson::SUCCESS) {
      if (const std::string_view text = text_at(delta, "content"); !text.empty()) {
        on_text(text, false);
      }
      if (const std::string_view refusal = text_at(delta, "refusal"); !refusal.empty()) {
        on_text(refusal, true);
      }
      if (dom::array calls; delta["tool_calls"].get(calls) == simdjson::SUCCESS) {
        for (dom::element call : calls) {
          on_tool_call(call);
        }
      }
    }
    if (const std::string_view finish = text_at(choice, "finish_reason"); !finish.empty()) {
      finish_reason_ = finish;
    }
  }

  // The first events, once the upstream has answered.
  void start(std::string_view model) override {
    if (started_) {
      return;
    }
    started_ = true;
    response_.set_model(model);
    std::string object;
    response_.append_to(object, "in_progress", {}, {}, api::Usage{});
    emit_with("response.created", "response", object);
    emit_with("response.in_progress", "response", object);
  }

  // Text or refusal: in the open message's last part of that kind (a new message or part first).
  void on_text(std::string_view text, bool refusal) {
    if (!open_ || open_->function_call) {
      open_item(OutputItem{false, response_.item_id("msg", item_count_)});
    }
    if (open_->parts.empty() || open_->parts.back().refusal != refusal) {
      close_part();
      open_->parts.push_back({refusal, {}});
      part_members();
      members_ += R"(,"part":)";
      open_->parts.back().append_to(members_, true);
      emit("response.content_part.added", members_);
    }
    open_->parts.back().text += text;
    part_members();
    members_ += R"(,"delta":)";
    append_quoted(members_, text);
    if (!refusal) {
      members_ += R"(,"logprobs":[])";
    }
    emit(refusal ? "response.refusal.delta" : "response.output_text.delta", members_);
  }

  // A tool call fragment: a new call when its index or id differs from the open one's.
  void on_tool_call(dom::element call) {
    int64_t index = 0;
    if (call["index"].get(index) != simdjson::SUCCESS) {
      index = open_ && open_->function_call ? open_->tool_index : 0;
    }
    const std::string_view id = text_at(call, "id");
    const std::string_view name = text_at(call["function"], "name");
    const bool same = open_ && open_->function_call && open_->tool_index == index &&
                      (id.empty() || id == open_->call_id || open_->call_id.empty());
    if (!same) {
      OutputItem item{true, response_.item_id("fc", item_count_)};
      item.call_id = id.empty() ? response_.item_id("call", item_count_) : std::string(id);
      item.name = name;
      item.tool_index = index;
      open_item(std::move(item));
    } else if (open_->name.empty()) {
      open_->name = name;  // announced without one: the done events carry it
    }
    if (const std::string_view arguments = text_at(call["function"], "arguments");
        !arguments.empty()) {
      open_->arguments += arguments;
      members_.clear();
      members_ += R"("item_id":)";
      append_quoted(members_, open_->id);
      fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},"delta":)",
                     item_count_ - 1);
      append_quoted(members_, arguments);
      emit("response.function_call_arguments.delta", members_);
    }
  }

  void open_item(OutputItem item) {
    close_item("completed");
    open_ = std::move(item);
    ++item_count_;
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("output_index":{},"item":)", item_count_ - 1);
    open_->append_to(members_, "in_progress", true);
    emit("response.output_item.added", members_);
  }

  // "item_id", "output_index" and "content_index" of the open message's last part.
  void part_members() {
    members_.clear();
    members_ += R"("item_id":)";
    append_quoted(members_, open_->id);
    fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},"content_index":{})",
                   item_count_ - 1, open_->parts.size() - 1);
  }

  // The done events of the open message's last part.
  void close_part() {
    if (!open_ || open_->function_call || open_->parts.empty()) {
      return;
    }
    const ContentPart& part = open_->parts.back();
    part_members();
    members_ += part.refusal ? R"(,"refusal":)" : R"(,"text":)";
    append_quoted(members_, part.text);
    if (!part.refusal) {
      members_ += R"(,"logprobs":[])";
    }
    emit(part.refusal ? "response.refusal.done" : "response.output_text.done", members_);
    part_members();
    members_ += R"(,"part":)";
    part.append_to(members_);
    emit("response.content_part.done", members_);
  }

  // Ends the open item with its done events; its JSON joins the response's output.
  void close_item(std::string_view status) {
    if (!open_) {
      return;
    }
    if (open_->function_call) {
      members_.clear();
      members_ += R"("item_id":)";
      append_quoted(members_, open_->id);
      fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},"name":)",
                     item_count_ - 1);
      append_quoted(members_, open_->name);
      members_ += R"(,"arguments":)";
      append_quoted(members_, open_->arguments);
      emit("response.function_call_arguments.done", members_);
    } else {
      close_part();
    }
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("output_index":{},"item":)", item_count_ - 1);
    open_->append_to(members_, status);
    emit("response.output_item.done", members_);
    output_ += output_.empty() ? "" : ",";
    open_->append_to(output_, status);
    open_.reset();
  }

  // [DONE]: the last item ends, then the response.
  void close() override {
    start({});
    const Outcome outcome = outcome_of_finish(finish_reason_);
    close_item(outcome.status == "incomplete" ? "incomplete" : "completed");
    closed_ = true;
    // Translators that did not send a usage chunk (none was asked for) still counted.
    take_usage(chat_->usage());
    std::string object;
    response_.append_to(object, outcome.status, outcome.reason, output_, usage_);
    emit_with(outcome.status == "incomplete" ? "response.incomplete" : "response.completed",
              "response", object);
  }

  // The stream cannot complete: as OpenAI ends such a stream, an `error` event (its fields both
  // at the top, as documented, and under "error", as OpenAI sends them and SDKs read them), the
  // open item ended incomplete, and response.failed.
  void fail(const core::Error& error) override {
    start({});
    emit("error", error_event_members(error));
    close_item("incomplete");
    closed_ = true;
    // Only the usage chunks seen so far: the chat translator's counts may already include what
    // follows in the same read.
    std::string error_json = R"({"code":)";
    append_quoted(error_json, error_code_of(error));
    error_json += R"(,"message":)";
    append_quoted(error_json, error.message);
    error_json += '}';
    std::string object;
    response_.append_to(object, "failed", {}, output_, usage_, error_json);
    emit_with("response.failed", "response", object);
  }

  void emit_with(std::string_view type, std::string_view key, std::string_view value) {
    members_.clear();
    append_quoted(members_, key);
    members_ += ':';
    members_ += value;
    emit(type, members_);
  }

  // One event: `members` are the JSON members after type and sequence_number.
  void emit(std::string_view type, std::string_view members) {
    out_ += "event: ";
    out_ += type;
    out_ += "\ndata: {\"type\":\"";
    out_ += type;
    fmt::format_to(std::back_inserter(out_), R"(","sequence_number":{},)", sequence_++);
    out_ += members;
    out_ += "}\n\n";
  }

  ResponseObject response_;
  std::string members_;             // scratch for one event's members
  std::optional<OutputItem> open_;  // the item receiving deltas
  size_t item_count_ = 0;           // items opened so far (the open one's index + 1)
  std::string output_;              // the closed items' JSON, comma-separated
  std::string finish_reason_;
  int64_t sequence_ = 0;
  bool started_ = false;
};

}  // namespace

ResponseIdentity new_response_identity(std::string echoed) {
  return {"resp_" + core::new_request_id(), api::unix_now(), std::move(echoed)};
}

std::unique_ptr<ResponseTranslator> make_responses_from_chat(
    std::unique_ptr<ResponseTranslator> chat, ResponseIdentity identity) {
  return std::make_unique<ResponsesFromChat>(std::move(chat), std::move(identity));
}

}  // namespace gw::providers
