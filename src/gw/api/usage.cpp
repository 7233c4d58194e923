// Usage accounting on the OpenAI wire format: asking upstreams for it, and reading it back.

#include <simdjson.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "gw/api/chat_request.hpp"

namespace gw::api {
namespace {

constexpr std::string_view kAddUsage = R"(,"stream_options":{"include_usage":true})";

}  // namespace

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

JsonObjectCheck check_json_object(std::string& text) {
  // The DOM parser validates the whole text (the on-demand one checks only what it visits). It
  // reads SIMDJSON_PADDING bytes past the end: given the string's own spare capacity it parses in
  // place, where it would otherwise allocate and fill a padded copy on every call.
  thread_local simdjson::dom::parser parser;
  if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  JsonObjectCheck check;
  simdjson::dom::object root;
  if (parser.parse(text.data(), text.size(), false).get(root) != simdjson::SUCCESS) {
    return check;
  }
  check.is_object = true;
  // The usage in the same pass, as read_usage would read it (the last "usage" key wins).
  simdjson::dom::object usage;
  for (auto [key, value] : root) {
    if (key == "usage") {
      check.usage.reset();
      if (value.get(usage) == simdjson::SUCCESS) {
        Usage counts;
        for (auto [name, count] : usage) {
          int64_t number = 0;
          if ((name == "prompt_tokens" || name == "completion_tokens") &&
              count.get(number) == simdjson::SUCCESS) {
            (name == "prompt_tokens" ? counts.prompt_tokens : counts.completion_tokens) =
                sane_token_count(number);
          }
        }
        check.usage = counts;
      }
    }
  }
  return check;
}

std::optional<Usage> read_usage(std::string_view json) {
  // A completion carries its usage last: parse only from the last "usage" key on, not the whole
  // body (an unescaped "usage": can only be a key; strings escape their quotes).
  std::string_view from = json;
  if (const size_t key = json.rfind(R"("usage":)"); key != std::string_view::npos) {
    from = json.substr(key + 8);
  } else if (json.find(R"("usage")") == std::string_view::npos) {
    return std::nullopt;
  }
  const simdjson::padded_string padded(from);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  simdjson::ondemand::object usage;
  const bool whole_document = from.size() == json.size();
  const auto found = whole_document ? doc.find_field_unordered("usage").get_object().get(usage)
                                    : doc.get_object().get(usage);
  if (found != simdjson::SUCCESS) {
    return std::nullopt;
  }
  Usage counts;
  for (auto field : usage) {
    std::string_view key;
    int64_t number = 0;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    if (key != "prompt_tokens" && key != "completion_tokens") {
      continue;
    }
    if (field.value().get_int64().get(number) != simdjson::SUCCESS) {
      continue;
    }
    (key == "prompt_tokens" ? counts.prompt_tokens : counts.completion_tokens) = number;
    if (counts.prompt_tokens >= 0 && counts.completion_tokens >= 0) {
      break;  // what follows the object is never looked at
    }
  }
  return counts;
}

}  // namespace gw::api
