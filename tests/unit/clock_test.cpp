// Server timestamps (base/clock.h): the fixed-width form, read back exactly.
#include "base/clock.h"

#include <gtest/gtest.h>

namespace converge {
namespace {

TEST(Clock, TimestampsAreReadBackInTheirOneForm) {
  EXPECT_TRUE(IsTimestamp(TimeNow()));
  EXPECT_TRUE(IsTimestamp("2024-02-29T23:59:59.999999Z"));
  for (const char* bad : {"", "2026-11-30", "2026-11-30T08:15:00Z", "2026-11-30 08:15:00.000000Z",
                          "2026-02-29T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z",
                          "2026-11-30T24:00:00.000000Z", "2026-11-30T08:60:00.000000Z",
                          "2026-11-30T08:15:60.000000Z", "2026-11-30T08:15:00.00000xZ"})
    EXPECT_FALSE(IsTimestamp(bad)) << bad;
  std::optional<int64_t> hour = SecondsUntil(TimeFromNow(std::chrono::hours(1)));
  ASSERT_TRUE(hour);
  EXPECT_LE(*hour, 3600);
  EXPECT_GT(*hour, 3600 - 120);
  EXPECT_LT(*SecondsUntil("2000-01-01T00:00:00.000000Z"), 0);
  EXPECT_FALSE(SecondsUntil("tomorrow"));
}

}  // namespace
}  // namespace converge
