#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "gw/core/error.hpp"
#include "gw/providers/provider.hpp"

namespace gw::providers {

// A provider's model list in the shape OpenAI and Anthropic both answer: {"data": [{"id": ...},
// ...]}; entries without a string id are skipped. `created` reads an entry's creation time
// (0 when unknown): each provider states it its own way.
tl::expected<std::vector<ModelEntry>, std::string> models_from_data_list(
    std::string_view body, int64_t (*created)(const boost::json::object& entry));

// GET /v1/models for Anthropic's clients (a request that carries anthropic-version), in
// Anthropic's list shape: {"data":[...],"has_more","first_id","last_id"}, a page of `limit`
// models (1 to 1000, default 20) after `after_id` or before `before_id`, the request's query
// parameters (`query`: what follows the '?'). A bad limit is a 400 naming it.
tl::expected<std::string, core::Error> anthropic_model_page(const std::vector<ModelEntry>& models,
                                                            std::string_view query);
// One model in Anthropic's shape: {"type":"model","id","display_name","created_at"} (RFC 3339).
std::string anthropic_model_json(const ModelEntry& model);

}  // namespace gw::providers
