#pragma once

// What HTTP messages are made of, as plain data: headers and the request the gateway sends
// upstream. No I/O and no Asio: the provider adapters build requests with these alone.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gw::net {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// A header whose name and value live elsewhere (literals, or strings that outlive its use).
struct HeaderView {
  std::string_view name;
  std::string_view value;
};
using HeaderViews = std::vector<HeaderView>;

// An upstream request (UpstreamClient::send), as built by a provider adapter.
struct OutboundRequest {
  std::string_view method = "POST";
  std::string path;  // origin-form path and query, e.g. "/v1/chat/completions"
  // Besides host and content-length. Views: what they point to must outlive send().
  HeaderViews headers;
  // The body as parts written in order without copying; they must outlive send().
  std::vector<std::string_view> body;
};

bool iequals(std::string_view a, std::string_view b);

// Appends `value` in decimal: the per-request heads are built with this, not with fmt, whose
// format-string parsing cost about 2,000 instructions per proxied request.
void append_decimal(std::string& out, uint64_t value);

// A percent-encoded path segment decoded (as is when it is not valid percent-encoding).
std::string percent_decode(std::string_view text);

// A query parameter of an origin-form target, decoded; none when absent.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);

}  // namespace gw::net
