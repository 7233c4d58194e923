#include <fmt/format.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>

#include "gw/providers/anthropic.hpp"
#include "gw/providers/common/model_list.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

// "2024-10-22T00:00:00Z" -> seconds since the epoch (date part only; 0 when unreadable).
int64_t epoch_from_rfc3339(std::string_view text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (text.size() < 10 ||
      std::sscanf(std::string(text.substr(0, 10)).c_str(), "%d-%u-%u", &y, &m, &d) != 3) {
    return 0;
  }
  const auto days =
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
  return std::chrono::duration_cast<std::chrono::seconds>(days.time_since_epoch()).count();
}

}  // namespace

AnthropicProvider::AnthropicProvider(AnthropicOptions options) : options_(std::move(options)) {}

net::HeaderViews AnthropicProvider::headers() const {
  net::HeaderViews headers{{"anthropic-version", options_.version}, {"user-agent", kUserAgent}};
  if (!options_.api_key.empty()) {
    headers.push_back({"x-api-key", options_.api_key});
  }
  return headers;
}

tl::expected<PreparedRequest, core::Error> AnthropicProvider::prepare_chat(
    const ChatCall& call) const {
  // The parsed request lives in a stack buffer (spilling to the heap when large) and goes at once:
  // no allocation, and no walk to free it, per JSON node.
  unsigned char scratch[4096];
  json::monotonic_resource memory(scratch, sizeof scratch);
  std::optional<json::object> parsed;  // moved in, never assigned: it keeps `memory`
  if (call.parsed == nullptr) {
    auto result = api::parse_request_object(call.body, &memory);
    if (!result) {
      return tl::unexpected(result.error());
    }
    parsed.emplace(std::move(*result));
  }
  const json::object& openai = call.parsed != nullptr ? *call.parsed : *parsed;
  auto translated =
      anthropic_request_from_openai(openai, call.upstream_model, options_.default_max_tokens);
  if (!translated) {
    return tl::unexpected(translated.error());
  }
  PreparedRequest prepared;
  prepared.storage.push_back(std::move(*translated));
  prepared.hints.json_answer = asks_for_json(openai);
  auto& request = prepared.request;
  request.method = "POST";
  request.path = options_.endpoint.base_path + "/v1/messages";
  request.headers = headers();
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back(
      {"accept", call.info.stream ? "text/event-stream" : "application/json"});
  request.headers.push_back({"x-request-id", call.request_id});
  request.body.push_back(prepared.storage.back());
  return prepared;
}

tl::expected<PreparedRequest, core::Error> AnthropicProvider::prepare_messages(
    const ChatCall& call) const {
  return messages_request(call, "/v1/messages");
}

tl::expected<PreparedRequest, core::Error> AnthropicProvider::prepare_count_tokens(
    const ChatCall& call) const {
  return messages_request(call, "/v1/messages/count_tokens");
}

PreparedRequest AnthropicProvider::messages_request(const ChatCall& call,
                                                    std::string_view path) const {
  PreparedRequest prepared;
  auto& request = prepared.request;
  request.method = "POST";
  request.path = options_.endpoint.base_path;
  request.path += path;
  // The client's API version and beta features, when it names them: the body is written for them.
  std::string_view version = options_.version;
  std::vector<std::string_view> betas;
  for (const auto& header : call.client_headers) {
    if (net::iequals(header.name, "anthropic-version")) {
      version = header.value;
    } else if (net::iequals(header.name, "anthropic-beta")) {
      betas.push_back(header.value);
    }
  }
  request.headers = {{"anthropic-version", version}, {"user-agent", kUserAgent}};
  if (betas.size() == 1) {
    request.headers.push_back({"anthropic-beta", betas.front()});
  } else if (betas.size() > 1) {
    // Several lines are one comma-separated list (RFC 9110 §5.3), sent as one.
    request.headers.push_back({"anthropic-beta", prepared.storage.emplace_back(
                                                     fmt::format("{}", fmt::join(betas, ",")))});
  }
  if (!options_.api_key.empty()) {
    request.headers.push_back({"x-api-key", options_.api_key});
  }
  request.headers.push_back({"content-type", "application/json"});
  request.headers.push_back(
      {"accept", call.info.stream ? "text/event-stream" : "application/json"});
  request.headers.push_back({"x-request-id", call.request_id});
  api::upstream_chat_body(call.body, call.info, call.upstream_model, false,
                          prepared.storage.emplace_back(), request.body);
  return prepared;
}

bool asks_for_json(const json::object& openai) {
  const auto* format = openai.if_contains("response_format");
  const auto* type =
      format != nullptr && format->is_object() ? format->as_object().if_contains("type") : nullptr;
  return type != nullptr && (*type == "json_schema" || *type == "json_object");
}

std::unique_ptr<ResponseTranslator> AnthropicProvider::translator(const ChatCall& call,
                                                                  const AnswerHints& hints) const {
  return make_anthropic_stream_translator(api::sends_usage_chunk(call.info), hints.json_answer);
}

core::Error AnthropicProvider::map_error(int status, std::string_view body,
                                         std::string_view retry_after) const {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  const json::object* detail = nullptr;
  if (!ec && value.is_object()) {
    if (const auto* e = value.as_object().if_contains("error"); e != nullptr && e->is_object()) {
      detail = &e->as_object();
    }
  }
  if (detail == nullptr) {
    return map_upstream_error(options_.name, status, body, retry_after);
  }
  const auto* type_value = detail->if_contains("type");
  const auto* message_value = detail->if_contains("message");
  const std::string type =
      type_value != nullptr && type_value->is_string() ? std::string(type_value->as_string()) : "";
  std::string message = message_value != nullptr && message_value->is_string()
                            ? std::string(message_value->as_string())
                            : fmt::format("anthropic returned HTTP {}", status);
  return anthropic_error(status, type, std::move(message), retry_after);
}

net::OutboundRequest AnthropicProvider::models_request() const {
  net::OutboundRequest request;
  request.method = "GET";
  request.path = options_.endpoint.base_path + "/v1/models?limit=1000";
  request.headers = headers();
  request.headers.push_back({"accept", "application/json"});
  return request;
}

tl::expected<std::vector<ModelEntry>, std::string> AnthropicProvider::parse_models(
    std::string_view body) const {
  return models_from_data_list(body, [](const boost::json::object& entry) -> int64_t {
    const auto* created = entry.if_contains("created_at");
    return created != nullptr && created->is_string() ? epoch_from_rfc3339(created->as_string())
                                                      : 0;
  });
}

}  // namespace gw::providers
