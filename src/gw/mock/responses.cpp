#include "gw/mock/responses.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <variant>

#include "gw/api/chat_request.hpp"
#include "gw/api/completion_json.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;
using net::Response;

// The request body's top-level fields OpenAI documents for POST /v1/responses.
constexpr std::array<std::string_view, 28> kKnownFields{"background",
                                                        "conversation",
                                                        "include",
                                                        "input",
                                                        "instructions",
                                                        "max_output_tokens",
                                                        "max_tool_calls",
                                                        "metadata",
                                                        "model",
                                                        "parallel_tool_calls",
                                                        "previous_response_id",
                                                        "prompt",
                                                        "prompt_cache_key",
                                                        "prompt_cache_retention",
                                                        "reasoning",
                                                        "safety_identifier",
                                                        "service_tier",
                                                        "store",
                                                        "stream",
                                                        "stream_options",
                                                        "temperature",
                                                        "text",
                                                        "tool_choice",
                                                        "tools",
                                                        "top_logprobs",
                                                        "top_p",
                                                        "truncation",
                                                        "user"};

struct ResponsesRequest {
  std::string model;
  std::string text;  // the answer's source: the last user message, or "Tool said: <output>"
  std::vector<std::string> calls;  // function tools to call, in order
  size_t prompt_words = 0;
  bool stream = false;
  bool whole = false;  // the text is JSON, answered as one token
  int64_t max_output_tokens = -1;
  json::object echoed;  // instructions, tools, ...: repeated in the response object
};

Response invalid(std::string message, std::string param) {
  return net::error_response(
      core::Error(core::Errc::kInvalidRequest, std::move(message), std::move(param)));
}

// What the mock answers to: the last input item, and the words of every message (prompt tokens).
void read_input(const json::value& input, ResponsesRequest& out, bool& tool_result) {
  if (const auto* text = input.if_string()) {
    out.text = std::string(*text);
    out.prompt_words += count_words(out.text);
    return;
  }
  for (const auto& item : input.get_array()) {
    const auto* object = item.if_object();
    if (object == nullptr) {
      continue;
    }
    const auto* type = object->if_contains("type");
    if (type != nullptr && *type == "function_call_output") {
      const auto* output = object->if_contains("output");
      out.text = "Tool said: " + content_text(output);
      tool_result = true;
      continue;
    }
    if (type != nullptr && *type != "message") {
      tool_result = false;
      continue;
    }
    const std::string text = content_text(object->if_contains("content"));
    out.prompt_words += count_words(text);
    const auto* role = object->if_contains("role");
    if (role != nullptr && *role == "user") {
      out.text = text;
      tool_result = false;
    }
  }
}

std::variant<ResponsesRequest, Response> read_request(const std::string& body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec, {}, deep_json());
  if (ec || !value.is_object()) {
    return invalid("We could not parse the JSON body of your request.", "");
  }
  const auto& object = value.get_object();
  for (const auto& [key, member] : object) {
    if (std::find(kKnownFields.begin(), kKnownFields.end(), std::string_view(key)) ==
        kKnownFields.end()) {
      return invalid(
          fmt::format("Unrecognized request argument supplied: {}", std::string_view(key)),
          std::string(key));
    }
  }
  ResponsesRequest out;
  const auto* model = object.if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return invalid("Missing required parameter: 'model'.", "model");
  }
  out.model = model->get_string();
  const auto* input = object.if_contains("input");
  if (input == nullptr || !(input->is_string() || input->is_array())) {
    return invalid("Missing required parameter: 'input'.", "input");
  }
  bool tool_result = false;
  read_input(*input, out, tool_result);
  if (const auto* stream = object.if_contains("stream"); stream != nullptr && stream->is_bool()) {
    out.stream = stream->get_bool();
  }
  if (const auto* limit = object.if_contains("max_output_tokens");
      limit != nullptr && limit->is_int64()) {
    out.max_output_tokens = limit->get_int64();
  }
  const auto* tools = object.if_contains("tools");
  const auto* choice = object.if_contains("tool_choice");
  const auto* parallel = object.if_contains("parallel_tool_calls");
  if (!tool_result && tools != nullptr && tools->is_array() && !tools->get_array().empty() &&
      !(choice != nullptr && *choice == "none")) {
    const auto* named = choice != nullptr && choice->is_object()
                            ? choice->get_object().if_contains("name")
                            : nullptr;
    const bool parallel_calls = !(parallel != nullptr && *parallel == false) && named == nullptr;
    const auto& list = tools->get_array();
    for (const auto& tool : list) {
      const auto* name = tool.is_object() ? tool.get_object().if_contains("name") : nullptr;
      const std::string tool_name =
          name != nullptr && name->is_string() ? std::string(name->get_string()) : "";
      if (named == nullptr || *named == json::string_view(tool_name)) {
        out.calls.push_back(tool_name);
      }
      if (out.calls.size() == (parallel_calls ? 2u : 1u)) {
        break;
      }
    }
  }
  // text.format: the answer is JSON, as OpenAI's constrained output is (an instance of the schema).
  const auto* text = object.if_contains("text");
  const auto* format =
      text != nullptr && text->is_object() ? text->get_object().if_contains("format") : nullptr;
  const auto* format_type =
      format != nullptr && format->is_object() ? format->get_object().if_contains("type") : nullptr;
  if (out.calls.empty() && format_type != nullptr && *format_type == "json_schema") {
    const auto* schema = format->get_object().if_contains("schema");
    out.text = json::serialize(schema != nullptr ? instance_of(*schema, out.text)
                                                 : json::value(json::object{}));
    out.whole = true;
  } else if (out.calls.empty() && format_type != nullptr && *format_type == "json_object") {
    out.text = json::serialize(json::object{{"echo", out.text}});
    out.whole = true;
  }
  for (const std::string_view key :
       {"instructions", "max_output_tokens", "tools", "tool_choice", "text", "metadata"}) {
    if (const auto* member = object.if_contains(key)) {
      out.echoed[key] = *member;
    }
  }
  return out;
}

json::object message_item(std::string_view status, const std::string& text) {
  json::array content;
  if (status != "in_progress") {
    content.push_back(
        json::object{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}});
  }
  return json::object{{"id", "msg_mock"},
                      {"type", "message"},
                      {"status", status},
                      {"role", "assistant"},
                      {"content", std::move(content)}};
}

json::object call_item(size_t index, std::string_view status, const std::string& name,
                       std::string_view arguments) {
  return json::object{{"id", fmt::format("fc_mock_{}", index)},
                      {"type", "function_call"},
                      {"status", status},
                      {"arguments", arguments},
                      {"call_id", fmt::format("call_mock_{}", index)},
                      {"name", name}};
}

json::object response_object(const ResponsesRequest& request, std::string_view status,
                             json::array output, const api::Usage* usage) {
  json::object out{{"id", "resp_mock"},
                   {"object", "response"},
                   {"created_at", 1700000000},
                   {"status", status},
                   {"error", nullptr},
                   {"incomplete_details", nullptr},
                   {"model", request.model},
                   {"output", std::move(output)},
                   {"parallel_tool_calls", true},
                   {"store", true},
                   {"temperature", 1.0},
                   {"top_p", 1.0},
                   {"usage", nullptr}};
  for (const auto& [key, value] : request.echoed) {
    out[key] = value;
  }
  if (status == "incomplete") {
    out["incomplete_details"] = json::object{{"reason", "max_output_tokens"}};
  }
  if (usage != nullptr) {
    out["usage"] = json::object{{"input_tokens", usage->prompt_tokens},
                                {"input_tokens_details", json::object{{"cached_tokens", 0}}},
                                {"output_tokens", usage->completion_tokens},
                                {"output_tokens_details", json::object{{"reasoning_tokens", 0}}},
                                {"total_tokens", usage->prompt_tokens + usage->completion_tokens}};
  }
  return out;
}

// Numbers each event of one stream, as OpenAI does.
class EventWriter {
 public:
  std::string operator()(std::string_view type, const json::object& fields) {
    json::object event{{"type", type}, {"sequence_number", sequence_++}};
    for (const auto& [key, value] : fields) {
      event[key] = value;
    }
    return fmt::format("event: {}\ndata: {}\n\n", type, json::serialize(event));
  }

 private:
  int64_t sequence_ = 0;
};

}  // namespace

net::Task<void> serve_openai_responses(const MockOptions& options, MockStats& stats,
                                       net::Exchange& exchange, bool azure) {
  if (azure && !options.api_key.empty() &&
      !api_key_matches(exchange.request.header("api-key"), options.api_key)) {
    // Not counted as a request, as in the other dialects.
    co_await exchange.writer.send(net::error_response(
        {core::Errc::kUnauthorized, "Access denied due to invalid subscription key."}));
    co_return;
  }
  RequestTracker tracker(stats, exchange.request);
  if (const int status = stats.fail_status.load(); status != 0) {
    // After the time to first token, as a loaded server refuses (--ttft-ms).
    const bool waited = co_await pause(options.ttft);
    if (!waited) {
      co_return;
    }
    core::Error error(core::Errc::kUpstreamStatus,
                      fmt::format("mock-backend failure injected: HTTP {}", status));
    error.status = status;
    error.type = status >= 500 ? "server_error" : "invalid_request_error";
    error.code = "mock_failure";
    error.retry_after = options.retry_after;
    co_await exchange.writer.send(net::error_response(error));
    tracker.complete();
    co_return;
  }
  auto read = read_request(exchange.request.body);
  if (auto* refused = std::get_if<Response>(&read)) {
    co_await exchange.writer.send(std::move(*refused));
    tracker.complete();
    co_return;
  }
  const auto request = std::get<ResponsesRequest>(std::move(read));
  if (azure && std::find(options.models.begin(), options.models.end(), request.model) ==
                   options.models.end()) {
    core::Error error(core::Errc::kModelNotFound,
                      "The API deployment for this resource does not exist.");
    error.code = "DeploymentNotFound";
    co_await exchange.writer.send(net::error_response(error));
    tracker.complete();
    co_return;
  }
  std::vector<std::string_view> tokens;
  const std::string arguments = request.calls.empty() ? "" : tool_arguments(request.text);
  if (request.calls.empty()) {
    tokens = request.whole ? std::vector<std::string_view>{request.text}
                           : answer_tokens(request.text, options.tokens);
  }
  std::string_view status = "completed";
  if (request.max_output_tokens >= 0 &&
      tokens.size() > static_cast<size_t>(request.max_output_tokens)) {
    tokens.resize(static_cast<size_t>(request.max_output_tokens));
    status = "incomplete";
  }
  std::string text;
  for (auto token : tokens) {
    text += token;
  }
  const size_t completion_tokens = request.calls.empty()
                                       ? tokens.size()
                                       : api::split_tokens(arguments).size() * request.calls.size();
  const api::Usage usage{static_cast<int64_t>(request.prompt_words),
                         static_cast<int64_t>(completion_tokens)};
  json::array output;
  if (request.calls.empty()) {
    output.push_back(message_item(status, text));
  }
  for (size_t i = 0; i < request.calls.size(); ++i) {
    output.push_back(call_item(i, "completed", request.calls[i], arguments));
  }
  if (!co_await pause(options.ttft)) {
    co_return;
  }
  if (!request.stream) {
    std::string body = json::serialize(response_object(request, status, output, &usage));
    if (co_await exchange.writer.send(Response{200, "application/json", {}, std::move(body)})) {
      tracker.complete();
    }
    co_return;
  }
  if (!co_await exchange.writer.start_stream(200, "text/event-stream", {}, {}, {})) {
    co_return;
  }
  EventStream stream(options, exchange.writer);
  EventWriter event;
  // The events in order, each marked when it is content (paced by --token-delay-ms).
  std::vector<std::pair<std::string, bool>> events;
  events.reserve(tokens.size() + 4 * request.calls.size() + 8);
  const json::object in_progress{
      {"response", response_object(request, "in_progress", {}, nullptr)}};
  events.emplace_back(event("response.created", in_progress), false);
  events.emplace_back(event("response.in_progress", in_progress), false);
  if (request.calls.empty()) {
    const json::object part{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}};
    events.emplace_back(event("response.output_item.added",
                              {{"output_index", 0}, {"item", message_item("in_progress", "")}}),
                        false);
    events.emplace_back(
        event("response.content_part.added",
              {{"item_id", "msg_mock"}, {"output_index", 0}, {"content_index", 0}, {"part", part}}),
        false);
    for (auto token : tokens) {
      events.emplace_back(event("response.output_text.delta", {{"item_id", "msg_mock"},
                                                               {"output_index", 0},
                                                               {"content_index", 0},
                                                               {"delta", token},
                                                               {"logprobs", json::array()}}),
                          true);
    }
    json::object done_part = part;
    done_part["text"] = text;
    events.emplace_back(event("response.output_text.done", {{"item_id", "msg_mock"},
                                                            {"output_index", 0},
                                                            {"content_index", 0},
                                                            {"text", text},
                                                            {"logprobs", json::array()}}),
                        false);
    events.emplace_back(event("response.content_part.done", {{"item_id", "msg_mock"},
                                                             {"output_index", 0},
                                                             {"content_index", 0},
                                                             {"part", done_part}}),
                        false);
    events.emplace_back(
        event("response.output_item.done", {{"output_index", 0}, {"item", output[0]}}), false);
  }
  for (size_t i = 0; i < request.calls.size(); ++i) {
    const std::string id = fmt::format("fc_mock_{}", i);
    events.emplace_back(
        event("response.output_item.added",
              {{"output_index", i}, {"item", call_item(i, "in_progress", request.calls[i], "")}}),
        false);
    for (auto fragment : utf8_fragments(arguments, 3)) {
      events.emplace_back(event("response.function_call_arguments.delta",
                                {{"item_id", id}, {"output_index", i}, {"delta", fragment}}),
                          true);
    }
    events.emplace_back(event("response.function_call_arguments.done",
                              {{"item_id", id}, {"output_index", i}, {"arguments", arguments}}),
                        false);
    events.emplace_back(
        event("response.output_item.done", {{"output_index", i}, {"item", output[i]}}), false);
  }
  for (const auto& [bytes, content] : events) {
    if (!co_await stream.emit(bytes, content)) {
      co_return;
    }
  }
  const std::string last =
      event(status == "completed" ? "response.completed" : "response.incomplete",
            {{"response", response_object(request, status, output, &usage)}});
  if (co_await stream.finish(last)) {
    tracker.complete();
  }
}

}  // namespace gw::mock
