#include "schedule/poll_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/document_type.h"

namespace gatilho {
namespace {

constexpr int64_t kStart = 1'000'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

// Every processing poll of a cycle whose polls all run exactly on time, up to the maximum age.
std::vector<int64_t> OnTimePolls(const PollPolicy& policy, DocType type) {
  const int64_t deadline = kStart + policy.For(type).max_age_ms;
  std::vector<int64_t> polls = {policy.FirstPoll(type, kStart)};
  while (polls.back() < deadline) {
    polls.push_back(policy.NextProcessingPoll(type, kStart, polls.size(), polls.back()));
  }
  return polls;
}

TEST(PollPolicy, DefaultsCoverEveryDocType) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    SCOPED_TRACE(DocTypeName(type));
    const TypeSchedule& schedule = policy.For(type);
    EXPECT_FALSE(schedule.offsets_ms.empty());
    EXPECT_GT(schedule.then_every_ms, 0);
    EXPECT_GT(schedule.max_age_ms, schedule.offsets_ms.back());
    EXPECT_GT(schedule.follow_window_ms, 0);
    EXPECT_GT(schedule.follow_every_ms, 0);
  }
}

TEST(PollPolicy, SchedulesAreDenseEarlyAndSparseLate) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    SCOPED_TRACE(DocTypeName(type));
    const std::vector<int64_t> polls = OnTimePolls(policy, type);
    ASSERT_GE(polls.size(), 3u);
    // Gaps never shrink, except the last one, which is cut short to land on the maximum age.
    for (size_t i = 2; i + 1 < polls.size(); ++i) {
      EXPECT_GE(polls[i] - polls[i - 1], polls[i - 1] - polls[i - 2]) << "poll " << i;
    }
    EXPECT_LE(polls[1] - polls[0], 20'000);
    // An hour in, a document is polled every few minutes, not every few seconds.
    auto after_an_hour =
        std::find_if(polls.begin(), polls.end(), [](int64_t at) { return at > kStart + kHour; });
    ASSERT_NE(after_an_hour, polls.end());
    EXPECT_GE(*after_an_hour - *(after_an_hour - 1), 5 * kMinute);
  }
}

TEST(PollPolicy, NeverSchedulesBeforeNow) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    SCOPED_TRACE(DocTypeName(type));
    const int64_t max_age = policy.For(type).max_age_ms;
    for (uint32_t poll_count = 0; poll_count < 40; ++poll_count) {
      for (int64_t late = 0; late <= max_age + kHour; late += 7 * kMinute + 13) {
        const int64_t now = kStart + late;
        const int64_t next = policy.NextProcessingPoll(type, kStart, poll_count, now);
        EXPECT_GE(next, now);
        if (now < kStart + max_age) {
          EXPECT_GT(next, now);
        }
      }
    }
  }
}

TEST(PollPolicy, SkipsSlotsThatPassedWhilePollsRanLate) {
  PollPolicy policy;
  policy.Set(DocType::kNfe, TypeSchedule{{1'000, 2'000, 5'000}, 10'000, kHour, 0, 0});
  // One poll done, but only at 3 s: the 2 s slot is gone and the next one is the 5 s slot.
  EXPECT_EQ(policy.NextProcessingPoll(DocType::kNfe, kStart, 1, kStart + 3'000), kStart + 5'000);
  // Past every offset, the next poll is the next point of the 10 s grid after the last one.
  EXPECT_EQ(policy.NextProcessingPoll(DocType::kNfe, kStart, 1, kStart + 27'000), kStart + 35'000);
  // On time, the count decides.
  EXPECT_EQ(policy.NextProcessingPoll(DocType::kNfe, kStart, 4, kStart + 15'000), kStart + 25'000);
}

TEST(PollPolicy, LastProcessingPollIsAtMaxAge) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    SCOPED_TRACE(DocTypeName(type));
    const int64_t deadline = kStart + policy.For(type).max_age_ms;
    const std::vector<int64_t> polls = OnTimePolls(policy, type);
    EXPECT_EQ(polls.back(), deadline);
    EXPECT_LT(polls[polls.size() - 2], deadline);
    // A poll due at the maximum age, or overdue, is due right now.
    EXPECT_EQ(policy.NextProcessingPoll(type, kStart, polls.size(), deadline), deadline);
    EXPECT_EQ(policy.NextProcessingPoll(type, kStart, polls.size(), deadline + 5), deadline + 5);
  }
}

TEST(PollPolicy, FollowStopsAfterWindow) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    SCOPED_TRACE(DocTypeName(type));
    const TypeSchedule& schedule = policy.For(type);
    const int64_t window_end = kStart + schedule.follow_window_ms;
    int64_t now = kStart;
    int polls = 0;
    while (std::optional<int64_t> next = policy.NextFollowPoll(type, kStart, now)) {
      EXPECT_GT(*next, now);
      EXPECT_LE(*next - now, schedule.follow_every_ms);
      EXPECT_LE(*next, window_end);
      now = *next;
      ++polls;
    }
    EXPECT_EQ(now, window_end);
    EXPECT_GE(polls, 1);
    EXPECT_FALSE(policy.NextFollowPoll(type, kStart, window_end + kHour).has_value());
  }
}

TEST(PollPolicy, ZeroFollowWindowMeansNoFollowing) {
  PollPolicy policy = PollPolicy::Defaults();
  TypeSchedule schedule = policy.For(DocType::kNfe);
  schedule.follow_window_ms = 0;
  policy.Set(DocType::kNfe, schedule);
  EXPECT_FALSE(policy.NextFollowPoll(DocType::kNfe, kStart, kStart).has_value());
  EXPECT_TRUE(policy.NextFollowPoll(DocType::kCte, kStart, kStart).has_value());
}

TEST(PollPolicy, ErrorBackoffGrowsAndIsCapped) {
  const PollPolicy policy = PollPolicy::Defaults();
  EXPECT_GT(policy.ErrorBackoff(0), 0);
  EXPECT_EQ(policy.ErrorBackoff(1), 5'000);
  EXPECT_EQ(policy.ErrorBackoff(2), 10'000);
  EXPECT_EQ(policy.ErrorBackoff(3), 20'000);
  for (uint32_t streak = 2; streak < 100; ++streak) {
    EXPECT_GE(policy.ErrorBackoff(streak), policy.ErrorBackoff(streak - 1));
  }
  EXPECT_EQ(policy.ErrorBackoff(7), 5 * kMinute);
  EXPECT_EQ(policy.ErrorBackoff(4'000'000'000u), 5 * kMinute);
}

TEST(PollPolicy, NfceFirstPollIsWithinASecondOrTwo) {
  const PollPolicy policy = PollPolicy::Defaults();
  const int64_t first = policy.FirstPoll(DocType::kNfce, kStart);
  EXPECT_GE(first, kStart);
  EXPECT_LE(first, kStart + 2'000);
}

TEST(PollPolicy, SetReplacesOnlyThatTypesSchedule) {
  PollPolicy policy = PollPolicy::Defaults();
  const int64_t cte_first = policy.FirstPoll(DocType::kCte, kStart);
  policy.Set(DocType::kNfe, TypeSchedule{{42'000}, kMinute, kHour, 0, 0});
  EXPECT_EQ(policy.FirstPoll(DocType::kNfe, kStart), kStart + 42'000);
  EXPECT_EQ(policy.For(DocType::kNfe).max_age_ms, kHour);
  EXPECT_EQ(policy.FirstPoll(DocType::kCte, kStart), cte_first);
}

TEST(PollPolicy, CompanyOffsetsReplaceOnlyThatCompanysProcessingSlots) {
  PollPolicy policy = PollPolicy::Defaults();
  policy.SetCompanyOffsets("fast", DocType::kNfe, {3'000, 1'500, 1'500, 0, 6'000});
  EXPECT_EQ(policy.OffsetsFor("fast", DocType::kNfe), (std::vector<int64_t>{1'500, 3'000, 6'000}));
  EXPECT_EQ(policy.FirstPoll("fast", DocType::kNfe, kStart), kStart + 1'500);
  EXPECT_EQ(policy.NextProcessingPoll("fast", DocType::kNfe, kStart, 1, kStart + 1'500),
            kStart + 3'000);
  // After the learned offsets, the type's tail every 5 minutes, up to the type's maximum age.
  EXPECT_EQ(policy.NextProcessingPoll("fast", DocType::kNfe, kStart, 3, kStart + 6'000),
            kStart + 6'000 + 5 * kMinute);
  const int64_t deadline = kStart + policy.For(DocType::kNfe).max_age_ms;
  EXPECT_EQ(policy.NextProcessingPoll("fast", DocType::kNfe, kStart, 9, deadline - 1), deadline);
  EXPECT_EQ(policy.NextProcessingPoll("fast", DocType::kNfe, kStart, 9, deadline + 5),
            deadline + 5);

  // Other companies, other types and the type-only overloads keep the type's schedule.
  EXPECT_EQ(policy.FirstPoll("other", DocType::kNfe, kStart),
            policy.FirstPoll(DocType::kNfe, kStart));
  EXPECT_EQ(policy.FirstPoll("fast", DocType::kCte, kStart),
            policy.FirstPoll(DocType::kCte, kStart));
  EXPECT_EQ(policy.FirstPoll(DocType::kNfe, kStart), kStart + 2'000);

  // An empty list reverts to the type's offsets.
  policy.SetCompanyOffsets("fast", DocType::kNfe, {});
  EXPECT_EQ(policy.FirstPoll("fast", DocType::kNfe, kStart), kStart + 2'000);
}

TEST(PollPolicy, CompanyOverloadMatchesTypeOverloadWhenNothingWasLearned) {
  const PollPolicy policy = PollPolicy::Defaults();
  for (DocType type : kAllDocTypes) {
    const std::vector<int64_t> polls = OnTimePolls(policy, type);
    std::vector<int64_t> company_polls = {policy.FirstPoll("acme", type, kStart)};
    while (company_polls.size() < polls.size()) {
      company_polls.push_back(policy.NextProcessingPoll(
          "acme", type, kStart, static_cast<uint32_t>(company_polls.size()), company_polls.back()));
    }
    EXPECT_EQ(company_polls, polls) << DocTypeName(type);
  }
}

TEST(PollPolicy, ScheduleChangedMidCycleContinuesFromTheLastPollsAge) {
  PollPolicy policy = PollPolicy::Defaults();
  // Three polls done on the defaults (2 s, 4 s, 7 s); then a denser schedule is learned.
  policy.SetCompanyOffsets("acme", DocType::kNfe, {1'000, 2'000, 3'000, 5'000, 8'000, 9'000});
  // A count-indexed schedule would jump to offsets[3] = 5 s, before the last poll; by age the
  // next slot is the first one after 7 s.
  EXPECT_EQ(policy.NextProcessingPoll("acme", DocType::kNfe, kStart, 3, kStart + 7'000),
            kStart + 8'000);
  // And a sparser one learned mid-cycle does not skip ahead either.
  policy.SetCompanyOffsets("acme", DocType::kNfe, {30'000, 60'000});
  EXPECT_EQ(policy.NextProcessingPoll("acme", DocType::kNfe, kStart, 3, kStart + 7'000),
            kStart + 30'000);
}

}  // namespace
}  // namespace gatilho
