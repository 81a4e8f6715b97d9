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
  // or not; returns the company's pressure after the revision.
  double Period(const std::string& company, int sent, int64_t late_ms, bool left_out) {
    for (int i = 0; i < sent; ++i)
      gauge_.OnSent(company, late_ms);
    if (left_out) gauge_.OnLeftWithoutCredit(company);
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
  for (int i = 0; i < 10; ++i) {
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

TEST_F(PressureGaugeTest, CompaniesAreJudgedApart) {
  Period("slow", 10, 20'000, true);
  gauge_.OnSent("calm", 0);
  EXPECT_DOUBLE_EQ(Period("slow", 10, 30'000, true), 1.5625);
  EXPECT_DOUBLE_EQ(learner_.Pressure("calm"), 1.0);
}

TEST_F(PressureGaugeTest, RevisesOnlyOncePerPeriod) {
  gauge_.OnSent("acme", 20'000);
  gauge_.OnLeftWithoutCredit("acme");
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
