// The client's request body on its way upstream: spliced (model renamed, usage asked for) or
// parsed into a tree for a translator.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/chat_request.hpp"
#include "gw/api/embeddings_request.hpp"

namespace gw::api {
namespace {

constexpr std::string_view kAddUsage = R"(,"stream_options":{"include_usage":true})";

}  // namespace

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
                        std::vector<std::string_view>& parts) {
  const bool rename = upstream_model != info.model;
  const bool add_usage = adds_usage_request(info, request_usage);
  if (add_usage && info.has_stream_options) {
    // Rare: stream_options without include_usage. Rewrite rather than splice inside it.
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (!ec && value.is_object()) {
      auto& object = value.as_object();
      if (rename) {
        object["model"] = upstream_model;
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
  if (!rename && !add_usage) {
    parts.push_back(body);
    return;
  }
  parts.reserve(parts.size() + 4);
  // The new model token and the usage request go right after the model's string token.
  if (rename) {
    storage = json_quote(upstream_model);
  }
  parts.push_back(body.substr(0, rename ? info.model_begin : info.model_end));
  if (rename) {
    parts.push_back(storage);
  }
  if (add_usage && !info.has_stream_options) {
    parts.push_back(kAddUsage);
  }
  parts.push_back(body.substr(info.model_end));
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
    return tl::unexpected(
        core::Error(core::Errc::kInvalidRequest, "the request body is not a JSON object"));
  }
  return std::move(value.as_object());
}

}  // namespace gw::api
