// The client's request body on its way upstream: spliced (model renamed, usage asked for) or
// parsed into a tree for a translator.

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/api/embeddings_request.hpp"

namespace gw::api {
namespace {

constexpr std::string_view kAddUsage = R"(,"stream_options":{"include_usage":true})";
constexpr std::string_view kMaxCompletionTokens = R"("max_completion_tokens")";

}  // namespace

ChatRequest write_chat_request(boost::json::object chat) {
  ChatRequest out;
  ChatRequestInfo& info = out.info;
  const auto& model = chat.at("model");
  info.model = model.as_string();
  if (const auto* stream = chat.if_contains("stream"); stream != nullptr && stream->is_bool()) {
    info.stream = stream->as_bool();
  }
  if (const auto* options = chat.if_contains("stream_options"); options != nullptr) {
    info.has_stream_options = true;
    const auto* usage =
        options->is_object() ? options->as_object().if_contains("include_usage") : nullptr;
    info.include_usage = usage != nullptr && usage->is_bool() && usage->as_bool();
  }
  info.has_max_completion_tokens = chat.contains("max_completion_tokens");
  std::string& body = out.body;
  body = R"({"model":)";
  info.model_begin = body.size();
  body += boost::json::serialize(model);
  info.model_end = body.size();
  const auto* max_tokens = chat.if_contains("max_tokens");
  if (max_tokens != nullptr) {
    body += ',';
    info.max_tokens_keys = 1;
    info.max_tokens_key_begin = body.size();
    body += R"("max_tokens")";
    info.max_tokens_key_end = body.size();
    body += ':';
    body += boost::json::serialize(*max_tokens);
  }
  for (const auto& [key, value] : chat) {
    if (key == "model" || key == "max_tokens") {
      continue;
    }
    body += ',';
    body += json_quote(key);
    body += ':';
    body += boost::json::serialize(value);
  }
  body += '}';
  out.tree = std::move(chat);
  return out;
}

void upstream_embeddings_body(std::string_view body, const EmbeddingsRequestInfo& info,
                              std::string_view upstream_model, std::string& storage,
                              std::vector<std::string_view>& parts) {
  if (upstream_model == info.model) {
    parts.push_back(body);
    return;
  }
  storage = json_quote(upstream_model);
  parts.push_back(body.substr(0, info.model_begin));
  parts.push_back(storage);
  parts.push_back(body.substr(info.model_end));
}

void upstream_chat_body(std::string_view body, const ChatRequestInfo& info,
                        std::string_view upstream_model, bool request_usage, std::string& storage,
                        std::vector<std::string_view>& parts, bool max_completion_tokens) {
  const bool rename = upstream_model != info.model;
  const bool add_usage = adds_usage_request(info, request_usage);
  const bool rename_limit =
      max_completion_tokens && info.max_tokens_keys == 1 && !info.has_max_completion_tokens;
  if (add_usage && info.has_stream_options) {
    // Rare: stream_options without include_usage. Rewrite rather than splice inside it.
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (!ec && value.is_object()) {
      auto& object = value.as_object();
      if (rename) {
        object["model"] = upstream_model;
      }
      if (rename_limit) {
        object["max_completion_tokens"] = object["max_tokens"];
        object.erase("max_tokens");
      }
      auto& options = object["stream_options"];
      if (!options.is_object()) {
        options = boost::json::object{};
      }
      options.as_object()["include_usage"] = true;
      storage = boost::json::serialize(value);
      parts.push_back(storage);
      return;
    }
  }
  // The edits in body order: the model token replaced, the usage request inserted right after
  // it, the max_tokens key renamed (before or after the model).
  struct Edit {
    size_t begin;
    size_t end;
    std::string_view text;
  };
  std::array<Edit, 3> edits{};
  size_t count = 0;
  if (rename) {
    storage = json_quote(upstream_model);
    edits[count++] = {info.model_begin, info.model_end, storage};
  }
  if (add_usage && !info.has_stream_options) {
    edits[count++] = {info.model_end, info.model_end, kAddUsage};
  }
  if (rename_limit) {
    edits[count++] = {info.max_tokens_key_begin, info.max_tokens_key_end, kMaxCompletionTokens};
  }
  std::sort(edits.begin(), edits.begin() + static_cast<std::ptrdiff_t>(count),
            [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  parts.reserve(parts.size() + 2 * count + 1);
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    parts.push_back(body.substr(at, edits[i].begin - at));
    parts.push_back(edits[i].text);
    at = edits[i].end;
  }
  parts.push_back(body.substr(at));
}

tl::expected<boost::json::object, core::Error> parse_request_object(
    std::string_view body, boost::json::storage_ptr memory) {
  boost::json::parse_options options;
  options.max_depth = kMaxRequestDepth;
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec, std::move(memory), options);
  if (ec == boost::json::error::too_deep) {
    return tl::unexpected(core::Error(
        core::Errc::kInvalidRequest,
        "the request body nests deeper than " + std::to_string(kMaxRequestDepth) + " levels"));
  }
  if (ec || !value.is_object()) {
    return tl::unexpected(core::invalid_request("the request body is not a JSON object"));
  }
  return std::move(value.as_object());
}

}  // namespace gw::api
