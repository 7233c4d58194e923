#pragma once

#include <string>
#include <string_view>

namespace gw::core {

// A new random request id (32 hex digits). Cheap: a thread-local generator, no locks.
std::string new_request_id();

// Whether a client-supplied x-request-id is safe to reuse and log (1-128 visible ASCII chars).
bool is_acceptable_request_id(std::string_view id);

}  // namespace gw::core
