#include "gw/mock/anthropic.hpp"

#include <fmt/format.h>

#include <variant>

#include "gw/api/chat_request.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/core/request_id.hpp"

namespace gw::mock {
namespace {

using net::Response;

// The answer to a valid request, before it is rendered as JSON or as stream events.
struct Answer {
  std::string id;
  std::vector<std::string_view> tokens;  // views into the request's text
  std::string_view stop_reason;
  int64_t output_tokens = 0;
};

Answer make_answer(const AnthropicRequest& request, int64_t forced_tokens) {
  Answer answer{"msg_mock_" + core::new_request_id().substr(0, 24), {}, "end_turn", 0};
  if (!request.calls.empty()) {
    answer.stop_reason = "tool_use";
    // Tool use counts the words of its input as output tokens, once per block.
    answer.output_tokens =
        static_cast<int64_t>(api::split_tokens(request.tool_input).size() * request.calls.size());
    return answer;
  }
  answer.tokens = answer_tokens(request.text, forced_tokens);
  if (static_cast<int64_t>(answer.tokens.size()) > request.max_tokens) {
    answer.tokens.resize(static_cast<size_t>(request.max_tokens));
    answer.stop_reason = "max_tokens";
  }
  answer.output_tokens = static_cast<int64_t>(answer.tokens.size());
  return answer;
}

std::string usage_json(const AnthropicRequest& request, int64_t output_tokens) {
  return fmt::format(
      R"({{"input_tokens":{},"output_tokens":{},"cache_creation_input_tokens":0,"cache_read_input_tokens":{}}})",
      request.input_tokens, output_tokens, request.cache_read_tokens);
}

// A message object; `stop_reason` empty renders null (message_start has none yet).
std::string message_json(const AnthropicRequest& request, const Answer& answer,
                         std::string_view content, std::string_view stop_reason,
                         int64_t output_tokens) {
  return fmt::format(
      R"({{"id":"{}","type":"message","role":"assistant","model":{},"content":{},"stop_reason":{},"stop_sequence":null,"usage":{}}})",
      answer.id, api::json_quote(request.model), content,
      stop_reason.empty() ? std::string("null") : api::json_quote(stop_reason),
      usage_json(request, output_tokens));
}

std::string tool_use_id(size_t index) {
  return fmt::format("toolu_mock_{}", index);
}

// A tool_use content block whose input is `input`, a JSON text ("{}" when streamed).
std::string tool_use_block(size_t index, std::string_view name, std::string_view input) {
  return fmt::format(R"({{"type":"tool_use","id":"{}","name":{},"input":{}}})", tool_use_id(index),
                     api::json_quote(name), input);
}

std::string content_json(const AnthropicRequest& request, const Answer& answer) {
  if (request.calls.empty()) {
    std::string text;
    for (auto token : answer.tokens) {
      text += token;
    }
    return fmt::format(R"([{{"type":"text","text":{}}}])", api::json_quote(text));
  }
  std::string blocks;
  for (size_t i = 0; i < request.calls.size(); ++i) {
    blocks += i == 0 ? "[" : ",";
    blocks += tool_use_block(i, request.calls[i], request.tool_input);
  }
  return blocks + "]";
}

std::string sse_event(std::string_view type, std::string_view data) {
  return fmt::format("event: {}\ndata: {}\n\n", type, data);
}

std::string block_start(size_t index, std::string_view block) {
  return sse_event("content_block_start",
                   fmt::format(R"({{"type":"content_block_start","index":{},"content_block":{}}})",
                               index, block));
}

std::string block_delta(size_t index, std::string_view type, std::string_view field,
                        std::string_view value) {
  return sse_event(
      "content_block_delta",
      fmt::format(R"({{"type":"content_block_delta","index":{},"delta":{{"type":"{}","{}":{}}}}})",
                  index, type, field, api::json_quote(value)));
}

std::string block_stop(size_t index) {
  return sse_event("content_block_stop",
                   fmt::format(R"({{"type":"content_block_stop","index":{}}})", index));
}

// Every event between ping and message_delta, content deltas flagged for pacing. Built up front:
// building them per token would save memory on huge --tokens runs, but those benchmark the OpenAI
// dialect.
struct Event {
  std::string text;
  bool content = false;
};

std::vector<Event> content_events(const AnthropicRequest& request, const Answer& answer) {
  std::vector<Event> events;
  if (request.calls.empty()) {
    events.push_back({block_start(0, R"({"type":"text","text":""})")});
    for (auto token : answer.tokens) {
      events.push_back({block_delta(0, "text_delta", "text", token), true});
    }
    events.push_back({block_stop(0)});
    return events;
  }
  for (size_t i = 0; i < request.calls.size(); ++i) {
    events.push_back({block_start(i, tool_use_block(i, request.calls[i], "{}"))});
    for (auto fragment : utf8_fragments(request.tool_input, 3)) {
      events.push_back({block_delta(i, "input_json_delta", "partial_json", fragment), true});
    }
    events.push_back({block_stop(i)});
  }
  return events;
}

net::Headers response_headers() {
  return {{"request-id", "req_mock_" + core::new_request_id().substr(0, 24)}};
}

// What both Messages endpoints check first, as Anthropic does: the version header, an injected
// failure, the body. The request, or the error response to send.
std::variant<AnthropicRequest, Response> checked_request(const MockOptions& options,
                                                         MockStats& stats,
                                                         const net::Request& request,
                                                         bool count_tokens) {
  if (request.header("anthropic-version").empty()) {
    return anthropic_error(400, "anthropic-version: header is required");
  }
  if (const int fail_status = stats.fail_status.load(); fail_status != 0) {
    Response response = anthropic_error(
        fail_status, fmt::format("mock-backend failure injected: HTTP {}", fail_status));
    if (!options.retry_after.empty()) {
      response.headers.push_back({"Retry-After", options.retry_after});
    }
    return response;
  }
  auto read = read_anthropic_request(request.body, count_tokens);
  if (!read) {
    return anthropic_error(400, read.error());
  }
  return std::move(*read);
}

}  // namespace

net::Task<void> serve_anthropic_count_tokens(const MockOptions& options, MockStats& stats,
                                             net::Exchange& exchange) {
  if (auto failure = anthropic_auth_failure(options, exchange.request)) {
    co_return co_await net::respond(exchange.writer, std::move(*failure));
  }
  RequestTracker tracker(stats, exchange.request);
  auto checked = checked_request(options, stats, exchange.request, true);
  if (auto* refusal = std::get_if<Response>(&checked)) {
    co_await exchange.writer.send(std::move(*refusal));
    tracker.complete();
    co_return;
  }
  const auto& request = std::get<AnthropicRequest>(checked);
  Response response{
      200, "application/json", response_headers(),
      fmt::format(R"({{"input_tokens":{}}})", request.input_tokens + request.cache_read_tokens)};
  if (co_await exchange.writer.send(std::move(response))) {
    tracker.complete();
  }
}

net::Task<void> serve_anthropic_messages(const MockOptions& options, MockStats& stats,
                                         net::Exchange& exchange) {
  if (auto failure = anthropic_auth_failure(options, exchange.request)) {
    co_return co_await net::respond(exchange.writer, std::move(*failure));
  }
  RequestTracker tracker(stats, exchange.request);
  auto checked = checked_request(options, stats, exchange.request, false);
  if (auto* refusal = std::get_if<Response>(&checked)) {
    co_await exchange.writer.send(std::move(*refusal));
    tracker.complete();
    co_return;
  }
  const auto* request = &std::get<AnthropicRequest>(checked);
  const Answer answer = make_answer(*request, options.tokens);
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!request->stream) {
    Response response{200, "application/json", response_headers(),
                      message_json(*request, answer, content_json(*request, answer),
                                   answer.stop_reason, answer.output_tokens)};
    if (co_await exchange.writer.send(std::move(response))) {
      tracker.complete();
    }
    co_return;
  }
  if (!co_await exchange.writer.start_stream(200, "text/event-stream", response_headers(), {},
                                             {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  if (!options.stream_error.empty()) {
    // Anthropic's documented shape of an error inside a 200 stream.
    std::string type = "\"";
    core::append_json_escaped(type, options.stream_error);
    type += '"';
    const std::string error = sse_event(
        "error",
        fmt::format(
            R"({{"type":"error","error":{{"type":{},"message":"mock-backend stream error"}}}})",
            type));
    if (co_await stream.finish(error)) {
      tracker.complete();
    }
    co_return;
  }
  // Events are locals (never temporaries) so they outlive the writes that send them.
  const std::string start =
      sse_event("message_start", fmt::format(R"({{"type":"message_start","message":{}}})",
                                             message_json(*request, answer, "[]", "", 1)));
  const std::string ping = sse_event("ping", R"({"type":"ping"})");
  if (!co_await stream.emit(start)) {
    co_return;
  }
  if (!co_await stream.emit(ping)) {
    co_return;
  }
  const std::vector<Event> events = content_events(*request, answer);
  for (const auto& event : events) {
    if (!co_await stream.emit(event.text, event.content)) {
      co_return;
    }
  }
  const std::string delta = sse_event(
      "message_delta",
      fmt::format(
          R"({{"type":"message_delta","delta":{{"stop_reason":"{}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}})",
          answer.stop_reason, answer.output_tokens));
  const std::string stop = sse_event("message_stop", R"({"type":"message_stop"})");
  if (!co_await stream.emit(delta)) {
    co_return;
  }
  if (co_await stream.finish(stop)) {
    tracker.complete();
  }
}

}  // namespace gw::mock
