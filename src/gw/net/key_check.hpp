#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gw/net/http_types.hpp"

namespace gw::net {

// Constant-time check of "Authorization: Bearer <key>" against the configured keys.
bool bearer_key_matches(std::string_view authorization, const std::vector<std::string>& keys);

// A client's gateway key, as "Authorization: Bearer <key>" or "x-api-key: <key>" (what
// Anthropic's clients send), checked in constant time against the configured keys.
bool client_key_matches(const Request& request, const std::vector<std::string>& keys);
// Why a request's key was refused: none was sent, or it is not one of the keys.
std::string_view client_key_refusal(const Request& request);

// An operator's key (the cluster's internal key, the dashboard's admin key), as
// "Authorization: Bearer <key>" or in its own header (e.g. "X-Internal-API-Key: <key>").
bool service_key_matches(const Request& request, const std::string& key,
                         std::string_view key_header);

}  // namespace gw::net
