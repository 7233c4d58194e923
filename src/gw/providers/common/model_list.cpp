#include "gw/providers/common/model_list.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <ctime>

#include "gw/core/logging.hpp"
#include "gw/net/http_message.hpp"

namespace gw::providers {

tl::expected<std::vector<ModelEntry>, std::string> models_from_data_list(
    std::string_view body, int64_t (*created)(const boost::json::object& entry)) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(body, ec);
  if (ec || !json.is_object()) {
    return tl::unexpected(std::string("the model list is not a JSON object"));
  }
  const auto* data = json.get_object().if_contains("data");
  if (data == nullptr || !data->is_array()) {
    return tl::unexpected(std::string("the model list has no 'data' array"));
  }
  std::vector<ModelEntry> models;
  for (const auto& item : data->get_array()) {
    const auto* entry = item.if_object();
    const auto* id = entry != nullptr ? entry->if_contains("id") : nullptr;
    if (id == nullptr || !id->is_string()) {
      continue;
    }
    models.push_back({std::string(id->get_string()), created(*entry)});
  }
  return models;
}

namespace {

// A query parameter's decoded value (empty when absent).
std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) == key) {
      return equals == std::string_view::npos ? std::string()
                                              : net::percent_decode(pair.substr(equals + 1));
    }
  }
  return {};
}

void append_anthropic_model(std::string& out, const ModelEntry& model) {
  out += R"({"type":"model","id":")";
  core::append_json_escaped(out, model.id);
  out += R"(","display_name":")";
  core::append_json_escaped(out, model.id);
  std::tm utc{};
  // Seconds, as OpenAI's lists give them; a list in milliseconds is read as such.
  constexpr int64_t kMillisecondsFrom = 100'000'000'000;  // year 5138 in seconds
  const int64_t seconds = model.created >= kMillisecondsFrom ? model.created / 1000 : model.created;
  const auto created = static_cast<std::time_t>(std::max<int64_t>(seconds, 0));
  gmtime_r(&created, &utc);
  fmt::format_to(std::back_inserter(out), R"(","created_at":"{:%Y-%m-%dT%H:%M:%SZ}"}})", utc);
}

}  // namespace

tl::expected<std::string, core::Error> anthropic_model_page(const std::vector<ModelEntry>& models,
                                                            std::string_view query) {
  size_t limit = 20;
  if (const std::string text = query_value(query, "limit"); !text.empty()) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > 1000) {
      return tl::unexpected(core::Error(core::Errc::kInvalidRequest,
                                        "limit: must be an integer from 1 to 1000", "limit"));
    }
  }
  const auto position = [&](const std::string& id) {
    return static_cast<size_t>(
        std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.id == id; }) -
        models.begin());
  };
  // Anthropic pages forward with after_id and backward with before_id (after_id wins).
  const std::string after = query_value(query, "after_id");
  const std::string before = after.empty() ? query_value(query, "before_id") : std::string();
  size_t begin = 0;
  size_t end = models.size();
  // An id not listed (any more): an empty page either way.
  if (!after.empty()) {
    const size_t at = position(after);
    begin = at < models.size() ? at + 1 : models.size();
  } else if (!before.empty()) {
    const size_t at = position(before);
    end = at < models.size() ? at : 0;
    begin = end > limit ? end - limit : 0;
  }
  end = std::min(end, begin + limit);
  std::string out = R"({"data":[)";
  for (size_t i = begin; i < end; ++i) {
    out += i == begin ? "" : ",";
    append_anthropic_model(out, models[i]);
  }
  const bool more = before.empty() ? end < models.size() : begin > 0;
  out += R"(],"has_more":)";
  out += more ? "true" : "false";
  if (begin == end) {
    out += R"(,"first_id":null,"last_id":null)";
  } else {
    out += R"(,"first_id":")";
    core::append_json_escaped(out, models[begin].id);
    out += R"(","last_id":")";
    core::append_json_escaped(out, models[end - 1].id);
    out += '"';
  }
  out += '}';
  return out;
}

std::string anthropic_model_json(const ModelEntry& model) {
  std::string out;
  append_anthropic_model(out, model);
  return out;
}

}  // namespace gw::providers
