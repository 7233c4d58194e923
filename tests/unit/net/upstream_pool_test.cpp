#include <gtest/gtest.h>

#include "gw/net/upstream_connection.hpp"

namespace gw::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(UpstreamPool, IdleLifetimeEndsBeforeTheServersKeepAliveTimeout) {
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=5"), seconds(4));
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=5, max=1000"), seconds(4));
  EXPECT_EQ(UpstreamPool::idle_lifetime("max=100, timeout=75"), seconds(60));  // at most a minute
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=1"), milliseconds(500));
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=2"), seconds(1));
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=0"), Clock::duration::zero());
  EXPECT_EQ(UpstreamPool::idle_lifetime("timeout=x"), Clock::duration::zero());
  // Unannounced: servers such as Node and uvicorn close after 5 s without saying so.
  EXPECT_EQ(UpstreamPool::idle_lifetime(""), seconds(4));
}

}  // namespace
}  // namespace gw::net
