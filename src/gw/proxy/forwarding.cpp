#include "gw/proxy/forwarding.hpp"

#include "gw/core/request_id.hpp"
#include "gw/net/http_message.hpp"

namespace gw::proxy {

void add_forwarding_headers(const net::Request& request, net::HeaderViews& headers,
                            std::string& via) {
  for (std::string_view name : {"traceparent", "tracestate"}) {
    if (auto value = request.header(name); !value.empty()) {
      headers.push_back({name, value});
    }
  }
  const std::string_view incoming = request.header("via");
  if (incoming.empty()) {
    headers.push_back({"via", core::via_entry()});  // the usual case: no copy to make
    return;
  }
  via = core::via_with_this_hop(incoming);
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
  // Every line: a client may name its betas on lines of their own rather than comma-separated.
  for (const auto& [name, value] : request.headers) {
    for (const std::string_view wanted : {"anthropic-version", "anthropic-beta"}) {
      if (net::iequals(name, wanted) && !value.empty()) {
        headers.push_back({wanted, value});
      }
    }
  }
}

}  // namespace gw::proxy
