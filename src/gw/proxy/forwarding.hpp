#pragma once

#include <optional>
#include <string>

#include "gw/core/error.hpp"
#include "gw/net/http_types.hpp"

namespace gw::proxy {

// What passes on upstream from the client's request: W3C traceparent/tracestate (views into it),
// and its Via plus this process's entry (built in `via` when the client sent one; `via` must
// outlive the send).
void add_forwarding_headers(const net::Request& request, net::HeaderViews& headers,
                            std::string& via);

// What an Anthropic client's request is written for, passed on to Anthropic (and by the
// controller to its workers): its anthropic-version and anthropic-beta headers (views into it).
void add_anthropic_headers(const net::Request& request, net::HeaderViews& headers);

// The 508 for a request that has already passed through this process (see core::via_entry).
std::optional<core::Error> loop_error(const net::Request& request);

}  // namespace gw::proxy
