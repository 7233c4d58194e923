#include "gw/mock/ollama.hpp"

#include <fmt/format.h>

#include "gw/api/chat_request.hpp"

namespace gw::mock {
namespace {

using net::Response;

// Fixed, like every other time and duration here, so that answers are deterministic.
constexpr std::string_view kCreatedAt = "2024-05-01T00:00:00Z";

// The answer to a valid request, before it is rendered as JSON or as NDJSON lines.
struct Answer {
  std::vector<std::string_view> tokens;  // views into the request's text
  std::string_view done_reason = "stop";
  int64_t eval_count = 0;
};

Answer make_answer(const OllamaRequest& request, int64_t forced_tokens) {
  Answer answer;
  if (!request.calls.empty()) {
    answer.eval_count = 1;
    return answer;
  }
  if (request.json_format) {
    answer.tokens = {request.text};
  } else {
    answer.tokens = answer_tokens(request.text, forced_tokens);
  }
  if (request.num_predict && *request.num_predict < static_cast<int64_t>(answer.tokens.size())) {
    answer.tokens.resize(static_cast<size_t>(*request.num_predict));
    answer.done_reason = "length";
  }
  answer.eval_count = static_cast<int64_t>(answer.tokens.size());
  return answer;
}

// {"model","created_at", without the closing brace: every object Ollama sends starts this way.
std::string head(const OllamaRequest& request) {
  return fmt::format(R"({{"model":{},"created_at":"{}")", api::json_quote(request.model),
                     kCreatedAt);
}

std::string message_json(std::string_view content) {
  return fmt::format(R"({{"role":"assistant","content":{}}})", api::json_quote(content));
}

// An assistant message calling the request's tools; arguments are a JSON object, not a string.
std::string tool_calls_message(const OllamaRequest& request) {
  std::string calls;
  for (const auto& name : request.calls) {
    calls += fmt::format(R"({}{{"function":{{"name":{},"arguments":{}}}}})",
                         calls.empty() ? "" : ",", api::json_quote(name), request.arguments);
  }
  return fmt::format(R"({{"role":"assistant","content":"","tool_calls":[{}]}})", calls);
}

std::string metrics_json(const OllamaRequest& request, const Answer& answer) {
  return fmt::format(
      R"("total_duration":1000,"load_duration":10,"prompt_eval_count":{},"prompt_eval_duration":10,"eval_count":{},"eval_duration":10)",
      request.prompt_words, answer.eval_count);
}

std::string response_json(const OllamaRequest& request, const Answer& answer) {
  std::string message;
  if (request.calls.empty()) {
    std::string text;
    for (auto token : answer.tokens) {
      text += token;
    }
    message = message_json(text);
  } else {
    message = tool_calls_message(request);
  }
  return fmt::format(R"({},"message":{},"done_reason":"{}","done":true,{}}})", head(request),
                     message, answer.done_reason, metrics_json(request, answer));
}

// One NDJSON line of a stream that is not its last.
std::string line(const OllamaRequest& request, std::string_view message) {
  return fmt::format("{},\"message\":{},\"done\":false}}\n", head(request), message);
}

std::string last_line(const OllamaRequest& request, const Answer& answer) {
  return fmt::format("{},\"message\":{},\"done\":true,\"done_reason\":\"{}\",{}}}\n", head(request),
                     message_json(""), answer.done_reason, metrics_json(request, answer));
}

// The request, or the error to answer instead: an injected failure, a 400 or an unknown model.
tl::expected<OllamaRequest, Response> accept(
    const MockOptions& options, int fail_status, std::string_view body,
    tl::expected<OllamaRequest, std::string> (*read)(std::string_view) = read_ollama_request) {
  if (fail_status != 0) {
    Response response = ollama_error(
        fail_status, fmt::format("mock-backend failure injected: HTTP {}", fail_status));
    if (!options.retry_after.empty()) {
      response.headers.push_back({"Retry-After", options.retry_after});
    }
    return tl::unexpected(std::move(response));
  }
  auto request = read(body);
  if (!request) {
    return tl::unexpected(ollama_error(400, request.error()));
  }
  if (!ollama_model_known(options.models, request->model)) {
    return tl::unexpected(ollama_error(
        404, fmt::format(R"(model "{}" not found, try pulling it first)", request->model)));
  }
  return std::move(*request);
}

// /api/generate's objects: "response" where /api/chat has "message", and a "context".
std::string generate_line(const OllamaRequest& request, std::string_view text) {
  return fmt::format("{},\"response\":{},\"done\":false}}\n", head(request), api::json_quote(text));
}

std::string generate_last(const OllamaRequest& request, const Answer& answer, std::string_view text,
                          bool newline) {
  return fmt::format(
      "{},\"response\":{},\"done\":true,\"done_reason\":\"{}\",\"context\":[1,2,3],{}}}{}",
      head(request), api::json_quote(text), answer.done_reason, metrics_json(request, answer),
      newline ? "\n" : "");
}

}  // namespace

net::Task<void> serve_ollama_generate(const MockOptions& options, MockStats& stats,
                                      net::Exchange& exchange) {
  RequestTracker tracker(stats, exchange.request);
  const auto request =
      accept(options, stats.fail_status.load(), exchange.request.body, read_ollama_generate);
  if (!request) {
    Response response = request.error();
    co_await exchange.writer.send(std::move(response));
    tracker.complete();
    co_return;
  }
  const Answer answer = make_answer(*request, options.tokens);
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!request->stream) {
    std::string text;
    for (auto token : answer.tokens) {
      text += token;
    }
    Response response{200, "application/json", {}, generate_last(*request, answer, text, false)};
    if (co_await exchange.writer.send(std::move(response))) {
      tracker.complete();
    }
    co_return;
  }
  if (!co_await exchange.writer.start_stream(200, "application/x-ndjson", {}, {}, {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  for (auto token : answer.tokens) {
    const std::string event = generate_line(*request, token);
    if (!co_await stream.emit(event, true)) {
      co_return;
    }
  }
  const std::string last = generate_last(*request, answer, "", true);
  if (co_await stream.finish(last)) {
    tracker.complete();
  }
}

net::Task<void> serve_ollama_chat(const MockOptions& options, MockStats& stats,
                                  net::Exchange& exchange) {
  RequestTracker tracker(stats, exchange.request);
  const auto request = accept(options, stats.fail_status.load(), exchange.request.body);
  if (!request) {
    Response response = request.error();
    co_await exchange.writer.send(std::move(response));
    tracker.complete();
    co_return;
  }
  const Answer answer = make_answer(*request, options.tokens);
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!request->stream) {
    Response response{200, "application/json", {}, response_json(*request, answer)};
    if (co_await exchange.writer.send(std::move(response))) {
      tracker.complete();
    }
    co_return;
  }
  net::Headers headers;
  if (!co_await exchange.writer.start_stream(200, "application/x-ndjson", std::move(headers), {},
                                             {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  // Lines are locals (never temporaries) so they outlive the writes that send them.
  if (request->calls.empty()) {
    for (auto token : answer.tokens) {
      const std::string event = line(*request, message_json(token));
      if (!co_await stream.emit(event, true)) {
        co_return;
      }
    }
  } else {
    const std::string event = line(*request, tool_calls_message(*request));
    if (!co_await stream.emit(event, true)) {
      co_return;
    }
  }
  const std::string last = last_line(*request, answer);
  if (co_await stream.finish(last)) {
    tracker.complete();
  }
}

}  // namespace gw::mock
