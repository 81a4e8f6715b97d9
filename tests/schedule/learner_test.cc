#include "schedule/learner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "schedule/poll_policy.h"
#include "schedule/schedule_optimizer.h"

namespace gatilho {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kStart = 1'000'000;

// The poll times a still-processing document of `company` gets until `horizon_ms` of age.
std::vector<int64_t> PollsUntil(const PollPolicy& policy, const std::string& company, DocType type,
                                int64_t horizon_ms) {
  std::vector<int64_t> ages;
  int64_t at = policy.FirstPoll(company, type, kStart);
  while (at - kStart <= horizon_ms) {
    ages.push_back(at - kStart);
    const int64_t next =
        policy.NextProcessingPoll(company, type, kStart, static_cast<uint32_t>(ages.size()), at);
    if (next <= at) break;
    at = next;
  }
  return ages;
}

TEST(Learner, LearnedScheduleFollowsFastCompany) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  for (int i = 0; i < 20; ++i)
    learner.RecordCompletion("fast", DocType::kNfe, 1'400, 1'600);

  const int64_t first = policy.FirstPoll("fast", DocType::kNfe, kStart) - kStart;
  // Near 1.5 s to the model's resolution: the first poll lands at the top of the bucket holding
  // the completions (buckets are about 28% of the age wide).
  EXPECT_GE(first, 1'400);
  EXPECT_LE(first, 1'900);
  // What the prior alone would have chosen is elsewhere.
  const CompletionModel prior = CompletionModel::Prior(DocType::kNfe);
  const int64_t prior_first =
      ScheduleOptimizer::Optimize([&](int64_t age) { return prior.Cdf(age); },
                                  Learner::Options{}.poll_cost_ms,
                                  policy.For(DocType::kNfe).max_age_ms)
          .offsets_ms.front();
  EXPECT_GE(prior_first - first, 1'000);
  // Other companies keep the type's schedule.
  EXPECT_EQ(policy.FirstPoll("other", DocType::kNfe, kStart),
            policy.FirstPoll(DocType::kNfe, kStart));
  EXPECT_EQ(learner.Model("fast", DocType::kNfe).observations(), 20u);
}

TEST(Learner, SlowCompanyIsPolledLessOften) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  for (int i = 0; i < 30; ++i) {
    learner.RecordCompletion("slow", DocType::kNfe, 8 * kMinute, 12 * kMinute);
    learner.RecordCompletion("fast", DocType::kNfe, 1 * kSecond, 3 * kSecond);
  }
  const size_t slow = PollsUntil(policy, "slow", DocType::kNfe, 10 * kMinute).size();
  const size_t fast = PollsUntil(policy, "fast", DocType::kNfe, 10 * kMinute).size();
  const size_t defaults = PollsUntil(policy, "new", DocType::kNfe, 10 * kMinute).size();
  EXPECT_LT(slow, defaults / 2);
  EXPECT_LT(slow, fast);
  // Slowness is not silence: the slow company is still polled before its documents finish.
  EXPECT_GE(slow, 1u);
  EXPECT_LT(policy.FirstPoll("slow", DocType::kNfe, kStart) - kStart, 10 * kMinute);
  // The type's tail rate still bounds the gaps of the learned schedule.
  const std::vector<int64_t> ages = PollsUntil(policy, "slow", DocType::kNfe, 60 * kMinute);
  for (size_t i = 1; i < ages.size(); ++i)
    EXPECT_LE(ages[i] - ages[i - 1], policy.For(DocType::kNfe).then_every_ms);
}

TEST(Learner, PressureStretchesTheSchedule) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  // Completions spread from a second to a minute.
  const std::vector<std::pair<int64_t, int64_t>> seen = {{500, 1'500},     {1'500, 3'000},
                                                         {3'000, 6'000},   {6'000, 12'000},
                                                         {12'000, 30'000}, {30'000, 60'000}};
  for (int round = 0; round < 5; ++round) {
    for (auto [lower, upper] : seen)
      learner.RecordCompletion("busy", DocType::kNfe, lower, upper);
  }
  const size_t relaxed = PollsUntil(policy, "busy", DocType::kNfe, 2 * kMinute).size();
  EXPECT_EQ(learner.Pressure("busy"), 1.0);

  learner.SetPressure("busy", 8);
  EXPECT_EQ(learner.Pressure("busy"), 8.0);
  const size_t pressed = PollsUntil(policy, "busy", DocType::kNfe, 2 * kMinute).size();
  EXPECT_LT(pressed, relaxed);

  learner.SetPressure("busy", 1);
  EXPECT_GT(PollsUntil(policy, "busy", DocType::kNfe, 2 * kMinute).size(), pressed);
  EXPECT_EQ(learner.Pressure("other"), 1.0);
}

TEST(Learner, ChanceFinishedIsConditional) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  const CompletionModel& model = learner.Model("acme", DocType::kNfe);
  const int64_t median = model.Quantile(0.5);
  const int64_t q75 = model.Quantile(0.75);
  // From the start to the median: half of all documents.
  EXPECT_NEAR(learner.ChanceFinished("acme", DocType::kNfe, 0, median), 0.5, 0.03);
  // From the median to the 75th percentile: a quarter of all, but half of those still left.
  EXPECT_NEAR(learner.ChanceFinished("acme", DocType::kNfe, median, q75), 0.5, 0.03);
  // No time passed: nothing new to find, but never zero.
  const double none = learner.ChanceFinished("acme", DocType::kNfe, median, median);
  EXPECT_GT(none, 0.0);
  EXPECT_LT(none, 0.05);
  EXPECT_LT(learner.ChanceFinished("acme", DocType::kNfe, median, median + 1'000),
            learner.ChanceFinished("acme", DocType::kNfe, median, median + 10'000));
}

TEST(Learner, LoadRestoresTheSchedule) {
  PollPolicy original = PollPolicy::Defaults();
  Learner learner(&original, Learner::Options{});
  for (int i = 0; i < 12; ++i)
    learner.RecordCompletion("acme", DocType::kCte, 6 * kSecond, 9 * kSecond);
  const auto changed = learner.TakeChanged();
  ASSERT_EQ(changed.size(), 1u);

  PollPolicy restored = PollPolicy::Defaults();
  Learner reloaded(&restored, Learner::Options{});
  reloaded.Load("acme", DocType::kCte, changed[0].second);
  EXPECT_EQ(restored.OffsetsFor("acme", DocType::kCte), original.OffsetsFor("acme", DocType::kCte));
  EXPECT_NE(restored.OffsetsFor("acme", DocType::kCte), restored.For(DocType::kCte).offsets_ms);
  EXPECT_EQ(reloaded.Model("acme", DocType::kCte).observations(), 12u);
  // Loading is not a change to write back.
  EXPECT_TRUE(reloaded.TakeChanged().empty());

  reloaded.Load("acme", DocType::kNfe, "garbage");
  EXPECT_EQ(reloaded.Model("acme", DocType::kNfe).observations(), 0u);
  EXPECT_EQ(restored.OffsetsFor("acme", DocType::kNfe), restored.For(DocType::kNfe).offsets_ms);
}

TEST(Learner, TakeChangedReturnsEachChangeOnce) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  learner.RecordCompletion("a", DocType::kNfe, 1'000, 2'000);
  learner.RecordCompletion("a", DocType::kNfe, 1'000, 2'000);
  learner.RecordCompletion("b", DocType::kNfse, 60'000, 120'000);
  auto changed = learner.TakeChanged();
  ASSERT_EQ(changed.size(), 2u);
  EXPECT_EQ(changed[0].first, (std::pair<std::string, DocType>{"a", DocType::kNfe}));
  EXPECT_EQ(changed[1].first, (std::pair<std::string, DocType>{"b", DocType::kNfse}));
  EXPECT_EQ(CompletionModel::Decode(changed[0].second)->observations(), 2u);
  EXPECT_TRUE(learner.TakeChanged().empty());

  learner.RecordCompletion("b", DocType::kNfse, 60'000, 120'000);
  changed = learner.TakeChanged();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].first.first, "b");
}

}  // namespace
}  // namespace gatilho
