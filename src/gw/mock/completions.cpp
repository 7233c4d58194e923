#include "gw/mock/completions.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <variant>

#include "gw/api/chat_request.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;
using net::Response;

// What the mock reads of a legacy completions request; an error response when it is invalid.
struct CompletionRequest {
  std::string model;
  std::string prompt;  // the prompt's strings, joined by a space
  bool stream = false;
  bool include_usage = false;
  int64_t max_tokens = -1;
};

std::variant<CompletionRequest, Response> read_request(const std::string& body,
                                                       const std::string& deployment) {
  auto invalid = [](std::string message, std::string param) {
    return net::error_response(
        core::Error(core::Errc::kInvalidRequest, std::move(message), std::move(param)));
  };
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return invalid("We could not parse the JSON body of your request.", "");
  }
  const auto& object = value.get_object();
  CompletionRequest out;
  const auto* model = object.if_contains("model");
  if (model != nullptr && model->is_string()) {
    out.model = model->get_string();
  } else if (deployment.empty()) {
    return invalid("you must provide a model parameter", "model");
  }
  if (!deployment.empty()) {
    out.model = deployment;
  }
  const auto* prompt = object.if_contains("prompt");
  if (prompt != nullptr && prompt->is_string()) {
    out.prompt = prompt->get_string();
  } else if (prompt != nullptr && prompt->is_array()) {
    for (const auto& part : prompt->get_array()) {
      if (part.is_string()) {
        out.prompt += out.prompt.empty() ? "" : " ";
        out.prompt += part.get_string();
      }
    }
  } else {
    return invalid("'prompt' is a required property", "prompt");
  }
  if (const auto* stream = object.if_contains("stream"); stream != nullptr && stream->is_bool()) {
    out.stream = stream->get_bool();
  }
  if (const auto* options = object.if_contains("stream_options");
      options != nullptr && options->is_object()) {
    const auto* usage = options->get_object().if_contains("include_usage");
    out.include_usage = usage != nullptr && usage->is_bool() && usage->get_bool();
  }
  if (const auto* limit = object.if_contains("max_tokens"); limit != nullptr && limit->is_int64()) {
    out.max_tokens = limit->get_int64();
  }
  return out;
}

std::string usage_json(size_t prompt, size_t completion) {
  return fmt::format(R"({{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}})", prompt,
                     completion, prompt + completion);
}

// One text_completion object: the whole answer, or a stream chunk.
std::string completion_object(const std::string& model, std::string_view text,
                              std::string_view finish_reason, const std::string& usage) {
  return fmt::format(
      R"({{"id":"cmpl-mock","object":"text_completion","created":1700000000,"model":{},)"
      R"("choices":[{{"text":{},"index":0,"logprobs":null,"finish_reason":{}}}]{}}})",
      api::json_quote(model), api::json_quote(text),
      finish_reason.empty() ? std::string("null") : api::json_quote(finish_reason),
      usage.empty() ? "" : R"(,"usage":)" + usage);
}

std::string event(std::string_view data) {
  return fmt::format("data: {}\n\n", data);
}

}  // namespace

net::Task<void> serve_openai_completions(const MockOptions& options, MockStats& stats,
                                         net::Exchange& exchange, std::string deployment) {
  RequestTracker tracker(stats, exchange.request);
  if (const int status = stats.fail_status.load(); status != 0) {
    core::Error error(core::Errc::kUpstreamStatus,
                      fmt::format("mock-backend failure injected: HTTP {}", status));
    error.status = status;
    error.code = "mock_failure";
    co_await exchange.writer.send(net::error_response(error));
    tracker.complete();
    co_return;
  }
  auto read = read_request(exchange.request.body, deployment);
  if (auto* refused = std::get_if<Response>(&read)) {
    co_await exchange.writer.send(std::move(*refused));
    tracker.complete();
    co_return;
  }
  const auto request = std::get<CompletionRequest>(std::move(read));
  std::vector<std::string_view> tokens = answer_tokens(request.prompt, options.tokens);
  std::string_view finish_reason = "stop";
  if (request.max_tokens >= 0 && tokens.size() > static_cast<size_t>(request.max_tokens)) {
    tokens.resize(static_cast<size_t>(request.max_tokens));
    finish_reason = "length";
  }
  const size_t prompt_tokens = count_words(request.prompt);
  const std::string usage = usage_json(prompt_tokens, tokens.size());
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!request.stream) {
    std::string text;
    for (auto token : tokens) {
      text += token;
    }
    std::string body = completion_object(request.model, text, finish_reason, usage);
    if (co_await exchange.writer.send(Response{200, "application/json", {}, std::move(body)})) {
      tracker.complete();
    }
    co_return;
  }
  if (!co_await exchange.writer.start_stream(200, "text/event-stream", {}, {}, {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  for (auto token : tokens) {
    const std::string chunk = event(completion_object(request.model, token, "", ""));
    if (!co_await stream.emit(chunk, true)) {
      co_return;
    }
  }
  std::string tail = event(completion_object(request.model, "", finish_reason, ""));
  if (request.include_usage) {
    tail += event(fmt::format(
        R"({{"id":"cmpl-mock","object":"text_completion","created":1700000000,"model":{},)"
        R"("choices":[],"usage":{}}})",
        api::json_quote(request.model), usage));
  }
  tail += api::kSseDone;
  if (co_await stream.finish(tail)) {
    tracker.complete();
  }
}

}  // namespace gw::mock
