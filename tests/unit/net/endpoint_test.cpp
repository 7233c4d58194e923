#include "gw/net/endpoint.hpp"

#include <gtest/gtest.h>

namespace gw::net {
namespace {

TEST(Endpoint, ParsesHttpsWithPath) {
  auto e = Endpoint::parse("https://api.openai.com/v1/");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "api.openai.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->base_path, "/v1");
  EXPECT_EQ(e->host_header, "api.openai.com");
  EXPECT_EQ(e->origin(), "https://api.openai.com:443");
}

TEST(Endpoint, ParsesHttpWithPortAndIpv6) {
  auto e = Endpoint::parse("http://127.0.0.1:11434");
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->port, 11434);
  EXPECT_EQ(e->base_path, "");
  EXPECT_EQ(e->host_header, "127.0.0.1:11434");
  auto v6 = Endpoint::parse("http://[::1]:8080/v1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:8080");
}

TEST(Endpoint, CredentialsBecomeBasicAuthorization) {
  auto e = Endpoint::parse("http://user:pass@proxy:3128");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->authorization, "Basic dXNlcjpwYXNz");
}

TEST(Endpoint, RejectsBadUrls) {
  for (const auto* url : {"", "nope", "ftp://h/", "http://h:0", "http://h:70000", "http://h:99999",
                          "http://localhost:8080v1", "http://h:80x/v1"}) {
    EXPECT_FALSE(Endpoint::parse(url).has_value()) << url;
  }
}

TEST(ProxySettings, NoProxyMatchingLikeCurl) {
  ProxySettings proxies;
  proxies.https_proxy = *Endpoint::parse("http://proxy:3128");
  proxies.no_proxy = {".internal.example", "localhost", "10.1.2.3", "api.local:8443"};
  auto target = [](const char* url) { return *Endpoint::parse(url); };
  EXPECT_NE(proxies.proxy_for(target("https://api.openai.com/v1")), nullptr);
  EXPECT_EQ(proxies.proxy_for(target("https://svc.internal.example")), nullptr);
  EXPECT_EQ(proxies.proxy_for(target("https://internal.example")), nullptr);
  EXPECT_NE(proxies.proxy_for(target("https://notinternal.example")), nullptr);
  EXPECT_EQ(proxies.proxy_for(target("https://localhost")), nullptr);
  EXPECT_EQ(proxies.proxy_for(target("https://10.1.2.3")), nullptr);
  EXPECT_EQ(proxies.proxy_for(target("https://api.local:8443")), nullptr);
  EXPECT_NE(proxies.proxy_for(target("https://api.local")), nullptr);
  // No HTTP proxy configured: plain http goes direct.
  EXPECT_EQ(proxies.proxy_for(target("http://api.openai.com")), nullptr);
  proxies.no_proxy = {"*"};
  EXPECT_EQ(proxies.proxy_for(target("https://api.openai.com")), nullptr);
}

}  // namespace
}  // namespace gw::net

namespace gw::net {
namespace {

TEST(LoopbackAddress, OnlyLoopbackForms) {
  for (const char* address : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_address(address)) << address;
  }
  for (const char* address :
       {"10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "", "1127.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(is_loopback_address(address)) << address;
  }
}

}  // namespace
}  // namespace gw::net

namespace gw::net {
namespace {

TEST(IpLiteral, AddressesButNotNames) {
  for (const char* host : {"127.0.0.1", "10.1.2.3", "::1", "fd00::5", "::ffff:10.0.0.1"}) {
    EXPECT_TRUE(is_ip_literal(host)) << host;
  }
  for (const char* host : {"localhost", "ctl.default.svc", "[::1]", "", "1.2.3", "10.0.0.1:80"}) {
    EXPECT_FALSE(is_ip_literal(host)) << host;
  }
}

TEST(Endpoint, PinnedToAnAddressKeepsItsNameAndPoolsApart) {
  const auto named = Endpoint::parse("https://ctl.example:8443/base").value();
  const Endpoint first = named.at_address("10.0.0.1");
  const Endpoint second = named.at_address("10.0.0.2");
  EXPECT_EQ(first.address, "10.0.0.1");
  EXPECT_EQ(first.host, "ctl.example");  // TLS and Host: still the name
  EXPECT_EQ(first.host_header, "ctl.example:8443");
  EXPECT_EQ(first.base_path, "/base");
  EXPECT_TRUE(first.tls);
  EXPECT_NE(first.origin(), named.origin());
  EXPECT_NE(first.origin(), second.origin());
  EXPECT_TRUE(named.address.empty());
}

}  // namespace
}  // namespace gw::net
