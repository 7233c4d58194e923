#include "gw/proxy/forwarding.hpp"

#include "gw/core/request_id.hpp"

namespace gw::proxy {

void add_forwarding_headers(const net::Request& request, net::HeaderViews& headers,
                            std::string& via) {
  for (std::string_view name : {"traceparent", "tracestate"}) {
    if (auto value = request.header(name); !value.empty()) {
      headers.push_back({name, value});
    }
  }
  via = core::via_with_this_hop(request.header("via"));
  headers.push_back({"via", via});
}

std::optional<core::Error> loop_error(const net::Request& request) {
  if (!core::has_passed_here(request.header("via"))) {
    return std::nullopt;
  }
  return core::Error{core::Errc::kLoopDetected,
                     "The request has already passed through this gateway (its Via header names "
                     "it): an upstream or worker URL points back at the gateway itself"};
}

void add_anthropic_headers(const net::Request& request, net::HeaderViews& headers) {
  for (const std::string_view name : {"anthropic-version", "anthropic-beta"}) {
    if (const std::string_view value = request.header(name); !value.empty()) {
      headers.push_back({name, value});
    }
  }
}

}  // namespace gw::proxy
