#include "gw/mock/openai.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "gw/api/chat_request.hpp"
#include "gw/api/chunk_writer.hpp"
#include "gw/api/completion_json.hpp"
#include "gw/core/logging.hpp"
#include "gw/mock/azure.hpp"

namespace gw::mock {
namespace {

using net::Response;

// What OpenAI sends with every answer; the gateway relays these.
net::Headers rate_limit_headers() {
  return {{"x-ratelimit-limit-requests", "10000"},
          {"x-ratelimit-remaining-requests", "9999"},
          {"openai-processing-ms", "1"}};
}

// The parts of a request that only matter when it involves tools.
struct ToolPlan {
  std::optional<std::string> tool_result;  // the last message is a tool result: its content
  std::vector<std::string> calls;          // names of the tools to call, in order
};

ToolPlan read_tool_plan(std::string_view body) {
  ToolPlan plan;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec, {}, deep_json());
  const auto* request = ec ? nullptr : doc.if_object();
  const auto* messages_value = request ? request->if_contains("messages") : nullptr;
  const auto* messages = messages_value ? messages_value->if_array() : nullptr;
  if (messages == nullptr || messages->empty() || !messages->back().is_object()) {
    return plan;
  }
  const auto& last = messages->back().get_object();
  const auto* role = last.if_contains("role");
  if (role && role->is_string() && role->get_string() == "tool") {
    plan.tool_result = content_text(last.if_contains("content"));
    return plan;
  }
  const auto* tools_value = request->if_contains("tools");
  const auto* tools = tools_value ? tools_value->if_array() : nullptr;
  const auto* choice = request->if_contains("tool_choice");
  const auto* parallel = request->if_contains("parallel_tool_calls");
  if (!role || !role->is_string() || role->get_string() != "user" || !tools || tools->empty() ||
      (choice && choice->is_string() && choice->get_string() == "none")) {
    return plan;
  }
  const bool parallel_calls = !(parallel && parallel->is_bool() && !parallel->get_bool());
  const size_t count = parallel_calls && tools->size() >= 2 ? 2 : 1;
  for (size_t i = 0; i < count; ++i) {
    const auto* function =
        (*tools)[i].is_object() ? (*tools)[i].get_object().if_contains("function") : nullptr;
    const auto* name =
        function && function->is_object() ? function->get_object().if_contains("name") : nullptr;
    plan.calls.emplace_back(name && name->is_string() ? std::string(name->get_string()) : "");
  }
  return plan;
}

// One chunk's stream event, annotated the way Azure streams are.
std::string chunk_event(const OpenAiDialect& dialect, std::string event) {
  if (!dialect.azure) {
    return event;
  }
  std::string_view chunk = event;
  chunk.remove_prefix(std::string_view("data: ").size());
  chunk.remove_suffix(2);  // "\n\n"
  return api::sse_data(azure_annotate(chunk, false));
}

// The event of a chunk with `delta` (a JSON object's text).
std::string delta_event(const OpenAiDialect& dialect, api::ChunkWriter& chunks,
                        std::string_view delta, std::string_view finish_reason = {}) {
  std::string event;
  chunks.delta(event, delta, finish_reason);
  return chunk_event(dialect, std::move(event));
}

std::string call_id(size_t index) {
  return fmt::format("call_mock_{}", index);
}

std::string tool_calls_completion_json(const api::CompletionMeta& meta,
                                       const std::vector<std::string>& calls,
                                       std::string_view arguments, const api::Usage& usage) {
  std::string tool_calls;
  for (size_t i = 0; i < calls.size(); ++i) {
    tool_calls += fmt::format(
        R"({}{{"id":"{}","type":"function","function":{{"name":{},"arguments":{}}}}})",
        i == 0 ? "" : ",", call_id(i), api::json_quote(calls[i]), api::json_quote(arguments));
  }
  return fmt::format(
      R"({{"id":{},"object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,"message":{{"role":"assistant","content":null,"tool_calls":[{}],"refusal":null}},"logprobs":null,"finish_reason":"tool_calls"}}],"usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})",
      api::json_quote(meta.id), meta.created, api::json_quote(meta.model), tool_calls,
      usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens + usage.completion_tokens);
}

// The stream events of the tool calls: for each, a header naming the tool, then its arguments in
// three fragments, as OpenAI streams them.
std::vector<std::string> tool_call_events(const OpenAiDialect& dialect, api::ChunkWriter& chunks,
                                          const std::vector<std::string>& calls,
                                          std::string_view arguments) {
  std::vector<std::string> events;
  for (size_t i = 0; i < calls.size(); ++i) {
    events.push_back(delta_event(
        dialect, chunks,
        fmt::format(
            R"({{"tool_calls":[{{"index":{},"id":"{}","type":"function","function":{{"name":{},"arguments":""}}}}]}})",
            i, call_id(i), api::json_quote(calls[i]))));
    for (auto fragment : utf8_fragments(arguments, 3)) {
      events.push_back(delta_event(
          dialect, chunks,
          fmt::format(R"({{"tool_calls":[{{"index":{},"function":{{"arguments":{}}}}}]}})", i,
                      api::json_quote(fragment))));
    }
  }
  return events;
}

}  // namespace

net::Task<void> serve_openai_chat(const MockOptions& options, MockStats& stats,
                                  net::Exchange& exchange, OpenAiDialect dialect) {
  RequestTracker tracker(stats, exchange.request);
  const int fail_status = stats.fail_status.load();
  if (dialect.azure && fail_status == 400) {
    Response response = azure_content_filter_error();
    if (!options.retry_after.empty()) {
      response.headers.push_back({"retry-after", options.retry_after});
    }
    co_await exchange.writer.send(std::move(response));
    tracker.complete();
    co_return;
  }
  if (options.strict && exchange.request.body.find("\"stream_options\"") != std::string::npos) {
    // Like a strict OpenAI-compatible server that predates stream_options.
    core::Error error(core::Errc::kInvalidRequest,
                      "Unrecognized request argument supplied: stream_options", "stream_options");
    co_await exchange.writer.send(net::error_response(error));
    tracker.complete();
    co_return;
  }
  if (fail_status != 0) {
    // After the time to first token, as a loaded server refuses (--ttft-ms).
    const bool waited = co_await pause(options.ttft);
    if (!waited) {
      co_return;
    }
    core::Error error(core::Errc::kUpstreamStatus,
                      fmt::format("mock-backend failure injected: HTTP {}", fail_status));
    error.status = fail_status;
    error.type = fail_status >= 500 ? "server_error" : "invalid_request_error";
    error.code = "mock_failure";
    error.retry_after = options.retry_after;
    co_await exchange.writer.send(net::error_response(error));
    tracker.complete();
    co_return;
  }
  if (dialect.azure) {
    azure_default_model(exchange.request.body, dialect.model);
  }
  auto info = api::inspect_chat_request(exchange.request.body);
  if (!info) {
    co_await exchange.writer.send(net::error_response(info.error()));
    tracker.complete();
    co_return;
  }
  auto input = api::echo_input(exchange.request.body);
  ToolPlan plan;
  // A cheap test keeps the DOM parse off the path of plain requests (benchmarks use this mock).
  if (exchange.request.body.find("\"tool") != std::string::npos) {
    plan = read_tool_plan(exchange.request.body);
  }
  const std::string text =
      plan.tool_result ? "Tool said: " + *plan.tool_result : std::move(input.text);
  const std::string arguments = plan.calls.empty() ? std::string() : tool_arguments(text);
  const std::vector<std::string_view> tokens =
      plan.calls.empty() ? answer_tokens(text, options.tokens) : std::vector<std::string_view>{};
  // Tool calls count the words of their arguments as completion tokens, once per call.
  const size_t completion_tokens =
      plan.calls.empty() ? tokens.size() : api::split_tokens(arguments).size() * plan.calls.size();
  const auto meta = api::new_completion_meta(dialect.model.empty() ? info->model : dialect.model);
  const api::Usage usage{static_cast<int64_t>(input.prompt_words),
                         static_cast<int64_t>(completion_tokens)};
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!info->stream) {
    std::string body;
    if (plan.calls.empty()) {
      std::string content;
      for (auto t : tokens) {
        content += t;
      }
      body = api::completion_json(meta, content, "stop", usage);
    } else {
      body = tool_calls_completion_json(meta, plan.calls, arguments, usage);
    }
    if (dialect.azure) {
      body = azure_annotate(body, true);
    }
    if (co_await exchange.writer.send(
            Response{200, "application/json", rate_limit_headers(), std::move(body)})) {
      tracker.complete();
    }
    co_return;
  }
  if (!co_await exchange.writer.start_stream(200, "text/event-stream", rate_limit_headers(), {},
                                             {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  // Locals, not temporaries, go into co_await: the events must outlive the writes.
  if (dialect.azure) {
    const std::string opening = azure_prompt_filter_event();
    if (!co_await stream.emit(opening)) {
      co_return;
    }
  }
  api::ChunkWriter chunks;
  chunks.set_identity(meta.id, meta.created, meta.model);
  const std::string role =
      delta_event(dialect, chunks,
                  plan.calls.empty() ? api::kRoleDelta : R"({"role":"assistant","content":null})");
  if (!co_await stream.emit(role)) {
    co_return;
  }
  if (plan.calls.empty()) {
    for (auto token : tokens) {
      std::string event;
      chunks.content(event, token);
      event = chunk_event(dialect, std::move(event));
      if (!co_await stream.emit(event, true)) {
        co_return;
      }
    }
  } else {
    const std::vector<std::string> events =
        tool_call_events(dialect, chunks, plan.calls, arguments);
    for (const auto& event : events) {
      if (!co_await stream.emit(event, true)) {
        co_return;
      }
    }
  }
  const std::string_view finish_reason = plan.calls.empty() ? "stop" : "tool_calls";
  std::string tail = delta_event(dialect, chunks, "{}", finish_reason);
  if (info->include_usage) {
    std::string event;
    chunks.usage(event, usage);
    tail += chunk_event(dialect, std::move(event));
  }
  tail += api::kSseDone;
  if (co_await stream.finish(tail)) {
    tracker.complete();
  }
}

}  // namespace gw::mock
