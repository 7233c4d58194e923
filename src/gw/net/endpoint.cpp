#include "gw/net/endpoint.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <cctype>

#include "gw/core/parse.hpp"

namespace gw::net {
namespace {

std::string base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> parsed{};
  return inet_pton(AF_INET, host.c_str(), parsed.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), parsed.data()) == 1;
}

Endpoint Endpoint::at_address(std::string ip) const {
  Endpoint pinned = *this;
  pinned.origin_ = fmt::format("{}@{}", origin_, ip);
  pinned.address = std::move(ip);
  return pinned;
}

tl::expected<Endpoint, std::string> Endpoint::parse(std::string_view text) {
  auto url = boost::urls::parse_uri(text);
  if (!url) {
    return tl::unexpected(fmt::format("'{}' is not a valid URL", text));
  }
  Endpoint e;
  auto scheme = core::ascii_lower(url->scheme());
  if (scheme != "http" && scheme != "https") {
    return tl::unexpected(fmt::format("'{}': the scheme must be http or https", text));
  }
  e.tls = scheme == "https";
  e.host = std::string(url->host_name().empty() ? url->encoded_host_address() : url->host_name());
  if (url->host_type() == boost::urls::host_type::ipv6) {
    e.host = std::string(url->host_ipv6_address().to_string());
  }
  if (e.host.empty()) {
    return tl::unexpected(fmt::format("'{}' has no host", text));
  }
  if (url->has_port()) {
    auto port = core::parse_port_text(url->port());
    if (!port) {
      return tl::unexpected(fmt::format("'{}' has an invalid port", text));
    }
    e.port = *port;
  } else {
    e.port = e.tls ? 443 : 80;
  }
  e.base_path = std::string(url->encoded_path());
  if (!e.base_path.empty() && e.base_path.front() != '/') {
    // Boost.URL 1.81 reads "http://host:8080v1" as port 8080 and path "v1" (boostorg/url#680);
    // after an authority a path must start with '/'.
    return tl::unexpected(fmt::format("'{}' has an invalid port or path", text));
  }
  while (!e.base_path.empty() && e.base_path.back() == '/') {
    e.base_path.pop_back();
  }
  e.host_header = std::string(url->encoded_host_and_port());
  if (url->has_userinfo()) {
    e.authorization = "Basic " + base64(std::string(url->userinfo()));
  }
  e.origin_ = fmt::format("{}://{}:{}", e.tls ? "https" : "http", e.host, e.port);
  return e;
}

bool ProxySettings::bypass(const Endpoint& target) const {
  const std::string host = core::ascii_lower(target.host);
  for (const auto& raw : no_proxy) {
    std::string entry = core::ascii_lower(raw);
    if (entry == "*") {
      return true;
    }
    // "host:port" limits the entry to one port (not for bare IPv6 literals).
    if (auto colon = entry.rfind(':');
        colon != std::string::npos && entry.find(':') == colon && entry.front() != '[') {
      if (entry.substr(colon + 1) != std::to_string(target.port)) {
        continue;
      }
      entry.resize(colon);
    }
    if (!entry.empty() && entry.front() == '[' && entry.back() == ']') {
      entry = entry.substr(1, entry.size() - 2);
    }
    if (!entry.empty() && entry.front() == '.') {
      entry.erase(0, 1);
    }
    if (entry.empty()) {
      continue;
    }
    if (host == entry || (host.size() > entry.size() && host.ends_with(entry) &&
                          host[host.size() - entry.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

const Endpoint* ProxySettings::proxy_for(const Endpoint& target) const {
  const auto& proxy = target.tls ? https_proxy : http_proxy;
  if (!proxy || bypass(target)) {
    return nullptr;
  }
  return &*proxy;
}

}  // namespace gw::net

namespace gw::net {

bool is_loopback_address(std::string_view address) {
  // The session renders addresses with Asio's to_string: canonical forms only.
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

}  // namespace gw::net
