#include "gw/proxy/dashboard.hpp"

#include <gtest/gtest.h>

namespace gw::proxy {
namespace {

net::Request request_from(std::string address,
                          std::vector<std::pair<std::string_view, std::string_view>> headers = {}) {
  net::Request request;
  request.method = "GET";
  request.target = "/ui/api/summary";
  request.remote_address = std::move(address);
  request.headers = std::move(headers);
  return request;
}

std::optional<core::Errc> refusal_of(const Dashboard& dashboard, const net::Request& request,
                                     bool api) {
  auto refused = dashboard.refusal(request, api);
  return refused ? std::optional(refused->errc) : std::nullopt;
}

TEST(DashboardAccess, WithoutAnAdminKeyOnlyLoopbackClientsMayOpenIt) {
  metrics::Metrics metrics;
  const Dashboard dashboard({"server", {}, {}, {}}, "", metrics);
  EXPECT_FALSE(refusal_of(dashboard, request_from("127.0.0.1"), true));
  EXPECT_FALSE(refusal_of(dashboard, request_from("::1"), false));
  EXPECT_EQ(refusal_of(dashboard, request_from("10.1.2.3"), true), core::Errc::kForbidden);
  EXPECT_EQ(refusal_of(dashboard, request_from("10.1.2.3"), false), core::Errc::kForbidden);
  // A key sent anyway does not open it: there is none to match.
  EXPECT_EQ(refusal_of(dashboard, request_from("10.1.2.3", {{"authorization", "Bearer x"}}), true),
            core::Errc::kForbidden);
}

TEST(DashboardAccess, WithAnAdminKeyItsApiNeedsTheKeyFromAnyClient) {
  metrics::Metrics metrics;
  const Dashboard dashboard({"controller", {}, {}, {}}, "s3cret", metrics);
  EXPECT_EQ(refusal_of(dashboard, request_from("127.0.0.1"), true), core::Errc::kUnauthorized);
  EXPECT_EQ(
      refusal_of(dashboard, request_from("10.1.2.3", {{"authorization", "Bearer wrong"}}), true),
      core::Errc::kUnauthorized);
  EXPECT_FALSE(
      refusal_of(dashboard, request_from("10.1.2.3", {{"authorization", "Bearer s3cret"}}), true));
  EXPECT_FALSE(
      refusal_of(dashboard, request_from("10.1.2.3", {{"x-admin-api-key", "s3cret"}}), true));
  // The page itself holds no data: it asks for the key.
  EXPECT_FALSE(refusal_of(dashboard, request_from("10.1.2.3"), false));
}

TEST(DashboardAccess, ServesOnlyItsOwnPaths) {
  EXPECT_TRUE(Dashboard::handles("/ui"));
  EXPECT_TRUE(Dashboard::handles("/ui/api/summary"));
  EXPECT_FALSE(Dashboard::handles("/uix"));
  EXPECT_FALSE(Dashboard::handles("/v1/ui"));
}

TEST(DashboardPage, IsEmbeddedWhole) {
  const std::string_view page = dashboard_page();
  EXPECT_TRUE(page.starts_with("<!doctype html>") || page.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(page.find("</html>"), std::string_view::npos);
  // Nothing is loaded from elsewhere: the page works offline.
  for (std::string_view loads : {"src=\"http", "href=\"http", "src=\"//", "@import", "url(http"}) {
    EXPECT_EQ(page.find(loads), std::string_view::npos) << loads;
  }
}

}  // namespace
}  // namespace gw::proxy
