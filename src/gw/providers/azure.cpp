#include "gw/providers/azure.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "gw/api/completion_json.hpp"
#include "gw/net/sse.hpp"
#include "gw/providers/common/json_read.hpp"
#include "gw/providers/openai_compatible.hpp"

namespace gw::providers {
namespace {

namespace json = boost::json;

class AzureStream final : public ResponseTranslator {
 public:
  explicit AzureStream(bool strip_usage) : strip_usage_(strip_usage) {}

  tl::expected<std::string, core::Error> complete(std::string body) override {
    return relayed_completion(std::move(body), completion_usage_);
  }
  std::optional<api::Usage> completion_usage() const override { return completion_usage_; }

  tl::expected<std::string_view, core::Error> feed(std::string_view piece) override {
    start_output(out_, piece.size());
    parser_.feed(piece, [this](const net::SseEvent& event) { on_event(event.data); });
    return std::string_view(out_);
  }

  bool finished() const override { return done_; }
  size_t buffered() const override { return parser_.buffered(); }
  api::Usage usage() const override { return usage_; }

 private:
  void on_event(std::string_view data) {
    if (done_) {
      return;  // nothing after the terminator is relayed (or counted)
    }
    if (data == "[DONE]") {
      out_ += api::kSseDone;
      done_ = true;
      return;
    }
    json_read::dom::object chunk;
    if (json_read::parse_object(data).get(chunk) != simdjson::SUCCESS) {
      relay_as_is(data);  // not ours to judge: not JSON, or a number simdjson does not approximate
      return;
    }
    json_read::dom::array choices;
    const bool no_choices =
        chunk["choices"].get(choices) != simdjson::SUCCESS || choices.size() == 0;
    json_read::dom::element usage;
    const bool has_usage =
        chunk["usage"].get(usage) == simdjson::SUCCESS && usage.is_object();  // null: none
    if (has_usage) {
      usage_ = json_read::read_chat_usage(usage);
      if (no_choices && strip_usage_) {
        return;  // asked for by the gateway, not the client
      }
    }
    const std::string_view id = json_read::text_at(chunk, "id");
    if (id_.empty()) {
      id_ = id;
    }
    // Most chunks pass as they came: only the opening chunk, the first with a choice and one with
    // another id than the stream's first are rewritten (read again, as a tree).
    if ((no_choices && !has_usage) || (!first_sent_ && !no_choices) || id != id_) {
      on_tree_event(data);
      return;
    }
    relay_as_is(data);
  }

  // An event that is rewritten (JSON: simdjson read it).
  void on_tree_event(std::string_view data) {
    boost::system::error_code ec;
    auto value = json::parse(data, ec);
    if (ec || !value.is_object()) {
      relay_as_is(data);
      return;
    }
    auto& chunk = value.as_object();
    const auto* choices = chunk.if_contains("choices");
    const bool no_choices =
        choices == nullptr || !choices->is_array() || choices->as_array().empty();
    const auto* usage = chunk.if_contains("usage");
    if (no_choices && (usage == nullptr || !usage->is_object())) {
      // Azure's opening chunk: keep its prompt filter results for the first real chunk.
      if (const auto* results = chunk.if_contains("prompt_filter_results")) {
        prompt_filter_results_ = *results;
      }
      return;
    }
    if (const auto* id = chunk.if_contains("id"); id_.empty() && id != nullptr && id->is_string()) {
      id_ = id->as_string();
    }
    if (!id_.empty()) {
      chunk["id"] = id_;  // one id across the stream, as OpenAI sends
    }
    if (!first_sent_ && !no_choices) {
      make_first(chunk);
    }
    out_ += api::sse_data(json::serialize(chunk));
  }

  // The first chunk with a choice: its delta says the role, as OpenAI's first chunk does, and it
  // carries the opening chunk's prompt filter results.
  void make_first(json::object& chunk) {
    auto* choice = chunk["choices"].as_array()[0].if_object();
    auto* delta = choice != nullptr ? choice->if_contains("delta") : nullptr;
    if (delta != nullptr && delta->is_object() && !delta->as_object().contains("role")) {
      delta->as_object()["role"] = "assistant";
    }
    if (!prompt_filter_results_.is_null()) {
      chunk["prompt_filter_results"] = std::move(prompt_filter_results_);
      prompt_filter_results_ = nullptr;
    }
    first_sent_ = true;
  }

  // One "data:" line per line of the event's data, so that a multi-line event arrives whole.
  void relay_as_is(std::string_view data) {
    for (size_t start = 0;;) {
      const size_t end = data.find('\n', start);
      out_ += "data: ";
      out_ += data.substr(start, end - start);
      out_ += '\n';
      if (end == std::string_view::npos) {
        break;
      }
      start = end + 1;
    }
    out_ += '\n';
  }

  net::SseParser parser_;
  std::string out_;
  std::string id_;
  json::value prompt_filter_results_;
  bool first_sent_ = false;
  bool done_ = false;
  bool strip_usage_;
  api::Usage usage_;
  std::optional<api::Usage> completion_usage_;
};

}  // namespace

std::unique_ptr<ResponseTranslator> make_azure_stream_normalizer(bool strip_usage) {
  return std::make_unique<AzureStream>(strip_usage);
}

AzureProvider::AzureProvider(AzureOptions options) : options_(std::move(options)) {}

net::OutboundRequest AzureProvider::post(std::string_view deployment, std::string_view operation,
                                         bool stream, std::string_view request_id) const {
  net::OutboundRequest request;
  request.method = "POST";
  request.path = options_.endpoint.base_path + "/openai/deployments/" +
                 boost::urls::encode(deployment, boost::urls::unreserved_chars) + "/" +
                 std::string(operation) + "?api-version=" +
                 boost::urls::encode(options_.api_version, boost::urls::unreserved_chars);
  request.headers = {{"content-type", "application/json"},
                     {"accept", stream ? "text/event-stream" : "application/json"},
                     {"user-agent", kUserAgent},
                     {"x-request-id", request_id}};
  if (!options_.api_key.empty()) {
    request.headers.push_back({"api-key", options_.api_key});
  }
  return request;
}

tl::expected<PreparedRequest, core::Error> AzureProvider::prepare_chat(const ChatCall& call) const {
  PreparedRequest prepared;
  auto& request = prepared.request;
  request = post(call.upstream_model, "chat/completions", call.info.stream, call.request_id);
  // The deployment in the URL picks the model; the body keeps the client's bytes, with the
  // deployment name spliced into `model` (and usage requested for streams) like every
  // OpenAI-dialect upstream.
  // A deployment named after a reasoning model (o3-mini, gpt-5-prod…) gets max_completion_tokens.
  api::upstream_chat_body(call.body, call.info, call.upstream_model, call.request_usage,
                          prepared.storage.emplace_back(), request.body,
                          takes_max_completion_tokens(call.upstream_model));
  return prepared;
}

tl::expected<PreparedRequest, core::Error> AzureProvider::prepare_completions(
    const ChatCall& call) const {
  PreparedRequest prepared;
  prepared.request = post(call.upstream_model, "completions", call.info.stream, call.request_id);
  api::upstream_chat_body(call.body, call.info, call.upstream_model, call.request_usage,
                          prepared.storage.emplace_back(), prepared.request.body);
  return prepared;
}

tl::expected<PreparedRequest, core::Error> AzureProvider::prepare_responses(
    const ChatCall& call) const {
  // Azure's Responses API is not under a deployment: {endpoint}/openai/v1/responses (the v1 API
  // takes no api-version), the deployment named as the body's model.
  PreparedRequest prepared;
  auto& request = prepared.request;
  request = post({}, {}, call.info.stream, call.request_id);
  request.path = options_.endpoint.base_path + "/openai/v1/responses";
  api::upstream_chat_body(call.body, call.info, call.upstream_model, false,
                          prepared.storage.emplace_back(), request.body);
  return prepared;
}

tl::expected<PreparedRequest, core::Error> AzureProvider::prepare_embeddings(
    const EmbeddingsCall& call) const {
  PreparedRequest prepared;
  prepared.request = post(call.upstream_model, "embeddings", false, call.request_id);
  api::upstream_embeddings_body(call.body, call.info, call.upstream_model,
                                prepared.storage.emplace_back(), prepared.request.body);
  return prepared;
}

std::unique_ptr<ResponseTranslator> AzureProvider::translator(const ChatCall& call,
                                                              const AnswerHints&) const {
  if (!call.info.stream) {
    return make_pass_through();
  }
  return make_azure_stream_normalizer(api::strips_usage_chunk(call.info, call.request_usage));
}

core::Error AzureProvider::map_error(int status, std::string_view body,
                                     std::string_view retry_after) const {
  return map_upstream_error(options_.name, status, body, retry_after);
}

net::OutboundRequest AzureProvider::models_request() const {
  return {};  // Azure's data-plane key cannot list deployments: AZURE_OPENAI_DEPLOYMENTS does.
}

tl::expected<std::vector<ModelEntry>, std::string> AzureProvider::parse_models(
    std::string_view /*body*/) const {
  return configured_models();
}

std::vector<ModelEntry> AzureProvider::configured_models() const {
  std::vector<ModelEntry> models;
  for (const auto& deployment : options_.deployments) {
    models.push_back({deployment, 0});
  }
  return models;
}

}  // namespace gw::providers
