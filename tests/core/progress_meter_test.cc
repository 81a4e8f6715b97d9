#include "core/progress_meter.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(ProgressMeter, FormatsDoneOfTotal) {
  EXPECT_EQ(ProgressMeter::Format("registered", 12000, 50000), "registered 12000 of 50000 refs");
}

TEST(ProgressMeter, ShowsTheFirstLineAtOnceThenAtMostTenASecond) {
  VirtualClock clock;
  ProgressMeter meter(clock, "registered", 50000);

  EXPECT_EQ(meter.Update(1000), "\rregistered 1000 of 50000 refs");
  clock.Advance(40);
  EXPECT_EQ(meter.Update(2000), std::nullopt) << "40 ms after the last line";
  clock.Advance(59);
  EXPECT_EQ(meter.Update(3000), std::nullopt) << "99 ms after the last line";
  clock.Advance(1);
  EXPECT_EQ(meter.Update(4000), "\rregistered 4000 of 50000 refs");

  int shown = 0;
  for (int i = 0; i < 1000; ++i) {  // one second of updates every millisecond
    clock.Advance(1);
    if (meter.Update(5000 + i)) ++shown;
  }
  EXPECT_EQ(shown, 10);
}

TEST(ProgressMeter, LastLineIsAlwaysShownOnceWithANewline) {
  VirtualClock clock;
  ProgressMeter meter(clock, "registered", 3000);
  ASSERT_TRUE(meter.Update(1000).has_value());

  EXPECT_EQ(meter.Update(3000), "\rregistered 3000 of 3000 refs\n") << "no wait for the last one";
  EXPECT_EQ(meter.Update(3000), std::nullopt);
}

}  // namespace
}  // namespace gatilho
