#include "core/clock.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(VirtualClock, MovesOnlyWhenAdvanced) {
  VirtualClock clock(1000);
  EXPECT_EQ(clock.WallMs(), 1000);
  EXPECT_EQ(clock.MonotonicMs(), 0);
  clock.Advance(250);
  EXPECT_EQ(clock.WallMs(), 1250);
  EXPECT_EQ(clock.MonotonicMs(), 250);
  clock.Advance(-5);
  EXPECT_EQ(clock.MonotonicMs(), 250);
}

TEST(VirtualClock, WallJumpLeavesMonotonicAlone) {
  VirtualClock clock(10'000);
  clock.JumpWall(-5'000);
  EXPECT_EQ(clock.WallMs(), 5'000);
  EXPECT_EQ(clock.MonotonicMs(), 0);
}

TEST(SystemClock, MonotonicNeverDecreases) {
  auto& clock = SystemClock::Instance();
  int64_t a = clock.MonotonicMs();
  int64_t b = clock.MonotonicMs();
  EXPECT_LE(a, b);
  EXPECT_GT(clock.WallMs(), 1'600'000'000'000);
}

TEST(FormatRfc3339, ShowsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'007), "2000-02-29T00:00:00.007Z") << "leap day";
  EXPECT_EQ(FormatRfc3339(-5), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace gatilho
