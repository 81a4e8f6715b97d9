#include "core/wall_step.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace gatilho {
namespace {

constexpr int64_t kDay = 24 * 3600 * 1000;

TEST(WallStepWatchTest, TimePassingIsNoStep) {
  VirtualClock clock;
  WallStepWatch watch(clock);
  clock.Advance(kDay);
  EXPECT_EQ(watch.Take(), std::nullopt);
}

TEST(WallStepWatchTest, ReportsAStepBackOnce) {
  VirtualClock clock;
  WallStepWatch watch(clock);
  clock.Advance(1000);
  clock.JumpWall(-kDay);
  EXPECT_EQ(watch.Take(), -kDay);
  EXPECT_EQ(watch.Take(), std::nullopt);
}

TEST(WallStepWatchTest, ReportsAStepForward) {
  VirtualClock clock;
  WallStepWatch watch(clock);
  clock.JumpWall(kDay);
  EXPECT_EQ(watch.Take(), kDay);
}

TEST(WallStepWatchTest, SmallDriftsNeverAddUpToAStep) {
  VirtualClock clock;
  WallStepWatch watch(clock);
  // NTP slewing: a second at a time, read between each, is never reported.
  for (int i = 0; i < 100; ++i) {
    clock.JumpWall(WallStepWatch::kMinStepMs / 5);
    EXPECT_EQ(watch.Take(), std::nullopt) << i;
  }
  clock.JumpWall(-WallStepWatch::kMinStepMs);
  EXPECT_EQ(watch.Take(), -WallStepWatch::kMinStepMs);
}

}  // namespace
}  // namespace gatilho
