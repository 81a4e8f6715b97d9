#include "schedule/schedule_optimizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace gatilho {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

double LogNormalCdf(int64_t age_ms, double median_ms, double sigma) {
  if (age_ms <= 0) return 0;
  return 0.5 *
         std::erfc(-(std::log(static_cast<double>(age_ms) / median_ms)) / (sigma * std::sqrt(2.0)));
}

// Expected polls and delay of an arbitrary schedule under `cdf`, computed directly (fine
// integration), as the yardstick for the optimizer's own accounting.
struct Evaluation {
  double polls = 0;
  double delay_ms = 0;
};
Evaluation Evaluate(const ScheduleOptimizer::Cdf& cdf, const std::vector<int64_t>& offsets) {
  Evaluation evaluation;
  int64_t previous = 0;
  for (int64_t offset : offsets) {
    evaluation.polls += 1.0 - cdf(previous);
    constexpr int kSteps = 400;
    for (int k = 0; k < kSteps; ++k) {
      const int64_t lo = previous + (offset - previous) * k / kSteps;
      const int64_t hi = previous + (offset - previous) * (k + 1) / kSteps;
      evaluation.delay_ms += (cdf(hi) - cdf(lo)) * (static_cast<double>(offset) - 0.5 * (lo + hi));
    }
    previous = offset;
  }
  evaluation.delay_ms /= cdf(offsets.back());
  return evaluation;
}

TEST(ScheduleOptimizer, PointMassIsPolledOnceWhereItFinishes) {
  const auto cdf = [](int64_t age_ms) { return age_ms >= 5 * kSecond ? 1.0 : 0.0; };
  const ScheduleOptimizer::Result result = ScheduleOptimizer::Optimize(cdf, 1'000, 10 * kMinute);
  ASSERT_EQ(result.offsets_ms.size(), 2u);
  // The first grid age at or after 5 s; the geometric grid is a few percent apart there.
  EXPECT_GE(result.offsets_ms[0], 5 * kSecond);
  EXPECT_LE(result.offsets_ms[0], 5'300);
  EXPECT_EQ(result.offsets_ms[1], 10 * kMinute);
  EXPECT_NEAR(result.expected_polls, 1.0, 1e-9);  // the final poll finds nobody left
  EXPECT_LE(result.expected_delay_ms, 300);
}

TEST(ScheduleOptimizer, UniformDistributionIsPolledEvenly) {
  // For completions uniform over (0, T], moving an interior poll trades cost * (1/T) of fewer
  // survivors against the difference of the gaps around it, so optimal gaps are even up to a
  // linear trend: each is `cost` shorter than the one before (the cost falls with the survivors).
  constexpr int64_t kMax = 100 * kSecond;
  const auto cdf = [](int64_t age_ms) {
    return std::clamp(static_cast<double>(age_ms) / kMax, 0.0, 1.0);
  };
  size_t previous_count = 0;
  for (double cost : {8'000.0, 4'000.0, 2'000.0}) {
    const ScheduleOptimizer::Result result = ScheduleOptimizer::Optimize(cdf, cost, kMax, 1'000);
    const std::vector<int64_t>& offsets = result.offsets_ms;
    ASSERT_GE(offsets.size(), 3u) << cost;
    EXPECT_EQ(offsets.back(), kMax);
    EXPECT_GT(offsets.size(), previous_count) << "cost " << cost;
    previous_count = offsets.size();
    std::vector<int64_t> gaps;
    int64_t last = 0;
    for (int64_t offset : offsets) {
      gaps.push_back(offset - last);
      last = offset;
    }
    // The grid is about 0.4% of the age apart near 100 s, hence the tolerance.
    for (size_t k = 1; k < gaps.size(); ++k)
      EXPECT_NEAR(static_cast<double>(gaps[k - 1] - gaps[k]), cost, 1'000) << cost << " " << k;
  }
}

TEST(ScheduleOptimizer, HigherCostMeansFewerPolls) {
  const auto cdf = [](int64_t age_ms) { return LogNormalCdf(age_ms, 4'000, 1.5); };
  double previous_polls = 1e9;
  double previous_delay = 0;
  for (double cost : {100.0, 300.0, 1'000.0, 3'000.0, 10'000.0, 30'000.0, 100'000.0}) {
    const ScheduleOptimizer::Result result =
        ScheduleOptimizer::Optimize(cdf, cost, 24 * 60 * kMinute);
    EXPECT_LE(result.expected_polls, previous_polls + 1e-9) << cost;
    EXPECT_GE(result.expected_delay_ms, previous_delay - 1e-9) << cost;
    EXPECT_TRUE(std::is_sorted(result.offsets_ms.begin(), result.offsets_ms.end()));
    EXPECT_EQ(result.offsets_ms.back(), 24 * 60 * kMinute);
    previous_polls = result.expected_polls;
    previous_delay = result.expected_delay_ms;
  }
  EXPECT_LT(previous_polls, 3.0);
}

TEST(ScheduleOptimizer, ReportsWhatTheScheduleCosts) {
  const auto cdf = [](int64_t age_ms) { return LogNormalCdf(age_ms, 4'000, 1.2); };
  const ScheduleOptimizer::Result result = ScheduleOptimizer::Optimize(cdf, 2'000, 60 * kMinute);
  const Evaluation evaluation = Evaluate(cdf, result.offsets_ms);
  EXPECT_NEAR(result.expected_polls, evaluation.polls, 0.01 * evaluation.polls);
  EXPECT_NEAR(result.expected_delay_ms, evaluation.delay_ms, 0.02 * evaluation.delay_ms);
}

TEST(ScheduleOptimizer, CostForPollsHitsTheTarget) {
  const auto cdf = [](int64_t age_ms) { return LogNormalCdf(age_ms, 4'000, 1.2); };
  for (double target : {2.0, 4.0, 8.0}) {
    const double cost = ScheduleOptimizer::CostForPolls(cdf, target, 60 * kMinute);
    const double polls = ScheduleOptimizer::Optimize(cdf, cost, 60 * kMinute).expected_polls;
    EXPECT_NEAR(polls, target, 0.25 * target) << target;
  }
}

TEST(ScheduleOptimizer, BeatsFixedIntervalsOfEqualCost) {
  // A log-normal like the SEFAZ types' prior: median 4 s, a tail of minutes.
  const auto cdf = [](int64_t age_ms) { return LogNormalCdf(age_ms, 4'000, 1.5); };
  constexpr int64_t kMax = 60 * kMinute;
  for (int64_t interval : {1 * kSecond, 2 * kSecond, 5 * kSecond, 15 * kSecond}) {
    std::vector<int64_t> fixed;
    for (int64_t at = interval; at < kMax; at += interval)
      fixed.push_back(at);
    fixed.push_back(kMax);
    const Evaluation baseline = Evaluate(cdf, fixed);

    // Expected polls is a step function of the cost; take the cheapest schedule that spends
    // no more polls than the fixed one.
    double cost = ScheduleOptimizer::CostForPolls(cdf, baseline.polls, kMax);
    ScheduleOptimizer::Result result = ScheduleOptimizer::Optimize(cdf, cost, kMax);
    while (result.expected_polls > baseline.polls) {
      cost *= 1.02;
      result = ScheduleOptimizer::Optimize(cdf, cost, kMax);
    }
    const Evaluation optimized = Evaluate(cdf, result.offsets_ms);
    EXPECT_LE(optimized.polls, baseline.polls * 1.01) << interval;
    // The margin is modest on a smooth distribution (9% at 1 s, 25% at 15 s here): the gain
    // comes from spacing polls by the hazard, dense where documents finish, sparse in the tail.
    EXPECT_LT(optimized.delay_ms, 0.95 * baseline.delay_ms) << interval;
  }
}

TEST(ScheduleOptimizer, WithATailTheScheduleStopsOnceEveryDocumentIsCaught) {
  constexpr int64_t kDay = 24 * 3600 * 1000;
  // Every document finishes evenly within 10 s.
  auto cdf = [](int64_t age_ms) {
    return std::min(1.0, static_cast<double>(std::max<int64_t>(age_ms, 0)) / 10'000.0);
  };
  const ScheduleOptimizer::Result without = ScheduleOptimizer::Optimize(cdf, 2'000, kDay);
  ASSERT_FALSE(without.offsets_ms.empty());
  EXPECT_EQ(without.offsets_ms.back(), kDay);

  const ScheduleOptimizer::Result with =
      ScheduleOptimizer::Optimize(cdf, 2'000, kDay, 240, /*tail_every_ms=*/5 * 60'000);
  ASSERT_FALSE(with.offsets_ms.empty());
  EXPECT_GE(with.offsets_ms.back(), 9'000);
  EXPECT_LE(with.offsets_ms.back(), 11'000);  // the grid point at or after 10 s
  EXPECT_NEAR(with.expected_polls, without.expected_polls, 1e-6);
}

TEST(ScheduleOptimizer, AnExpensivePollWithATailDoesNotPushTheFirstPollFarOut) {
  constexpr int64_t kDay = 24 * 3600 * 1000;
  // Log-spread completions: a few seconds typically, a long tail of minutes.
  auto cdf = [](int64_t age_ms) {
    if (age_ms <= 0) return 0.0;
    return std::min(1.0, 0.5 + 0.15 * std::log2(static_cast<double>(age_ms) / 5'000.0));
  };
  const ScheduleOptimizer::Result result =
      ScheduleOptimizer::Optimize(cdf, 1e9, kDay, 240, /*tail_every_ms=*/5 * 60'000);
  // At a prohibitive cost, what remains is the tail alone, or one poll within it.
  for (int64_t offset : result.offsets_ms)
    EXPECT_LE(offset, 5 * 60'000);
}

}  // namespace
}  // namespace gatilho
