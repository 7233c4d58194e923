#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/providers/provider.hpp"

namespace gw::providers {

// A provider's model list in the shape OpenAI and Anthropic both answer: {"data": [{"id": ...},
// ...]}; entries without a string id are skipped. `created` reads an entry's creation time
// (0 when unknown): each provider states it its own way.
tl::expected<std::vector<ModelEntry>, std::string> models_from_data_list(
    std::string_view body, int64_t (*created)(const boost::json::object& entry));

}  // namespace gw::providers
