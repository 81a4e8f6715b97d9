#include "delivery/retry_schedule.h"

#include <gtest/gtest.h>

#include <vector>

namespace gatilho {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kHour = 3600 * 1000;

// The attempt times of an event that fails every time, as a dispatcher that runs each attempt
// exactly when due would see them; the first element is the first attempt.
std::vector<int64_t> AttemptTimes(const RetrySchedule& schedule, uint64_t seed) {
  std::vector<int64_t> times = {kStart};
  while (times.size() < 1000) {
    std::optional<int64_t> next =
        schedule.Next(static_cast<uint32_t>(times.size()), kStart, times.back(), seed);
    if (!next.has_value()) break;
    times.push_back(*next);
  }
  return times;
}

TEST(RetrySchedule, FirstRetryAfterAFewSeconds) {
  RetrySchedule schedule;

  for (uint64_t seed = 0; seed < 100; ++seed) {
    std::optional<int64_t> next = schedule.Next(1, kStart, kStart, seed);
    ASSERT_TRUE(next.has_value());
    EXPECT_GE(*next - kStart, 4'000);  // 5 s shortened by at most 20%
    EXPECT_LE(*next - kStart, 5'000);
  }
}

TEST(RetrySchedule, DelaysGrowAndAreCapped) {
  RetrySchedule schedule(RetrySchedule::Options{.jitter = 0});
  std::vector<int64_t> times = AttemptTimes(schedule, 7);
  ASSERT_GT(times.size(), 15u);

  EXPECT_EQ(times[1] - times[0], 5'000);
  EXPECT_EQ(times[2] - times[1], 10'000);
  EXPECT_EQ(times[3] - times[2], 20'000);
  for (size_t i = 2; i + 1 < times.size(); ++i) {
    int64_t delay = times[i] - times[i - 1];
    int64_t next_delay = times[i + 1] - times[i];
    EXPECT_LE(next_delay, 6 * kHour);
    if (i + 2 < times.size()) {  // the last wait is cut short by the horizon
      EXPECT_GE(next_delay, delay) << "attempt " << i;
    }
  }
  EXPECT_EQ(times[20] - times[19], 6 * kHour);
}

TEST(RetrySchedule, KeepsTryingUntilTheHorizon) {
  RetrySchedule schedule;

  for (uint64_t seed : {1u, 2u, 3u, 99u}) {
    std::vector<int64_t> times = AttemptTimes(schedule, seed);

    // 13 growing waits cover the first ~11 hours; 6-hour waits (less jitter) fill the rest.
    EXPECT_GE(times.size(), 24u) << "seed " << seed;
    EXPECT_LE(times.size(), 30u) << "seed " << seed;
    EXPECT_EQ(times.back(), kStart + 72 * kHour) << "the last attempt is at the horizon";
    EXPECT_FALSE(schedule.Next(static_cast<uint32_t>(times.size()), kStart, times.back(), seed));
  }
}

TEST(RetrySchedule, NothingIsScheduledPastTheHorizonAfterADowntime) {
  RetrySchedule schedule;

  EXPECT_FALSE(schedule.Next(3, kStart, kStart + 80 * kHour, 1).has_value());
  EXPECT_EQ(schedule.Next(3, kStart, kStart + 72 * kHour - 1'000, 1), kStart + 72 * kHour);
}

TEST(RetrySchedule, JitterIsDeterministicPerSeed) {
  RetrySchedule schedule;
  RetrySchedule another;

  EXPECT_EQ(AttemptTimes(schedule, 42), AttemptTimes(another, 42));
  int distinct = 0;
  for (uint64_t seed = 1; seed < 50; ++seed) {
    if (schedule.Next(5, kStart, kStart, seed) != schedule.Next(5, kStart, kStart, seed + 1)) {
      ++distinct;
    }
  }
  EXPECT_GT(distinct, 40) << "neighbouring seeds should retry at different times";
}

}  // namespace
}  // namespace gatilho
