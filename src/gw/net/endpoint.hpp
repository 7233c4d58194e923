#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace gw::net {

// Whether `address` (as the session reports a client's, e.g. "127.0.0.1", "::1",
// "::ffff:127.0.0.1") is a loopback address.
bool is_loopback_address(std::string_view address);

// Whether `host` is an IPv4 or IPv6 address (without brackets) rather than a name.
bool is_ip_literal(const std::string& host);

// Where an upstream lives, parsed once from a base URL such as "https://api.openai.com/v1".
struct Endpoint {
  bool tls = false;
  std::string host;  // name or IP literal, without IPv6 brackets
  uint16_t port = 0;
  std::string base_path;      // without a trailing '/', e.g. "/v1"; may be empty
  std::string host_header;    // "host" or "host:port" as sent in Host:
  std::string authorization;  // for proxies given as http://user:pass@host: "Basic ..."
  // When set (an IP literal), connections go there instead of to what `host` resolves to: one of
  // the addresses of a name that stands for several servers. Host and TLS still name `host`.
  std::string address;

  static tl::expected<Endpoint, std::string> parse(std::string_view url);
  // This endpoint at one of its host's addresses (pooled apart from the others).
  Endpoint at_address(std::string ip) const;
  // The scheme, host and port: what a pooled connection can be reused for. Computed once.
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
};

// HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case), read the way curl reads them.
struct ProxySettings {
  std::optional<Endpoint> https_proxy;
  std::optional<Endpoint> http_proxy;
  std::vector<std::string> no_proxy;  // "*", host names (suffix match), IPs, host:port

  // The proxy to use for a target, if any.
  const Endpoint* proxy_for(const Endpoint& target) const;
  bool bypass(const Endpoint& target) const;
};

}  // namespace gw::net
