#pragma once

#include <string>
#include <string_view>

namespace gw::core {

// A new random request id (32 hex digits). Cheap: a thread-local generator, no locks.
std::string new_request_id();

// Whether a client-supplied x-request-id is safe to reuse and log (1-128 visible ASCII chars).
bool is_acceptable_request_id(std::string_view id);

// Loop detection (RFC 9110 section 7.6.3, Via): this process's entry, "1.1 llm-gateway-<16 hex>",
// random per process. Every request the gateway sends upstream carries the client's Via plus this
// entry; a request that arrives already carrying it has gone round in a circle (a worker
// registered with its controller's own URL, a provider pointing at the gateway itself).
std::string_view via_entry();
bool has_passed_here(std::string_view via);
// `incoming` (the client's Via, possibly empty) followed by this process's entry.
std::string via_with_this_hop(std::string_view incoming);

}  // namespace gw::core
