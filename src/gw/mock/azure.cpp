#include "gw/mock/azure.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "gw/api/chat_request.hpp"
#include "gw/mock/completions.hpp"
#include "gw/mock/embeddings.hpp"
#include "gw/mock/openai.hpp"

namespace gw::mock {
namespace {

namespace json = boost::json;
using net::Response;

// What Azure's filter says about a prompt or an answer it let through.
constexpr std::string_view kFilterResults =
    R"({"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}})";

std::string prompt_filter_results() {
  return fmt::format(R"([{{"prompt_index":0,"content_filter_results":{}}}])", kFilterResults);
}

// Azure's gateway errors: {"error":{"code","message"}}, unlike OpenAI's shape.
Response azure_error(int status, std::string_view code, std::string_view message) {
  return Response{status,
                  "application/json",
                  {},
                  fmt::format(R"({{"error":{{"code":{},"message":{}}}}})", api::json_quote(code),
                              api::json_quote(message))};
}

// The decoded deployment, operation and api-version of a deployment URL
// (/openai/deployments/{deployment}/chat/completions, .../completions or .../embeddings);
// nullopt for any other.
struct AzureTarget {
  std::string deployment;
  std::string operation;  // "chat/completions", "completions" or "embeddings"
  std::string api_version;
};

std::optional<AzureTarget> parse_target(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return std::nullopt;
  }
  const auto segments = url->segments();
  if (segments.size() != 4 && segments.size() != 5) {
    return std::nullopt;
  }
  auto it = segments.begin();
  const std::string openai = *it++;
  const std::string deployments = *it++;
  AzureTarget out{*it++, {}, {}};
  while (it != segments.end()) {
    out.operation += out.operation.empty() ? "" : "/";
    out.operation += *it++;
  }
  if (openai != "openai" || deployments != "deployments" || out.deployment.empty() ||
      (out.operation != "chat/completions" && out.operation != "completions" &&
       out.operation != "embeddings")) {
    return std::nullopt;
  }
  const auto params = url->params();
  if (auto version = params.find("api-version"); version != params.end()) {
    out.api_version = (*version).value;
  }
  return out;
}

// Azure's answer when it turns a request away before it reaches the deployment. A refused key is
// not counted as a chat request, as in the other dialects.
struct Refusal {
  Response response;
  bool counted = true;
};

std::optional<Refusal> refusal(const MockOptions& options, const net::Request& request,
                               const std::optional<AzureTarget>& target) {
  if (!target || target->api_version.empty()) {
    return Refusal{azure_error(404, "404", "Resource not found")};
  }
  if (!options.api_key.empty() && !api_key_matches(request.header("api-key"), options.api_key)) {
    return Refusal{
        azure_error(401, "401",
                    "Access denied due to invalid subscription key or wrong API endpoint. Make "
                    "sure to provide a valid key for an active subscription and use a correct "
                    "regional API endpoint for your resource."),
        false};
  }
  if (std::find(options.models.begin(), options.models.end(), target->deployment) ==
      options.models.end()) {
    return Refusal{azure_error(404, "DeploymentNotFound",
                               "The API deployment for this resource does not exist.")};
  }
  return std::nullopt;
}

}  // namespace

net::Task<void> serve_azure(const MockOptions& options, MockStats& stats, net::Exchange& exchange) {
  const auto target = parse_target(exchange.request.target);
  auto refused = refusal(options, exchange.request, target);
  if (!refused && target->operation == "embeddings") {
    co_await serve_openai_embeddings(options, stats, exchange, target->deployment);
    co_return;
  }
  if (!refused && target->operation == "completions") {
    co_await serve_openai_completions(options, stats, exchange, target->deployment);
    co_return;
  }
  if (!refused) {
    OpenAiDialect dialect{target->deployment, true};
    co_await serve_openai_chat(options, stats, exchange, std::move(dialect));
    co_return;
  }
  std::optional<RequestTracker> tracker;
  if (refused->counted) {
    tracker.emplace(stats, exchange.request);
  }
  Response response = std::move(refused->response);
  co_await exchange.writer.send(std::move(response));
  if (tracker) {
    tracker->complete();
  }
}

std::string azure_annotate(std::string_view text, bool completion) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  auto* object = ec ? nullptr : doc.if_object();
  if (object == nullptr) {
    return std::string(text);
  }
  auto* choices = object->if_contains("choices");
  if (choices != nullptr && choices->is_array()) {
    const json::value results = completion ? json::parse(kFilterResults) : json::object();
    for (auto& choice : choices->get_array()) {
      if (auto* fields = choice.if_object()) {
        (*fields)["content_filter_results"] = results;
      }
    }
  }
  if (completion) {
    (*object)["prompt_filter_results"] = json::parse(prompt_filter_results());
  }
  return json::serialize(doc);
}

std::string azure_prompt_filter_event() {
  return fmt::format(
      "data: {{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
      "\"prompt_filter_results\":{}}}\n\n",
      prompt_filter_results());
}

net::Response azure_content_filter_error() {
  return Response{
      400,
      "application/json",
      {},
      R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}})"};
}

void azure_default_model(std::string& body, std::string_view deployment) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec, {}, deep_json());
  auto* object = ec ? nullptr : doc.if_object();
  if (object == nullptr || object->contains("model")) {
    return;  // the OpenAI dialect's own checks answer for anything else
  }
  (*object)["model"] = deployment;
  body = json::serialize(doc);
}

}  // namespace gw::mock
