// OpenAI's Responses format from the chat-completions format every provider translator produces,
// and the relay of an upstream's own Responses answer.

#include "gw/providers/responses.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "gw/core/logging.hpp"
#include "gw/core/parse.hpp"
#include "gw/net/sse.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

namespace dom = simdjson::dom;

// One chat JSON object at a time, from a padded copy kept between calls (simdjson reads a few
// bytes past the end); valid until the thread's next parse.
simdjson::simdjson_result<dom::object> parse_chat_json(std::string_view text) {
  thread_local dom::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  return parser.parse(padded.data(), padded.size(), false).get_object();
}

// A string member (empty if absent or not a string) of an element or object.
template <class Node>
std::string_view text_at(Node element, std::string_view key) {
  std::string_view value;
  return element[key].get(value) == simdjson::SUCCESS ? value : std::string_view();
}

template <class Node>
int64_t count_at(Node element, std::string_view key) {
  int64_t value = 0;
  return element[key].get(value) == simdjson::SUCCESS ? api::sane_token_count(value) : 0;
}

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
}

// What a chat usage object says, in the Responses shape.
struct ResponseUsage {
  bool known = false;
  int64_t input = 0;
  int64_t output = 0;
  int64_t cached = 0;
  int64_t reasoning = 0;

  void read(dom::element usage) {
    known = true;
    input = count_at(usage, "prompt_tokens");
    output = count_at(usage, "completion_tokens");
    cached = count_at(usage["prompt_tokens_details"], "cached_tokens");
    reasoning = count_at(usage["completion_tokens_details"], "reasoning_tokens");
  }
  void append_to(std::string& out) const {
    if (!known) {
      out += "null";
      return;
    }
    fmt::format_to(std::back_inserter(out),
                   R"({{"input_tokens":{},"input_tokens_details":{{"cached_tokens":{}}},)"
                   R"("output_tokens":{},"output_tokens_details":{{"reasoning_tokens":{}}},)"
                   R"("total_tokens":{}}})",
                   input, cached, output, reasoning, input + output);
  }
  api::Usage counts() const { return known ? api::Usage{input, output} : api::Usage{}; }
};

// An output item under construction: a message's text or a function call's arguments.
struct OutputItem {
  enum Kind { kMessage, kFunctionCall } kind = kMessage;
  std::string id;
  std::string call_id;  // function calls
  std::string name;
  std::string text;  // the message's text (unescaped), or the call's arguments
  int tool_index = -1;

  // The item as JSON, with the given status; as first announced, without its content yet.
  void append_to(std::string& out, std::string_view status, bool announced = false) const {
    if (kind == kMessage) {
      out += R"({"id":)";
      append_quoted(out, id);
      out += R"(,"type":"message","status":)";
      append_quoted(out, status);
      out += R"(,"role":"assistant","content":[)";
      if (!announced) {
        append_text_part(out);
      }
      out += "]}";
      return;
    }
    out += R"({"id":)";
    append_quoted(out, id);
    out += R"(,"type":"function_call","status":)";
    append_quoted(out, status);
    out += R"(,"arguments":)";
    append_quoted(out, announced ? std::string_view() : std::string_view(text));
    out += R"(,"call_id":)";
    append_quoted(out, call_id);
    out += R"(,"name":)";
    append_quoted(out, name);
    out += '}';
  }
  void append_text_part(std::string& out) const {
    out += R"({"type":"output_text","annotations":[],"logprobs":[],"text":)";
    append_quoted(out, text);
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
  const std::string& id() const { return identity_.id; }

  // `output`: the items' JSON, comma-separated; `error`: JSON or empty for null.
  void append_to(std::string& out, std::string_view status, std::string_view reason,
                 std::string_view output, const ResponseUsage& usage,
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
    usage.append_to(out);
    out += '}';
  }

 private:
  ResponseIdentity identity_;
  std::string model_;
};

std::string item_id(std::string_view prefix, const std::string& response_id, size_t index) {
  // resp_<x> -> msg_<x>_<n>: unique per response, and tied to it in logs.
  return fmt::format("{}_{}_{}", prefix, std::string_view(response_id).substr(5), index);
}

core::Error protocol_error(std::string what) {
  return {core::Errc::kUpstreamError, std::move(what)};
}

class ResponsesFromChat final : public ResponseTranslator {
 public:
  ResponsesFromChat(std::unique_ptr<ResponseTranslator> chat, ResponseIdentity identity)
      : chat_(std::move(chat)), response_(std::move(identity)) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    auto chat = chat_->complete(std::move(body));
    if (!chat) {
      return chat;
    }
    dom::object completion;
    if (parse_chat_json(*chat).get(completion) != simdjson::SUCCESS) {
      return tl::unexpected(protocol_error("the upstream's completion is not a JSON object"));
    }
    response_.set_model(text_at(completion, "model"));
    dom::element usage;
    if (completion["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
      usage_.read(usage);
    }
    dom::array choices;
    dom::object choice;
    dom::object message;
    if (completion["choices"].get(choices) != simdjson::SUCCESS ||
        choices.at(0).get(choice) != simdjson::SUCCESS ||
        choice["message"].get(message) != simdjson::SUCCESS) {
      return tl::unexpected(protocol_error("the upstream's completion has no message"));
    }
    const Outcome outcome = outcome_of_finish(text_at(choice, "finish_reason"));
    std::vector<OutputItem> items;
    if (const std::string_view content = text_at(message, "content"); !content.empty()) {
      items.push_back(
          {OutputItem::kMessage, item_id("msg", response_.id(), 0), {}, {}, std::string(content)});
    }
    dom::array calls;
    if (message["tool_calls"].get(calls) == simdjson::SUCCESS) {
      for (dom::element call : calls) {
        const auto function = call["function"];
        const std::string_view call_id = text_at(call, "id");
        items.push_back({OutputItem::kFunctionCall, item_id("fc", response_.id(), items.size()),
                         std::string(call_id), std::string(text_at(function, "name")),
                         std::string(text_at(function, "arguments"))});
      }
    }
    std::string output;
    for (const auto& item : items) {
      if (!output.empty()) {
        output += ',';
      }
      const bool cut = outcome.status == "incomplete" && &item == &items.back();
      item.append_to(output, cut ? "incomplete" : "completed");
    }
    std::string out;
    out.reserve(output.size() + 1024);
    response_.append_to(out, outcome.status, outcome.reason, output, usage_);
    return out;
  }

  std::optional<api::Usage> completion_usage() const override { return usage_.counts(); }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    auto chat = chat_->feed(piece);
    if (!chat) {
      return chat;
    }
    out_.clear();
    sse_.feed_events(*chat, [&](const net::SseEvent& event) { on_chat_event(event.data); });
    if (failure_) {
      // The events made before the broken one stay in out_: final_error_event() sends them first,
      // so that the client's sequence numbers have no gap.
      return tl::unexpected(*failure_);
    }
    return std::string_view(out_);
  }

  bool finished() const override { return closed_ && chat_->finished(); }
  bool relayed_error() const override { return upstream_failed_ || chat_->relayed_error(); }
  const core::Error* stream_error() const override { return chat_->stream_error(); }
  api::Usage usage() const override { return usage_.known ? usage_.counts() : chat_->usage(); }
  size_t buffered() const override { return chat_->buffered() + sse_.buffered(); }

  std::string final_error_event(const core::Error& error) override {
    if (!failure_) {
      out_.clear();
    }
    if (!closed_) {
      fail(error);
    }
    return out_;
  }

 private:
  void on_chat_event(std::string_view data) {
    if (closed_ || failure_) {
      return;
    }
    if (data == "[DONE]") {
      close();
      return;
    }
    dom::object chunk;
    if (parse_chat_json(data).get(chunk) != simdjson::SUCCESS) {
      failure_ = protocol_error("the upstream sent a stream event that is not a JSON object");
      return;
    }
    start(text_at(chunk, "model"));
    dom::object error;
    if (chunk["error"].get(error) == simdjson::SUCCESS) {
      // The chat stream's own final error event (a worker's, an upstream's): the response failed.
      core::Error failed(core::Errc::kUpstreamError, std::string(text_at(error, "message")));
      failed.code = text_at(error, "code");
      fail(failed);
      upstream_failed_ = true;
      return;
    }
    dom::element usage;
    if (chunk["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
      usage_.read(usage);
    }
    dom::array choices;
    dom::object choice;
    if (chunk["choices"].get(choices) != simdjson::SUCCESS ||
        choices.at(0).get(choice) != simdjson::SUCCESS) {
      return;  // the usage chunk
    }
    dom::object delta;
    if (choice["delta"].get(delta) == simdjson::SUCCESS) {
      if (const std::string_view text = text_at(delta, "content"); !text.empty()) {
        on_text(text);
      }
      dom::array calls;
      if (delta["tool_calls"].get(calls) == simdjson::SUCCESS) {
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
  void start(std::string_view model) {
    if (started_) {
      return;
    }
    started_ = true;
    response_.set_model(model);
    std::string object;
    response_.append_to(object, "in_progress", {}, {}, ResponseUsage{});
    emit_with("response.created", "response", object);
    emit_with("response.in_progress", "response", object);
  }

  void on_text(std::string_view text) {
    if (open_ == nullptr || open_->kind != OutputItem::kMessage) {
      open_item(OutputItem{OutputItem::kMessage, item_id("msg", response_.id(), items_.size())});
      members_.clear();
      members_ += R"("item_id":)";
      append_quoted(members_, open_->id);
      fmt::format_to(std::back_inserter(members_),
                     R"(,"output_index":{},"content_index":0,"part":)", output_index());
      OutputItem{}.append_text_part(members_);
      emit("response.content_part.added", members_);
    }
    open_->text += text;
    members_.clear();
    members_ += R"("item_id":)";
    append_quoted(members_, open_->id);
    fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},"content_index":0,"delta":)",
                   output_index());
    append_quoted(members_, text);
    members_ += R"(,"logprobs":[])";
    emit("response.output_text.delta", members_);
  }

  void on_tool_call(dom::element call) {
    int64_t index = 0;
    if (call["index"].get(index) != simdjson::SUCCESS) {
      index = open_ != nullptr && open_->kind == OutputItem::kFunctionCall ? open_->tool_index : 0;
    }
    const auto function = call["function"];
    if (open_ == nullptr || open_->kind != OutputItem::kFunctionCall ||
        open_->tool_index != index) {
      OutputItem item{OutputItem::kFunctionCall, item_id("fc", response_.id(), items_.size()),
                      std::string(text_at(call, "id")), std::string(text_at(function, "name"))};
      item.tool_index = static_cast<int>(index);
      open_item(std::move(item));
    }
    if (const std::string_view arguments = text_at(function, "arguments"); !arguments.empty()) {
      open_->text += arguments;
      members_.clear();
      members_ += R"("item_id":)";
      append_quoted(members_, open_->id);
      fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},"delta":)",
                     output_index());
      append_quoted(members_, arguments);
      emit("response.function_call_arguments.delta", members_);
    }
  }

  size_t output_index() const { return items_.size() - 1; }

  void open_item(OutputItem item) {
    close_item("completed");
    items_.push_back(std::move(item));
    open_ = &items_.back();
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("output_index":{},"item":)", output_index());
    open_->append_to(members_, "in_progress", true);
    emit("response.output_item.added", members_);
  }

  // Ends the open item with its done events.
  void close_item(std::string_view status) {
    if (open_ == nullptr) {
      return;
    }
    OutputItem& item = *open_;
    open_ = nullptr;
    members_.clear();
    members_ += R"("item_id":)";
    append_quoted(members_, item.id);
    fmt::format_to(std::back_inserter(members_), R"(,"output_index":{},)", output_index());
    const size_t common = members_.size();
    if (item.kind == OutputItem::kMessage) {
      members_ += R"("content_index":0,"text":)";
      append_quoted(members_, item.text);
      members_ += R"(,"logprobs":[])";
      emit("response.output_text.done", members_);
      members_.resize(common);
      members_ += R"("content_index":0,"part":)";
      item.append_text_part(members_);
      emit("response.content_part.done", members_);
    } else {
      members_ += R"("name":)";
      append_quoted(members_, item.name);
      members_ += R"(,"arguments":)";
      append_quoted(members_, item.text);
      emit("response.function_call_arguments.done", members_);
    }
    members_.clear();
    fmt::format_to(std::back_inserter(members_), R"("output_index":{},"item":)", output_index());
    item.append_to(members_, status);
    emit("response.output_item.done", members_);
    if (!output_.empty()) {
      output_ += ',';
    }
    item.append_to(output_, status);
  }

  // [DONE]: the last item ends, then the response.
  void close() {
    start({});
    const Outcome outcome = outcome_of_finish(finish_reason_);
    close_item(outcome.status == "incomplete" ? "incomplete" : "completed");
    closed_ = true;
    std::string object;
    response_.append_to(object, outcome.status, outcome.reason, output_, usage_);
    emit_with(outcome.status == "incomplete" ? "response.incomplete" : "response.completed",
              "response", object);
  }

  // The stream cannot complete: as OpenAI ends such a stream, an `error` event (its fields both
  // at the top, as documented, and under "error", as OpenAI sends them and SDKs read them), the
  // open item ended incomplete, and response.failed.
  void fail(const core::Error& error) {
    start({});
    const std::string_view table_code = core::error_code(error);
    const std::string_view code =
        table_code.empty() ? std::string_view("server_error") : table_code;
    std::string fields = R"("code":)";
    append_quoted(fields, code);
    fields += R"(,"message":)";
    append_quoted(fields, error.message);
    fields += R"(,"param":null)";
    members_ = fields;
    members_ += R"(,"error":{"type":)";
    append_quoted(members_, core::error_type(error));
    members_ += ',';
    members_ += fields;
    members_ += '}';
    emit("error", members_);
    close_item("incomplete");
    closed_ = true;
    std::string error_json = R"({"code":)";
    append_quoted(error_json, code);
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

  std::unique_ptr<ResponseTranslator> chat_;
  ResponseObject response_;
  net::SseParser sse_;
  std::string out_;
  std::string members_;            // scratch for one event's members
  std::vector<OutputItem> items_;  // every item so far (the open one last)
  OutputItem* open_ = nullptr;     // the item receiving deltas
  std::string output_;             // the closed items' JSON, comma-separated
  std::string finish_reason_;
  ResponseUsage usage_;
  std::optional<core::Error> failure_;
  int64_t sequence_ = 0;
  bool started_ = false;
  bool closed_ = false;
  bool upstream_failed_ = false;  // the chat stream's own error event ended the response
};

// The terminal events of a Responses stream; anchored on a byte each has and few others.
constexpr core::Substring kCompleted(R"("type":"response.completed")", 'c');
constexpr core::Substring kIncomplete(R"("type":"response.incomplete")", 'i');
constexpr core::Substring kFailed(R"("type":"response.failed")", 'f');
constexpr core::Substring kError(R"("type":"error")", 'o');

class ResponsesPassThrough final : public ResponseTranslator {
 public:
  tl::expected<std::string, core::Error> complete(std::string body) override {
    std::optional<api::Usage> ignored;
    auto relayed = relayed_completion(std::move(body), ignored);
    if (relayed) {
      usage_ = read_responses_usage(*relayed).value_or(api::Usage{});
    }
    return relayed;
  }
  std::optional<api::Usage> completion_usage() const override { return usage_; }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    if (done_) {
      return std::string_view();
    }
    std::string_view ready;
    if (pending_.empty()) {
      const size_t end = last_event_end(piece);
      ready = piece.substr(0, end);
      pending_.assign(piece.substr(end));
    } else {
      const size_t scanned = pending_.size();
      pending_.append(piece);
      const size_t end = last_event_end(pending_, scanned);
      if (end == 0) {
        return std::string_view();
      }
      out_.assign(pending_, 0, end);
      pending_.erase(0, end);
      ready = out_;
    }
    size_t done_end = std::string_view::npos;
    parser_.feed_events(ready, [&](const net::SseEvent& event) {
      if (done_) {
        return;
      }
      // An error event is followed by response.failed (OpenAI's order); a worker cut short at
      // shutdown ends with an error event alone.
      const bool failed = kFailed.in(event.data);
      if (!failure_ && (failed || event.event == "error" || kError.in(event.data) ||
                        event.data.starts_with(R"({"error")"))) {
        failure_ = reported_failure(event.data);
      }
      // Some servers end the stream with chat's [DONE] as well (after the terminal event):
      // nothing follows it either.
      if (failed || kCompleted.in(event.data) || kIncomplete.in(event.data) ||
          event.data == "[DONE]") {
        if (auto counts = read_responses_usage(event.data)) {
          usage_ = *counts;
        }
        done_ = true;
        done_end = event.end;
      }
    });
    if (done_end < ready.size()) {
      ready = ready.substr(0, done_end);
    }
    if (done_) {
      pending_.clear();
    }
    return ready;
  }

  bool finished() const override { return done_; }
  bool relayed_error() const override { return failure_.has_value(); }
  const core::Error* stream_error() const override { return failure_ ? &*failure_ : nullptr; }
  api::Usage usage() const override { return usage_.value_or(api::Usage{}); }
  size_t buffered() const override { return pending_.size() + parser_.buffered(); }

 private:
  // The failure an error or response.failed event reports (its message under "error", or under
  // "response"."error", or at the top).
  static core::Error reported_failure(std::string_view data) {
    core::Error error(core::Errc::kUpstreamError, "the upstream reported that the response failed");
    dom::object event;
    if (parse_chat_json(data).get(event) != simdjson::SUCCESS) {
      return error;
    }
    for (auto details : {event["error"], event["response"]["error"], event.at_pointer("")}) {
      if (const std::string_view message = text_at(details, "message"); !message.empty()) {
        error.message = message;
        error.code = text_at(details, "code");
        break;
      }
    }
    return error;
  }

  net::SseParser parser_;
  std::string pending_;
  std::string out_;
  std::optional<api::Usage> usage_;
  std::optional<core::Error> failure_;
  bool done_ = false;
};

}  // namespace

ResponseIdentity new_response_identity(std::string_view request_id, std::string echoed) {
  std::string id = "resp_";
  for (const char c : request_id) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      id += c;
    }
  }
  return {std::move(id), api::unix_now(), std::move(echoed)};
}

std::unique_ptr<ResponseTranslator> make_responses_from_chat(
    std::unique_ptr<ResponseTranslator> chat, ResponseIdentity identity) {
  return std::make_unique<ResponsesFromChat>(std::move(chat), std::move(identity));
}

std::unique_ptr<ResponseTranslator> make_responses_pass_through() {
  return std::make_unique<ResponsesPassThrough>();
}

std::optional<api::Usage> read_responses_usage(std::string_view response_json) {
  dom::object object;
  if (parse_chat_json(response_json).get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  // An event carries the response object; a plain answer is one.
  dom::object response;
  if (object["response"].get(response) != simdjson::SUCCESS) {
    response = object;
  }
  dom::object usage;
  if (response["usage"].get(usage) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return api::Usage{count_at(usage, "input_tokens"), count_at(usage, "output_tokens")};
}

}  // namespace gw::providers
