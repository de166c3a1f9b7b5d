// AuthThrottle on a fake clock: blocks after the limit, doubles, caps, forgets.
#include <gtest/gtest.h>

#include "server/rate_limit.h"

namespace converge {
namespace {

using std::chrono::seconds;

AuthThrottle::Settings Small() {
  AuthThrottle::Settings s;
  s.limit = 3;
  s.window = seconds(10);
  s.block = seconds(5);
  s.max_block = seconds(12);
  return s;
}

TEST(AuthThrottle, BlocksAfterTheLimitAndDoublesUpToTheCap) {
  AuthThrottle t(Small());
  auto now = AuthThrottle::Clock::time_point() + seconds(1000);
  EXPECT_FALSE(t.Fail("a", now).tripped);
  EXPECT_FALSE(t.Fail("a", now).tripped);
  EXPECT_EQ(t.RetryAfter("a", now), 0);
  AuthThrottle::Trip trip = t.Fail("a", now);
  EXPECT_TRUE(trip.tripped);
  EXPECT_EQ(trip.failures, 3);
  EXPECT_EQ(trip.block, seconds(5));
  EXPECT_EQ(t.RetryAfter("a", now), 5);
  EXPECT_EQ(t.RetryAfter("b", now), 0) << "other addresses are unaffected";
  now += seconds(5);
  EXPECT_EQ(t.RetryAfter("a", now), 0);
  for (int i = 0; i < 2; i++) EXPECT_FALSE(t.Fail("a", now).tripped);
  EXPECT_EQ(t.Fail("a", now).block, seconds(10));
  now += seconds(10);
  for (int i = 0; i < 2; i++) t.Fail("a", now);
  EXPECT_EQ(t.Fail("a", now).block, seconds(12)) << "capped at max_block";
}

TEST(AuthThrottle, FailuresOutsideTheWindowAndSuccessesStartOver) {
  AuthThrottle t(Small());
  auto now = AuthThrottle::Clock::time_point() + seconds(1000);
  t.Fail("a", now);
  t.Fail("a", now);
  now += seconds(11);
  EXPECT_FALSE(t.Fail("a", now).tripped) << "the earlier two fell out of the window";
  EXPECT_FALSE(t.Fail("a", now).tripped);
  t.Succeed("a");
  EXPECT_FALSE(t.Fail("a", now).tripped);
  EXPECT_FALSE(t.Fail("a", now).tripped);
  EXPECT_TRUE(t.Fail("a", now).tripped);
}

TEST(AuthThrottle, AQuietSpellEndsTheEscalation) {
  AuthThrottle t(Small());
  auto now = AuthThrottle::Clock::time_point() + seconds(1000);
  for (int i = 0; i < 3; i++) t.Fail("a", now);  // blocked 5 s
  now += seconds(5 + 13);                        // longer than max_block after it
  for (int i = 0; i < 2; i++) t.Fail("a", now);
  EXPECT_EQ(t.Fail("a", now).block, seconds(5));
}

}  // namespace
}  // namespace converge
