#include "gw/app/worker/controller_targets.hpp"

#include <gtest/gtest.h>

namespace gw::app {
namespace {

using Addresses = std::vector<std::string>;

TEST(ControllerAddresses, EachIpv4AddressIsAController) {
  // A headless Service: one address per controller pod, in any order, repeated per socket type.
  EXPECT_EQ(controller_addresses({"10.0.0.7", "10.0.0.3", "10.0.0.7", "10.0.0.5"}),
            (Addresses{"10.0.0.3", "10.0.0.5", "10.0.0.7"}));
}

TEST(ControllerAddresses, BothFamiliesCountOnce) {
  // localhost, or a dual-stack Service: the same servers under both families.
  EXPECT_EQ(controller_addresses({"::1", "127.0.0.1"}), (Addresses{"127.0.0.1"}));
  EXPECT_EQ(controller_addresses({"fd00::2", "10.0.0.2", "fd00::1", "10.0.0.1"}),
            (Addresses{"10.0.0.1", "10.0.0.2"}));
}

TEST(ControllerAddresses, Ipv6OnlyAndNothing) {
  EXPECT_EQ(controller_addresses({"fd00::2", "fd00::1"}), (Addresses{"fd00::1", "fd00::2"}));
  EXPECT_TRUE(controller_addresses({}).empty());
}

TEST(AddressesToFollow, SeveralAddressesEachOneNameOtherwise) {
  EXPECT_EQ(addresses_to_follow(Addresses{"10.0.0.1", "10.0.0.2"}, {}),
            (Addresses{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(addresses_to_follow(Addresses{"10.0.0.1"}, {}), (Addresses{""}));
  EXPECT_EQ(addresses_to_follow(Addresses{}, {}), (Addresses{""}));
  // From several to one: the name again.
  EXPECT_EQ(addresses_to_follow(Addresses{"10.0.0.1"}, {"10.0.0.1", "10.0.0.2"}), (Addresses{""}));
}

TEST(AddressesToFollow, AFailedLookupChangesNothing) {
  EXPECT_EQ(addresses_to_follow(std::nullopt, {"10.0.0.1", "10.0.0.2"}),
            (Addresses{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(addresses_to_follow(std::nullopt, {""}), (Addresses{""}));
  EXPECT_EQ(addresses_to_follow(std::nullopt, {}), (Addresses{""}));  // the URL, as before
}

}  // namespace
}  // namespace gw::app
