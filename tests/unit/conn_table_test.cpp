// Unit: the per-address connection cap, shedding, and the pool's backlog
// (net/http_server_conns.h, net/http_server_pool.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "net/http_server_conns.h"
#include "net/http_server_pool.h"

namespace converge {
namespace {

using State = ConnTable::State;

sockaddr_storage SockaddrOf(const char* text) {
  sockaddr_storage s{};
  if (std::strchr(text, ':')) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&s);
    a->sin6_family = AF_INET6;
    EXPECT_EQ(::inet_pton(AF_INET6, text, &a->sin6_addr), 1) << text;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&s);
    a->sin_family = AF_INET;
    EXPECT_EQ(::inet_pton(AF_INET, text, &a->sin_addr), 1) << text;
  }
  return s;
}

TEST(ConnTableTest, AddressKeys) {
  EXPECT_EQ(AddressKey(SockaddrOf("127.0.0.2")), "127.0.0.2");
  EXPECT_EQ(AddressKey(SockaddrOf("::ffff:10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(AddressKey(SockaddrOf("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressKey(SockaddrOf("2001:db8:1:2:bbbb::7")), "2001:db8:1:2::/64");
  EXPECT_NE(AddressKey(SockaddrOf("2001:db8:1:3::1")), "2001:db8:1:2::/64");
}

TEST(ConnTableTest, EachAddressHasItsCapAndGetsItsPlacesBack) {
  ConnTable table(2);
  auto a1 = table.Admit("a"), a2 = table.Admit("a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(table.Admit("a"), nullptr);
  auto b1 = table.Admit("b");
  EXPECT_TRUE(b1);
  EXPECT_EQ(table.open_from("a"), 2u);
  EXPECT_EQ(table.open(), 3u);
  a1.reset();
  EXPECT_EQ(table.open_from("a"), 1u);
  auto a3 = table.Admit("a");
  EXPECT_TRUE(a3);
  a2.reset(), a3.reset(), b1.reset();
  EXPECT_EQ(table.open(), 0u);
  EXPECT_EQ(table.open_from("a"), 0u);

  ConnTable unlimited(0);
  std::vector<std::unique_ptr<ConnTable::Slot>> many;
  for (int i = 0; i < 100; i++) many.push_back(unlimited.Admit("a"));
  for (auto& s : many) EXPECT_TRUE(s);
}

// Waits a millisecond so that the next state change is strictly later.
void Tick() {
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(ConnTableTest, ShedsPartialHeadsFirstThenIdleOnesNeverBusyOnes) {
  ConnTable table(0);
  auto old_head = table.Admit("a"), idle = table.Admit("b"), busy = table.Admit("c"),
       new_head = table.Admit("d");
  old_head->Enter(State::kHead);
  Tick();
  idle->Enter(State::kWaiting);
  Tick();
  busy->Enter(State::kBusy);
  Tick();
  new_head->Enter(State::kHead);

  table.SetBacklog(1);
  EXPECT_TRUE(old_head->shed());
  EXPECT_FALSE(new_head->shed() || idle->shed() || busy->shed());
  table.SetBacklog(3);
  EXPECT_TRUE(new_head->shed() && idle->shed());
  EXPECT_FALSE(busy->shed());
  table.SetBacklog(4);  // nothing more to shed
  EXPECT_FALSE(busy->shed());
  EXPECT_EQ(table.shedding(), 3u);

  // A connection asked to close that completes its head instead is served,
  // and nobody else is left to take its turn.
  new_head->Enter(State::kBusy);
  EXPECT_FALSE(new_head->shed());
  EXPECT_EQ(table.shedding(), 2u);
  // One that closes gives its place back.
  old_head.reset();
  EXPECT_EQ(table.shedding(), 1u);
  // A connection that goes idle while others wait is asked to close.
  busy->Enter(State::kWaiting);
  EXPECT_TRUE(busy->shed());
  table.SetBacklog(0);
  idle.reset(), busy.reset(), new_head.reset();
  EXPECT_EQ(table.shedding(), 0u);
  EXPECT_EQ(table.open(), 0u);
}

TEST(ConnTableTest, PoolReportsConnectionsWaitingForAThread) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<size_t> reports;
  {
    ElasticPool pool(1, 2, [&](size_t waiting) { reports.push_back(waiting); });
    auto block = [&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return release; });
    };
    pool.enqueue(block);
    pool.enqueue(block);  // a second thread starts: nobody waits yet
    pool.enqueue([] {});
    pool.enqueue([] {});
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
    pool.shutdown();
  }
  // The pool's lock is held around each report, so they arrive in order:
  // the third job is the first to wait, the fourth makes two, and at the end
  // nobody waits.
  ASSERT_GE(reports.size(), 3u);
  EXPECT_EQ(reports.front(), 1u);
  EXPECT_EQ(*std::max_element(reports.begin(), reports.end()), 2u);
  EXPECT_EQ(reports.back(), 0u);
}

}  // namespace
}  // namespace converge
