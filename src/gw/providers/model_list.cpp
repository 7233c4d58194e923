#include "gw/providers/model_list.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

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

}  // namespace gw::providers
