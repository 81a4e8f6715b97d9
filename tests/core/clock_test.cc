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

}  // namespace
}  // namespace gatilho
