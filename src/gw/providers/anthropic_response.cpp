// Anthropic Messages responses, stream events and errors -> OpenAI chat-completions format.
// One concern over ~670 lines: the whole reply, the stream translator (its compact-event fast
// paths and the on-demand read of message_start beside the parsed path they must agree with)
// and the error mapping share the helpers (Anthropic's usage: anthropic_usage.hpp).

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "gw/api/chunk_writer.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/core/json_text.hpp"
#include "gw/core/logging.hpp"
#include "gw/net/sse.hpp"
#include "gw/providers/anthropic.hpp"
#include "gw/providers/anthropic_usage.hpp"
#include "gw/providers/common/json_read.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

using namespace json_read;

// An Anthropic object as parse_object reads it, or the error naming `what` it is: a number beyond
// 64 bits is refused by name (Boost.JSON, used before, read a huge integer as an approximate
// double: a tool's argument silently changed).
tl::expected<dom::object, core::Error> anthropic_object(std::string_view text,
                                                        std::string_view what) {
  dom::object object;
  const auto error = parse_object(text).get(object);
  if (error == simdjson::NUMBER_ERROR) {
    return tl::unexpected(core::Error(
        core::Errc::kUpstreamError,
        fmt::format("anthropic sent {} with a number beyond 64 bits, which the gateway does not "
                    "pass on approximated",
                    what)));
  }
  if (error != simdjson::SUCCESS) {
    return tl::unexpected(core::Error(core::Errc::kUpstreamError,
                                      fmt::format("anthropic sent {} that is not JSON", what)));
  }
  return object;
}

// A content_block_delta carrying text or tool input, in the compact form Anthropic sends most
// events of a stream in: read without a tree, its string token copied into the chunk unchanged.
struct CompactDelta {
  int64_t index = 0;
  bool tool_input = false;  // input_json_delta (else text_delta)
  std::string_view token;   // the JSON string, quotes and escapes included
};

// The block index of a compact event that starts with `head` (which ends with "index":): the
// digits are consumed from `data`.
std::optional<int64_t> compact_index(std::string_view& data, std::string_view head) {
  if (!data.starts_with(head)) {
    return std::nullopt;
  }
  data.remove_prefix(head.size());
  int64_t index = 0;
  size_t digits = 0;
  while (digits < data.size() && digits < 9 && data[digits] >= '0' && data[digits] <= '9') {
    index = index * 10 + (data[digits++] - '0');
  }
  if (digits == 0 || (digits > 1 && data.front() == '0')) {
    return std::nullopt;
  }
  data.remove_prefix(digits);
  return index;
}

std::optional<CompactDelta> compact_delta(std::string_view data) {
  constexpr std::string_view kText = R"(,"delta":{"type":"text_delta","text":)";
  constexpr std::string_view kToolInput = R"(,"delta":{"type":"input_json_delta","partial_json":)";
  const auto index = compact_index(data, R"({"type":"content_block_delta","index":)");
  if (!index) {
    return std::nullopt;
  }
  CompactDelta delta;
  delta.index = *index;
  if (data.starts_with(kText)) {
    data.remove_prefix(kText.size());
  } else if (data.starts_with(kToolInput)) {
    data.remove_prefix(kToolInput.size());
    delta.tool_input = true;
  } else {
    return std::nullopt;
  }
  const size_t length = core::json_string_token_length(data);
  if (length == 0 || data.substr(length) != "}}") {
    return std::nullopt;  // anything else (spaces, more fields): read as a tree
  }
  delta.token = data.substr(0, length);
  return delta;
}

// message_delta in the compact form Anthropic ends most streams with:
// {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
//  "usage":{"output_tokens":15}}. Its stop reason and output tokens; nullopt for any other form
// (a stop sequence, more usage fields: read as a tree).
struct CompactStop {
  std::string_view reason;
  int64_t output_tokens = 0;
};

std::optional<CompactStop> compact_message_delta(std::string_view data) {
  constexpr std::string_view kHead = R"({"type":"message_delta","delta":{"stop_reason":")";
  constexpr std::string_view kUsage = R"(","stop_sequence":null},"usage":{"output_tokens":)";
  if (!data.starts_with(kHead)) {
    return std::nullopt;
  }
  data.remove_prefix(kHead.size());
  size_t length = 0;
  while (length < data.size() &&
         ((data[length] >= 'a' && data[length] <= 'z') || data[length] == '_')) {
    ++length;
  }
  CompactStop stop{data.substr(0, length)};
  data.remove_prefix(length);
  if (length == 0 || !data.starts_with(kUsage)) {
    return std::nullopt;
  }
  data.remove_prefix(kUsage.size());
  size_t digits = 0;
  while (digits < data.size() && digits < 9 && data[digits] >= '0' && data[digits] <= '9') {
    stop.output_tokens = stop.output_tokens * 10 + (data[digits++] - '0');
  }
  if (digits == 0 || (digits > 1 && data.front() == '0') || data.substr(digits) != "}}") {
    return std::nullopt;
  }
  return stop;
}

class AnthropicStream final : public ResponseTranslator {
 public:
  AnthropicStream(bool include_usage, bool json_answer)
      : include_usage_(include_usage), json_answer_(json_answer) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    api::Usage counts;
    auto translated = openai_completion_from_anthropic(body, &counts, json_answer_);
    if (translated) {
      completion_usage_ = counts;
    }
    return translated;
  }
  std::optional<api::Usage> completion_usage() const override { return completion_usage_; }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    start_output(out_, piece.size());
    std::optional<core::Error> failure;
    // Whole events only, so that the parser's fast path reads them without a copy.
    parser_.feed_events(events_.next(piece), [&](const net::SseEvent& event) {
      if (!failure && !finished_) {
        if (auto handled = on_event(event.data); !handled) {
          failure = handled.error();
        }
      }
    });
    if (failure) {
      return tl::unexpected(*failure);
    }
    return std::string_view(out_);
  }

  bool finished() const override { return finished_; }
  size_t buffered() const override { return events_.held() + parser_.buffered(); }
  api::Usage usage() const override { return usage_.counts(); }
  const core::Error* stream_error() const override { return error_ ? &*error_ : nullptr; }

 private:
  tl::expected<void, core::Error> on_event(std::string_view data) {
    if (auto handled = on_compact_event(data)) {
      return *handled;
    }
    if (data.starts_with(R"({"type":"message_start",)") ||
        data.starts_with(R"({"type": "message_start",)")) {
      return on_message_start(data);
    }
    auto parsed = anthropic_object(data, "a stream event");
    if (!parsed) {
      return tl::unexpected(parsed.error());
    }
    const dom::object event = *parsed;
    const std::string_view type = text_at(event, "type");
    if (type == "message_start") {
      return on_message_start(data);  // spaced otherwise than Anthropic does: read again
    } else if (type == "content_block_start") {
      on_block_start(event);
    } else if (type == "content_block_delta") {
      return on_block_delta(event);
    } else if (type == "content_block_stop") {
      block_stop(int_at(event, "index"));
    } else if (type == "message_delta") {
      if (const auto usage = object_at(event, "usage")) {
        usage_.merge(*usage);
      }
      const auto delta = object_at(event, "delta");
      message_delta(delta ? text_at(*delta, "stop_reason") : "");
    } else if (type == "message_stop") {
      message_stop();
    } else if (type == "error") {
      on_error(event);
    }
    // ping and unknown event types carry nothing for the client.
    return {};
  }

  // The events most of a stream is made of, in the compact form Anthropic writes them, handled
  // without a parse; nullopt for any other event.
  std::optional<tl::expected<void, core::Error>> on_compact_event(std::string_view data) {
    if (auto delta = compact_delta(data)) {
      return on_delta(*delta);
    }
    if (data == R"({"type": "ping"})" || data == R"({"type":"ping"})") {
      return tl::expected<void, core::Error>();
    }
    if (const auto stop = compact_message_delta(data)) {
      usage_.output = api::sane_token_count(stop->output_tokens);
      message_delta(stop->reason);
      return tl::expected<void, core::Error>();
    }
    if (data == R"({"type":"message_stop"})") {
      message_stop();
      return tl::expected<void, core::Error>();
    }
    std::string_view stop = data;
    if (auto index = compact_index(stop, R"({"type":"content_block_stop","index":)");
        index && stop == "}") {
      block_stop(*index);
      return tl::expected<void, core::Error>();
    }
    std::string_view start = data;
    if (compact_index(start, R"({"type":"content_block_start","index":)") &&
        start == R"(,"content_block":{"type":"text","text":""}})") {
      return tl::expected<void, core::Error>();  // an empty text block opens: nothing to send yet
    }
    return std::nullopt;
  }

  // The answer's finish reason, from message_delta's stop reason.
  void message_delta(std::string_view stop) {
    // The JSON answer's tool call ends the answer: a stop, not a call for the client to make.
    emit_delta("{}", json_answer_ && stop == "tool_use" ? std::string_view("stop")
                                                        : finish_reason_from_anthropic(stop));
  }

  // message_start, the stream's one large event, read on demand: the message's fields in one
  // pass, taking its id, model and usage and skipping the rest (its brackets checked), about 2
  // thousand instructions fewer than a DOM parse of it. What is not read never reaches the
  // client. At simdjson's first error the event is refused as "not JSON", as the parsed path
  // refuses it (the on-demand iterator must not be used past an error).
  tl::expected<void, core::Error> on_message_start(std::string_view data) {
    namespace od = simdjson::ondemand;
    const auto not_json = [] {
      return tl::unexpected(core::Error(core::Errc::kUpstreamError,
                                        "anthropic sent a stream event that is not JSON"));
    };
    // A value of another type than asked is skipped, not an error.
    const auto failed = [](simdjson::error_code error) {
      return error != simdjson::SUCCESS && error != simdjson::INCORRECT_TYPE;
    };
    thread_local od::parser parser;
    thread_local std::string padded;
    padded.reserve(data.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(data);
    // The role chunk goes out with what follows: an error event right after message_start is
    // then still the stream's first output, which the relay answers with its own status.
    role_pending_ = true;
    od::document event;
    if (parser.iterate(padded.data(), padded.size(), padded.capacity()).get(event) !=
        simdjson::SUCCESS) {
      return not_json();
    }
    od::object message;
    if (const auto found = event["message"].get_object().get(message);
        found == simdjson::NO_SUCH_FIELD || found == simdjson::INCORRECT_TYPE) {
      return {};  // no message: nothing to take from it
    } else if (found != simdjson::SUCCESS) {
      return not_json();
    }
    std::string_view id;
    std::string_view model;
    for (auto field : message) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
          field.value().get(value) != simdjson::SUCCESS) {
        return not_json();
      }
      if (key == "id" || key == "model") {
        if (failed(value.get_string().get(key == "id" ? id : model))) {
          return not_json();
        }
      } else if (key == "usage") {
        od::object usage;
        if (const auto error = value.get_object().get(usage);
            failed(error) || (error == simdjson::SUCCESS && !take_usage(usage))) {
          return not_json();
        }
      }
    }
    chunks_.set_identity(id, created_, model);
    return {};
  }

  // message_start's usage counts (numbers only: others are skipped); false at a simdjson error.
  bool take_usage(simdjson::ondemand::object usage) {
    for (auto field : usage) {
      std::string_view key;
      simdjson::ondemand::value value;
      int64_t count = 0;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
          field.value().get(value) != simdjson::SUCCESS) {
        return false;
      }
      if (const auto error = value.get_int64().get(count); error == simdjson::SUCCESS) {
        usage_.take(key, count);
      } else if (error != simdjson::INCORRECT_TYPE) {
        return false;
      }
    }
    return true;
  }

  void on_block_start(dom::object event) {
    const auto block = object_at(event, "content_block");
    if (!block) {
      return;
    }
    if (text_at(*block, "type") != "tool_use") {
      if (auto text = text_at(*block, "text"); !text.empty()) {
        emit_content(text);
      }
      return;
    }
    if (json_answer_ && text_at(*block, "name") == kJsonResponseTool) {
      // Its input streams as the message's content.
      json_block_ = int_at(event, "index");
      json_sent_ = false;
      return;
    }
    const int64_t tool_index = next_tool_index_++;
    tool_index_by_block_[int_at(event, "index")] = tool_index;
    tool_without_arguments_.insert(tool_index);
    delta_.assign(R"({"tool_calls":[{"index":)").append(std::to_string(tool_index));
    delta_ += R"(,"id":")";
    core::append_json_escaped(delta_, text_at(*block, "id"));
    delta_ += R"(","type":"function","function":{"name":")";
    core::append_json_escaped(delta_, text_at(*block, "name"));
    delta_ += R"(","arguments":""}}]})";
    emit_delta(delta_);
  }

  tl::expected<void, core::Error> on_block_delta(dom::object event) {
    const auto delta = object_at(event, "delta");
    if (!delta) {
      return {};
    }
    const std::string_view kind = text_at(*delta, "type");
    if (kind == "text_delta") {
      emit_content(text_at(*delta, "text"));
    } else if (kind == "input_json_delta") {
      std::string token(1, '"');
      core::append_json_escaped(token, text_at(*delta, "partial_json"));
      token += '"';
      return on_delta({int_at(event, "index"), true, token});
    }
    // thinking and signature deltas have no OpenAI equivalent in chat completions.
    return {};
  }

  void on_error(dom::object event) {
    const dom::object detail = object_at(event, "error").value_or(event);
    std::string message(text_at(detail, "message"));
    if (message.empty()) {
      message = "anthropic sent an error event";
    }
    error_ = anthropic_error(200, std::string(text_at(detail, "type")), std::move(message), "");
    out_ += core::sse_error_event(*error_);
    finished_ = true;  // the error event is the stream's end
  }

  void block_stop(int64_t index) {
    if (json_block_ == index) {
      json_block_.reset();
      if (!json_sent_) {
        emit_delta(R"({"content":"{}"})");  // an empty input still answers valid JSON
      }
      return;
    }
    // A tool called without arguments streams no fragment (or an empty one); the client must
    // still assemble valid JSON, as the non-streamed "{}".
    auto it = tool_index_by_block_.find(index);
    if (it != tool_index_by_block_.end() && tool_without_arguments_.erase(it->second) > 0) {
      emit_arguments_token(it->second, R"("{}")");
    }
  }

  void message_stop() {
    flush_role();
    if (include_usage_) {
      chunks_.usage(out_, usage_.counts());
    }
    out_ += api::kSseDone;
    finished_ = true;
  }

  tl::expected<void, core::Error> on_delta(const CompactDelta& delta) {
    if (delta.tool_input && json_block_ == delta.index) {
      if (delta.token != R"("")") {
        json_sent_ = true;
        delta_.assign(R"({"content":)").append(delta.token).append("}");
        emit_delta(delta_);
      }
      return {};
    }
    if (!delta.tool_input) {
      if (!json_answer_) {  // the answer is the JSON tool's input alone
        delta_.assign(R"({"content":)").append(delta.token).append("}");
        emit_delta(delta_);
      }
      return {};
    }
    auto it = tool_index_by_block_.find(delta.index);
    if (it == tool_index_by_block_.end()) {
      return tl::unexpected(core::Error(core::Errc::kUpstreamError,
                                        "anthropic sent tool input for an unknown block"));
    }
    if (delta.token == R"("")") {
      return {};
    }
    tool_without_arguments_.erase(it->second);
    emit_arguments_token(it->second, delta.token);
    return {};
  }

  void flush_role() {
    if (role_pending_) {
      role_pending_ = false;
      emit_delta(api::kRoleDelta);
    }
  }

  void emit_delta(std::string_view delta, std::string_view finish_reason = {}) {
    flush_role();
    chunks_.delta(out_, delta, finish_reason);
  }

  void emit_content(std::string_view text) {
    if (json_answer_) {
      return;  // the answer is the JSON tool's input alone (a forced tool has no text before it)
    }
    delta_.assign(R"({"content":")");
    core::append_json_escaped(delta_, text);
    delta_ += R"("})";
    emit_delta(delta_);
  }

  // `token`: the arguments as a JSON string token (quoted and escaped).
  void emit_arguments_token(int64_t tool_index, std::string_view token) {
    std::string delta(R"({"tool_calls":[{"index":)");
    delta += std::to_string(tool_index);
    delta += R"(,"function":{"arguments":)";
    delta += token;
    delta += "}}]}";
    emit_delta(delta);
  }

  bool include_usage_;
  bool json_answer_;                   // the kJsonResponseTool call is the answer (content)
  std::optional<int64_t> json_block_;  // the block of that call, while it streams
  bool json_sent_ = false;             // some of its input has been sent
  WholeEvents events_;
  net::SseParser parser_;
  std::string out_;
  api::ChunkWriter chunks_;
  std::string delta_;  // scratch for the delta being written
  int64_t created_ = api::unix_now();
  AnthropicUsage usage_;
  std::map<int64_t, int64_t> tool_index_by_block_;
  std::set<int64_t> tool_without_arguments_;
  int64_t next_tool_index_ = 0;
  std::optional<core::Error> error_;
  std::optional<api::Usage> completion_usage_;
  bool role_pending_ = false;  // message_start seen, its role chunk not yet sent
  bool finished_ = false;
};

}  // namespace

std::string_view finish_reason_from_anthropic(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") {
    return "tool_calls";
  }
  if (stop_reason == "refusal") {
    return "content_filter";
  }
  return "stop";  // end_turn, stop_sequence, pause_turn
}

int anthropic_error_status(std::string_view type, int upstream_status) {
  if (type == "invalid_request_error") {
    return 400;
  }
  if (type == "authentication_error") {
    return 401;
  }
  if (type == "permission_error") {
    return 403;
  }
  if (type == "not_found_error") {
    return 404;
  }
  if (type == "request_too_large") {
    return 413;
  }
  if (type == "rate_limit_error") {
    return 429;
  }
  if (type == "overloaded_error" || upstream_status == 529) {
    return 503;
  }
  if (upstream_status >= 400 && upstream_status < 500) {
    return upstream_status;
  }
  return 502;  // api_error and any other server-side failure
}

core::Error anthropic_error(int status, std::string type, std::string message,
                            std::string_view retry_after) {
  const int mapped = anthropic_error_status(type, status);
  core::Error error;
  error.message = std::move(message);
  error.code = type;
  error.type = std::move(type);
  if (mapped == 429) {
    error.errc = core::Errc::kRateLimited;
    error.retry_after = std::string(retry_after);
  } else if (mapped == 503) {
    error.errc = core::Errc::kServiceUnavailable;
    error.retry_after = std::string(retry_after);
  } else if (mapped >= 500) {
    error.errc = core::Errc::kUpstreamError;
    error.message = status == 200 ? fmt::format("upstream anthropic failed: {}", error.message)
                                  : fmt::format("upstream anthropic failed with HTTP {}: {}",
                                                status, error.message);
  } else {
    error.errc = core::Errc::kUpstreamStatus;
    error.status = mapped;
  }
  return error;
}

namespace {

// A reply's content blocks, as the chat completion's message carries them.
struct ReplyContent {
  std::string text;
  std::string tool_calls;      // the elements of message.tool_calls, comma-separated
  bool json_answered = false;  // the JSON answer's tool call gave the content
};

// Appends one tool_use block as an OpenAI tool call: its input becomes the arguments' text.
void append_tool_call(std::string& tool_calls, dom::object block) {
  dom::element input;
  tool_calls += tool_calls.empty() ? R"({"id":")" : R"(,{"id":")";
  core::append_json_escaped(tool_calls, text_at(block, "id"));
  tool_calls += R"(","type":"function","function":{"name":")";
  core::append_json_escaped(tool_calls, text_at(block, "name"));
  tool_calls += R"(","arguments":")";
  core::append_json_escaped(tool_calls, block["input"].get(input) == simdjson::SUCCESS
                                            ? simdjson::minify(input)
                                            : std::string("{}"));
  tool_calls += R"("}})";
}

// Text blocks joined, tool_use blocks as tool calls; with `json_answer`, the JSON answer tool's
// input is the whole content.
ReplyContent read_reply_content(dom::object message, bool json_answer) {
  ReplyContent reply;
  std::string json_text;
  dom::array content;
  if (message["content"].get(content) != simdjson::SUCCESS) {
    return reply;
  }
  for (dom::element element : content) {
    dom::object block;
    if (element.get(block) != simdjson::SUCCESS) {
      continue;
    }
    const std::string_view type = text_at(block, "type");
    if (type == "text") {
      reply.text += text_at(block, "text");
    } else if (type == "tool_use" && json_answer && text_at(block, "name") == kJsonResponseTool) {
      dom::element input;
      json_text = block["input"].get(input) == simdjson::SUCCESS ? simdjson::minify(input)
                                                                 : std::string("{}");
      reply.json_answered = true;
    } else if (type == "tool_use") {
      append_tool_call(reply.tool_calls, block);
    }
  }
  if (reply.json_answered) {
    reply.text = std::move(json_text);  // the answer is the JSON alone
  }
  return reply;
}

}  // namespace

tl::expected<std::string, core::Error> openai_completion_from_anthropic(std::string_view body,
                                                                        api::Usage* counts,
                                                                        bool json_answer) {
  auto parsed = anthropic_object(body, "a response");
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  const dom::object message = *parsed;
  // The reply is written as text, not built as a JSON tree and serialised: that took more
  // instructions than the rest of the request.
  const ReplyContent reply = read_reply_content(message, json_answer);
  AnthropicUsage usage;
  if (const auto u = object_at(message, "usage")) {
    usage.merge(*u);
  }
  if (counts != nullptr) {
    *counts = usage.counts();
  }
  std::string out;
  out.reserve(reply.text.size() + reply.tool_calls.size() + 448);
  out += R"({"id":")";
  core::append_json_escaped(out, text_at(message, "id"));
  fmt::format_to(std::back_inserter(out), R"(","object":"chat.completion","created":{},"model":")",
                 api::unix_now());
  core::append_json_escaped(out, text_at(message, "model"));
  out += R"(","choices":[{"index":0,"message":{"role":"assistant","content":)";
  if (reply.text.empty() && !reply.tool_calls.empty()) {
    out += "null";
  } else {
    out += '"';
    core::append_json_escaped(out, reply.text);
    out += '"';
  }
  out += R"(,"refusal":null)";
  if (!reply.tool_calls.empty()) {
    out += R"(,"tool_calls":[)";
    out += reply.tool_calls;
    out += ']';
  }
  out += R"(},"logprobs":null,"finish_reason":")";
  const std::string_view stop = text_at(message, "stop_reason");
  out += reply.json_answered && stop == "tool_use" ? std::string_view("stop")
                                                   : finish_reason_from_anthropic(stop);
  out += R"("}],"usage":)";
  api::append_usage_json(out, usage.counts());
  out += '}';
  return out;
}

std::unique_ptr<ResponseTranslator> make_anthropic_stream_translator(bool include_usage,
                                                                     bool json_answer) {
  return std::make_unique<AnthropicStream>(include_usage, json_answer);
}

}  // namespace gw::providers
