#include "gw/core/published.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace gw::core {
namespace {

TEST(Published, ReadersOnEveryThreadSeeEachPublicationAndKeepWhatTheyCopied) {
  Published<int> value(std::make_shared<const int>(0));
  constexpr int kPublications = 2000;
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done.load()) {
        const std::shared_ptr<const int> kept = value.read();  // a copy, as a request keeps
        ASSERT_GE(*kept, last) << "a thread never reads an older value after a newer one";
        last = *kept;
      }
      EXPECT_EQ(*value.read(), kPublications) << "the last publication is read";
    });
  }
  for (int i = 1; i <= kPublications; ++i) {
    value.publish(std::make_shared<const int>(i));
  }
  done.store(true);
  for (auto& reader : readers) {
    reader.join();
  }
}

TEST(Published, TwoInstancesReadOnOneThreadEachGiveTheirOwn) {
  // The per-thread cache must not hand one instance's value to another, even one built where a
  // destroyed one was.
  for (int round = 0; round < 3; ++round) {
    auto value = std::make_unique<Published<int>>(std::make_shared<const int>(round));
    EXPECT_EQ(*value->read(), round);
  }
  Published<int> a(std::make_shared<const int>(1));
  Published<int> b(std::make_shared<const int>(2));
  EXPECT_EQ(*a.read(), 1);
  EXPECT_EQ(*b.read(), 2);
  EXPECT_EQ(*a.read(), 1);
  a.publish(std::make_shared<const int>(3));
  EXPECT_EQ(*a.read(), 3);
  EXPECT_EQ(*b.read(), 2);
  Published<int> empty;
  EXPECT_EQ(empty.read(), nullptr);
}

}  // namespace
}  // namespace gw::core
