#include "schedule/pressure_gauge.h"

#include <gtest/gtest.h>

#include "schedule/learner.h"
#include "schedule/poll_policy.h"

namespace gatilho {
namespace {

constexpr int64_t kPeriod = 30'000;

class PressureGaugeTest : public testing::Test {
 protected:
  // One period in which `company` sent `sent` polls each `late_ms` late, with demand left over
  // in every second of it or in none; returns the company's pressure after the revision.
  double Period(const std::string& company, int sent, int64_t late_ms, bool left_out) {
    return PeriodStarvedFor(company, sent, late_ms, left_out ? kPeriod / 1000 : 0);
  }

  // The same with demand left over in `starved_seconds` of the period's seconds.
  double PeriodStarvedFor(const std::string& company, int sent, int64_t late_ms,
                          int64_t starved_seconds) {
    for (int i = 0; i < sent; ++i)
      gauge_.OnSent(company, late_ms);
    gauge_.OnPass(now_, {});  // whatever the last period left, the company starts with credit
    if (starved_seconds > 0) {
      gauge_.OnPass(now_, {{company, 3}});
      gauge_.OnPass(now_ + 500, {{company, 2}});  // still the same starvation
      if (starved_seconds * 1000 < kPeriod) gauge_.OnPass(now_ + starved_seconds * 1000, {});
    }
    now_ += kPeriod;
    EXPECT_TRUE(gauge_.Update(now_, learner_));
    return learner_.Pressure(company);
  }

  PollPolicy policy_ = PollPolicy::Defaults();
  Learner learner_{&policy_, Learner::Options{}};
  PressureGauge gauge_{PressureGauge::Options{}};
  int64_t now_ = 0;

  void SetUp() override { EXPECT_FALSE(gauge_.Update(now_, learner_)); }
};

TEST_F(PressureGaugeTest, GrowingLatenessWithDemandLeftOverRaisesPressure) {
  EXPECT_DOUBLE_EQ(Period("acme", 10, 20'000, true), 1.25);
  EXPECT_NEAR(Period("acme", 10, 30'000, true), 1.5625, 1e-9);
}

TEST_F(PressureGaugeTest, ABacklogThatDrainsIsNotStretchedFurther) {
  Period("acme", 10, 30'000, true);
  // Still late, still demand left over, but less late than last period: the schedules already
  // ask for no more than the budget gives.
  EXPECT_DOUBLE_EQ(Period("acme", 10, 20'000, true), 1.25);
}

TEST_F(PressureGaugeTest, LatenessWithoutDemandLeftOverIsNotOverload) {
  EXPECT_DOUBLE_EQ(Period("acme", 10, 60'000, false), 1.0);
}

TEST_F(PressureGaugeTest, DemandLeftOverWithNothingSentRaisesPressure) {
  EXPECT_DOUBLE_EQ(Period("acme", 0, 0, true), 1.25);
}

TEST_F(PressureGaugeTest, OnTimePollsRelaxPressureBackToOne) {
  for (int i = 0; i < 5; ++i)
    Period("acme", 10, 20'000 + 10'000 * i, true);
  ASSERT_GT(learner_.Pressure("acme"), 3.0);
  for (int i = 0; i < 40; ++i)
    Period("acme", 10, 0, false);
  EXPECT_DOUBLE_EQ(learner_.Pressure("acme"), 1.0);
}

TEST_F(PressureGaugeTest, AnIdleCompanyUnderPressureRelaxes) {
  Period("acme", 10, 20'000, true);
  ASSERT_GT(learner_.Pressure("acme"), 1.0);
  // The loop's passes go on, with nothing of acme's due.
  for (int i = 0; i < 10; ++i) {
    gauge_.OnPass(now_, {});
    now_ += kPeriod;
    gauge_.Update(now_, learner_);
  }
  EXPECT_DOUBLE_EQ(learner_.Pressure("acme"), 1.0);
}

TEST_F(PressureGaugeTest, BetweenTheThresholdsPressureHolds) {
  Period("acme", 10, 20'000, true);
  EXPECT_DOUBLE_EQ(Period("acme", 10, 5'000, true), 1.25);
}

TEST_F(PressureGaugeTest, CreditLeftOverRelaxesEvenWhilePollsAreLate) {
  // A backlog drains late, but the token had credit all period: the schedules may ask for more.
  Period("acme", 10, 20'000, true);
  EXPECT_LT(Period("acme", 10, 20'000, false), 1.25);
}

TEST_F(PressureGaugeTest, DemandLeftOverNowAndThenIsNotOverload) {
  Period("acme", 10, 20'000, true);
  ASSERT_DOUBLE_EQ(learner_.Pressure("acme"), 1.25);
  // Growing lateness, but credit was there in two thirds of the seconds: a budget used near its
  // end with bursts, not one the schedules exceed. Stretching further would leave it idle.
  EXPECT_LT(PeriodStarvedFor("acme", 10, 30'000, 10), 1.25);
}

TEST_F(PressureGaugeTest, DemandLeftOverMostOfThePeriodHoldsPressure) {
  Period("acme", 10, 20'000, true);
  // Starved in 20 of 30 seconds, lateness still high: between the thresholds nothing changes.
  EXPECT_DOUBLE_EQ(PeriodStarvedFor("acme", 10, 30'000, 20), 1.25);
}

TEST_F(PressureGaugeTest, CompaniesAreJudgedApart) {
  Period("slow", 10, 20'000, true);
  gauge_.OnSent("calm", 0);
  EXPECT_DOUBLE_EQ(Period("slow", 10, 30'000, true), 1.5625);
  EXPECT_DOUBLE_EQ(learner_.Pressure("calm"), 1.0);
}

TEST_F(PressureGaugeTest, RevisesOnlyOncePerPeriod) {
  gauge_.OnSent("acme", 20'000);
  gauge_.OnPass(now_, {{"acme", 1}});
  EXPECT_FALSE(gauge_.Update(now_ + kPeriod - 1, learner_));
  EXPECT_DOUBLE_EQ(learner_.Pressure("acme"), 1.0);
  EXPECT_TRUE(gauge_.Update(now_ + kPeriod, learner_));
  EXPECT_DOUBLE_EQ(learner_.Pressure("acme"), 1.25);
}

TEST_F(PressureGaugeTest, PressureStretchesTheLearnedSchedule) {
  for (int i = 0; i < 50; ++i)
    learner_.RecordCompletion("acme", DocType::kNfe, 1'000 + 100 * i, 2'000 + 100 * i);
  const size_t relaxed = policy_.OffsetsFor("acme", DocType::kNfe).size();
  for (int i = 0; i < 30; ++i)
    Period("acme", 10, 60'000 + 10'000 * i, true);
  EXPECT_LT(policy_.OffsetsFor("acme", DocType::kNfe).size(), relaxed);
  // Thirty raises of 1.25 would pass 800; the factor stops at the configured maximum.
  EXPECT_DOUBLE_EQ(gauge_.max_seen(), PressureGauge::Options{}.max);
}

}  // namespace
}  // namespace gatilho
