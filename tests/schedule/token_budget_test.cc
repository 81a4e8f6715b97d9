#include "schedule/token_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <vector>

namespace gatilho {
namespace {

constexpr int64_t kWindow = 60'000;
constexpr auto kNone = std::nullopt;

// A small deterministic generator, so the stream is the same on every standard library.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  // Uniform enough in [low, high] for a test stream.
  int64_t Between(int64_t low, int64_t high) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return low + static_cast<int64_t>((state_ >> 33) % static_cast<uint64_t>(high - low + 1));
  }

 private:
  uint64_t state_;
};

TEST(TokenBudget, StartsWithTheShareOfTheDefaultLimit) {
  TokenBudget budget;
  EXPECT_EQ(budget.limit(), 100);
  EXPECT_EQ(budget.Available(0), 80);
  EXPECT_EQ(budget.used_in_window(0), 0);
  EXPECT_FALSE(budget.Paused(0));
}

TEST(TokenBudget, NeverExceedsShareInAnyWindow) {
  TokenBudget budget;
  const int64_t cap = 80;
  Lcg random(20240601);
  std::vector<int64_t> sent;
  std::deque<int64_t> answers_due;  // when each request in flight gets its response
  int64_t now = 0;
  while (now < 6 * 3'600'000) {
    now += random.Between(0, 1'500);
    while (!answers_due.empty() && answers_due.front() <= now) {
      answers_due.pop_front();
      // The headers say whatever they like; no answer may push gatilho past its share.
      const int roll = static_cast<int>(random.Between(0, 999));
      const int status = roll == 0 ? 429 : 200;
      std::optional<int64_t> remaining, reset;
      if (roll % 3 != 0) {
        remaining = random.Between(20, 100);
        reset = random.Between(0, 60);
      }
      budget.OnResponse(now, status, 100, remaining, reset);
    }
    for (int64_t attempts = random.Between(1, 4); attempts > 0; --attempts) {
      if (!budget.TryAcquire(now)) continue;
      sent.push_back(now);
      answers_due.push_back(now + random.Between(50, 3'000));
      EXPECT_LE(budget.used_in_window(now), cap);
    }
  }

  // Every window_ms interval starting at a request, which covers every possible interval.
  int64_t busiest = 0;
  size_t end = 0;
  for (size_t begin = 0; begin < sent.size(); ++begin) {
    while (end < sent.size() && sent[end] < sent[begin] + kWindow)
      ++end;
    busiest = std::max<int64_t>(busiest, end - begin);
  }
  EXPECT_EQ(busiest, cap);  // reached, so the stream did press against the share
  EXPECT_GT(sent.size(), 6u * 60u * cap / 4u);
}

TEST(TokenBudget, PausesUntilResetAfter429) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(500, 429, 100, 0, 30);
  EXPECT_TRUE(budget.Paused(500));
  EXPECT_EQ(budget.paused_until_ms(), 30'500);
  EXPECT_EQ(budget.Available(30'499), 0);
  EXPECT_FALSE(budget.TryAcquire(30'499));
  EXPECT_EQ(budget.NextCreditMs(1'000), 30'500);
  EXPECT_FALSE(budget.Paused(30'500));
  EXPECT_TRUE(budget.TryAcquire(30'500));
}

TEST(TokenBudget, AfterA429OneProbeAtATimeUntilAnAnswerIsNotA429) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(100, 429, 100, 0, 10);
  EXPECT_EQ(budget.Available(10'099), 0);

  // The pause is over: one probe, and nothing more while it is in flight.
  EXPECT_EQ(budget.Available(10'100), 1);
  ASSERT_TRUE(budget.TryAcquire(10'100));
  EXPECT_FALSE(budget.TryAcquire(10'100));
  EXPECT_EQ(budget.NextCreditMs(10'100), 10'100 + 5'000) << "unless it stays unanswered";

  // Refused again: another pause, another single probe after it.
  budget.OnResponse(10'200, 429, 100, 0, 10);
  EXPECT_EQ(budget.Available(20'199), 0);
  EXPECT_EQ(budget.Available(20'200), 1);
  ASSERT_TRUE(budget.TryAcquire(20'200));

  // Accepted: credit is back, as rule 2 allows it (90 remaining, 20 the ERP's).
  budget.OnResponse(20'300, 200, 100, 90, 40);
  EXPECT_EQ(budget.Available(20'300), 90 - 20);
}

TEST(TokenBudget, ARequestStillInFlightFromBeforeA429DoesNotHoldTheProbeBack) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));  // its answer is held until the client gives up
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(100, 429, 100, 0, 2);
  EXPECT_EQ(budget.Available(2'099), 0);
  EXPECT_EQ(budget.NextCreditMs(100), 2'100);

  // The pause is over while the first request still hangs: the probe goes anyway, alone.
  EXPECT_EQ(budget.Available(2'100), 1);
  ASSERT_TRUE(budget.TryAcquire(2'100));
  EXPECT_FALSE(budget.TryAcquire(2'100));

  budget.OnResponse(2'200, 200, 100, 90, 40);
  EXPECT_GT(budget.Available(2'200), 1) << "an accepted probe ends the probing";
  // The hung request ends in the client's timeout, which changes nothing.
  budget.OnResponse(20'000, 0, kNone, kNone, kNone);
  EXPECT_GT(budget.Available(20'000), 1);
}

TEST(TokenBudget, AProbeLeftUnansweredLetsTheNextOneOutAfterThePatience) {
  TokenBudget budget(TokenBudget::Options{.probe_patience_ms = 3'000});
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(100, 429, 100, 0, 1);
  ASSERT_TRUE(budget.TryAcquire(1'100));  // the probe; its answer is held
  EXPECT_EQ(budget.Available(4'099), 0);
  EXPECT_EQ(budget.NextCreditMs(1'200), 4'100);
  EXPECT_EQ(budget.Available(4'100), 1);
  ASSERT_TRUE(budget.TryAcquire(4'100));
  EXPECT_FALSE(budget.TryAcquire(4'100)) << "still one at a time";
  EXPECT_EQ(budget.NextCreditMs(4'100), 7'100);
}

TEST(TokenBudget, ARequestThatNeverLeftTheHostGivesItsCreditBack) {
  TokenBudget budget;
  for (int i = 0; i < 80; ++i)
    ASSERT_TRUE(budget.TryAcquire(1'000));
  EXPECT_FALSE(budget.TryAcquire(1'000));

  // The 80th found no socket: the API never saw it, so it may go again at once.
  budget.OnNotSent(1'200);
  EXPECT_EQ(budget.used_in_window(1'200), 79);
  EXPECT_TRUE(budget.TryAcquire(1'200));
  EXPECT_FALSE(budget.TryAcquire(1'200));
  // Answered requests still count for their whole window.
  for (int i = 0; i < 80; ++i)
    budget.OnResponse(2'000, 200, 100, kNone, kNone);
  EXPECT_EQ(budget.used_in_window(2'000), 80);
  EXPECT_EQ(budget.Available(2'000), 0);
}

TEST(TokenBudget, AProbeThatNeverLeftTheHostLetsTheNextProbeOut) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(100, 429, 100, kNone, 1);
  ASSERT_TRUE(budget.TryAcquire(1'100));
  EXPECT_FALSE(budget.TryAcquire(1'100)) << "one probe at a time";

  budget.OnNotSent(1'150);
  EXPECT_TRUE(budget.TryAcquire(1'150));
}

TEST(TokenBudget, A429StormCostsOneRequestPerPause) {
  // An ERP spends the whole limit for ten minutes: every poll is refused with a 10 s reset.
  TokenBudget budget;
  int64_t sent = 0;
  for (int64_t now = 0; now < 600'000; now += 100) {
    while (budget.TryAcquire(now)) {
      ++sent;
      budget.OnResponse(now + 50, 429, 100, 0, 10);
    }
  }
  // One before the storm was known, then one probe per 10 s pause.
  EXPECT_LE(sent, 61);
  EXPECT_GE(sent, 55) << "the budget must keep probing, or it never notices the end";
}

TEST(TokenBudget, UsesDefaultPauseWhen429HasNoReset) {
  TokenBudget budget(TokenBudget::Options{.default_pause_ms = 45'000});
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(1'000, 429, kNone, kNone, kNone);
  EXPECT_EQ(budget.paused_until_ms(), 46'000);
  EXPECT_FALSE(budget.TryAcquire(45'999));
  EXPECT_TRUE(budget.TryAcquire(46'000));
}

TEST(TokenBudget, BacksOffWhenErpSpendsItsReserve) {
  TokenBudget budget;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(budget.TryAcquire(0));
  // The ERP spent 60 before ours reached the server; after our 10, 30 are left, of which 20
  // are the ERP's reserve.
  for (int i = 1; i <= 10; ++i) {
    budget.OnResponse(1'000, 200, 100, 40 - i, 50);
  }
  EXPECT_EQ(budget.Available(1'000), 10);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(budget.TryAcquire(1'000));
  EXPECT_FALSE(budget.TryAcquire(1'000));
  EXPECT_EQ(budget.NextCreditMs(2'000), 51'000);
  // The server's window has reset: only the share of the sliding window binds again.
  EXPECT_EQ(budget.Available(51'000), 80 - 20);
}

TEST(TokenBudget, CountsRequestsStillInFlightAsSpent) {
  TokenBudget budget;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(budget.TryAcquire(0));
  // The first answer: the server had counted one of ours and 70 of the ERP's. The other four
  // may reach it later, so only 29 - 20 - 4 are safe.
  budget.OnResponse(200, 200, 100, 29, 59);
  EXPECT_EQ(budget.Available(200), 5);
}

TEST(TokenBudget, KeepsTheTighterRemainingWhenAnswersArriveOutOfOrder) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  ASSERT_TRUE(budget.TryAcquire(0));
  // The second request was handled last but answered first: 40 left, one of ours in flight.
  budget.OnResponse(100, 200, 100, 40, 50);
  EXPECT_EQ(budget.Available(100), 40 - 1 - 20);
  // The first request's answer is older news and must not loosen the figure.
  budget.OnResponse(200, 200, 100, 60, 50);
  EXPECT_EQ(budget.Available(200), 40 - 1 - 20);
}

TEST(TokenBudget, LimitHeaderChangesTheShare) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(100, 200, 50, kNone, kNone);
  EXPECT_EQ(budget.limit(), 50);
  EXPECT_EQ(budget.Available(100), 40 - 1);
  ASSERT_TRUE(budget.TryAcquire(100));
  budget.OnResponse(200, 200, 200, kNone, kNone);
  EXPECT_EQ(budget.limit(), 200);
  EXPECT_EQ(budget.Available(200), 160 - 2);
}

TEST(TokenBudget, NextCreditMsPointsToWhenTheOldestRequestLeavesTheWindow) {
  TokenBudget budget;
  for (int64_t i = 0; i < 80; ++i)
    ASSERT_TRUE(budget.TryAcquire(i * 100));
  EXPECT_EQ(budget.Available(10'000), 0);
  EXPECT_EQ(budget.NextCreditMs(10'000), kWindow);
  EXPECT_FALSE(budget.TryAcquire(kWindow - 1));
  EXPECT_TRUE(budget.TryAcquire(kWindow));
  EXPECT_EQ(budget.NextCreditMs(kWindow), kWindow + 100);
}

TEST(TokenBudget, NextCreditMsIsNowWhenACreditIsAvailable) {
  TokenBudget budget;
  EXPECT_EQ(budget.NextCreditMs(1'234), 1'234);
}

TEST(TokenBudget, PauseUntilHoldsEveryCreditAndCanBeLifted) {
  TokenBudget budget;
  budget.PauseUntil(10'000);
  EXPECT_TRUE(budget.Paused(0));
  EXPECT_EQ(budget.Available(0), 0);
  EXPECT_FALSE(budget.TryAcquire(0));
  EXPECT_EQ(budget.NextCreditMs(0), 10'000);
  budget.PauseUntil(0);
  EXPECT_TRUE(budget.TryAcquire(0));
}

TEST(TokenBudget, ShareTooSmallForOneRequestNeverAcquires) {
  TokenBudget budget(TokenBudget::Options{.default_limit = 1});
  EXPECT_EQ(budget.Available(0), 0);
  EXPECT_FALSE(budget.TryAcquire(0));
  EXPECT_EQ(budget.NextCreditMs(0), std::numeric_limits<int64_t>::max());
}

TEST(TokenBudget, FloorKeepsWatchingWhenTheErpOverspends) {
  TokenBudget without_floor;
  TokenBudget with_floor(TokenBudget::Options{.floor_per_window = 5});
  // One own request half a window ago; now the ERP is spending past its reserve: 5 left of 100
  // while 20 are the ERP's, for the next 50 s.
  for (TokenBudget* budget : {&without_floor, &with_floor}) {
    ASSERT_TRUE(budget->TryAcquire(70'000));
    budget->OnResponse(100'000, 200, 100, 5, 50);
  }
  EXPECT_EQ(without_floor.Available(100'000), 0);
  EXPECT_EQ(without_floor.NextCreditMs(100'000), 150'000);
  // The request already sent in this window counts against the floor.
  EXPECT_EQ(with_floor.Available(100'000), 4);
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(with_floor.TryAcquire(100'000 + i));
  EXPECT_FALSE(with_floor.TryAcquire(101'000));
  // The floor frees a credit when the oldest request leaves the window, before rule 2 lifts.
  EXPECT_EQ(with_floor.NextCreditMs(101'000), 130'000);
  EXPECT_EQ(with_floor.Available(130'000), 1);
  EXPECT_EQ(without_floor.Available(130'000), 0);

  // The floor never exceeds the share.
  TokenBudget huge_floor(TokenBudget::Options{.floor_per_window = 1'000});
  huge_floor.OnResponse(0, 200, 100, 0, 50);
  EXPECT_EQ(huge_floor.Available(0), 80);
  for (int i = 0; i < 80; ++i)
    ASSERT_TRUE(huge_floor.TryAcquire(0));
  EXPECT_FALSE(huge_floor.TryAcquire(0));
}

TEST(TokenBudget, FloorNeverBreaksA429Pause) {
  TokenBudget budget(TokenBudget::Options{.floor_per_window = 10});
  ASSERT_TRUE(budget.TryAcquire(0));
  budget.OnResponse(500, 429, 100, 0, 30);
  EXPECT_EQ(budget.Available(500), 0);
  EXPECT_FALSE(budget.TryAcquire(29'000));
  EXPECT_EQ(budget.NextCreditMs(1'000), 30'500);
  // Once the pause is over (and the server window with it) the floor applies again.
  EXPECT_GT(budget.Available(30'500), 0);
  budget.PauseUntil(100'000);
  EXPECT_EQ(budget.Available(40'000), 0);
  EXPECT_EQ(budget.NextCreditMs(40'000), 100'000);
}

}  // namespace
}  // namespace gatilho

namespace gatilho {
namespace {

TEST(TokenBudgetForeign, AnErpSpendingThroughTheProxyMakesGatilhoBackOffBeforeAny429) {
  TokenBudget budget;  // share 0.8 of 100: the ERP's reserve is 20
  ASSERT_EQ(budget.Available(0), 80);
  int64_t now = 1'000;
  // The ERP spends on its own; each answer it gets tells how much is left in the window.
  for (int64_t remaining = 99; remaining >= 20; --remaining) {
    budget.OnForeignResponse(now, 201, 100, remaining, 50);
    EXPECT_EQ(budget.Available(now), std::max<int64_t>(0, remaining - 20)) << remaining;
    now += 100;
  }
  // Twenty credits are still left for the ERP and gatilho sends nothing: no one meets a 429.
  EXPECT_EQ(budget.Available(now), 0);
  EXPECT_FALSE(budget.TryAcquire(now));
  EXPECT_FALSE(budget.Paused(now));
  // The ERP's requests are not gatilho's: its own window stays empty.
  EXPECT_EQ(budget.used_in_window(now), 0);
  // When the server's window resets (50 s after the last answer), gatilho's share is back.
  EXPECT_EQ(budget.Available(now - 100 + 50'000), 80);
}

TEST(TokenBudgetForeign, A429SeenThroughTheProxyPausesGatilhosPolls) {
  TokenBudget budget;
  budget.OnForeignResponse(2'000, 429, 100, 0, 30);
  EXPECT_TRUE(budget.Paused(2'000));
  EXPECT_EQ(budget.Available(31'999), 0);
  EXPECT_EQ(budget.NextCreditMs(2'000), 32'000);
  // After the pause gatilho probes with one request, as after a 429 of its own.
  EXPECT_EQ(budget.Available(32'000), 1);
  ASSERT_TRUE(budget.TryAcquire(32'000));
  EXPECT_FALSE(budget.TryAcquire(32'000));
  budget.OnResponse(32'100, 200, 100, 99, 60);
  EXPECT_GT(budget.Available(32'100), 1);
}

TEST(TokenBudgetForeign, LeavesGatilhosOwnRequestsInFlightAlone) {
  TokenBudget budget;
  ASSERT_TRUE(budget.TryAcquire(0));
  ASSERT_TRUE(budget.TryAcquire(0));
  // An ERP answer arriving meanwhile counts neither as one of them nor as their answers.
  budget.OnForeignResponse(10, 200, 100, 90, 60);
  EXPECT_EQ(budget.used_in_window(10), 2);
  // The two polls may not have been counted by the server yet: 90 - 2 in flight - reserve 20.
  EXPECT_EQ(budget.Available(10), 68);
  budget.OnResponse(20, 200, 100, 88, 60);
  budget.OnResponse(30, 200, 100, 88, 60);
  EXPECT_EQ(budget.used_in_window(30), 2);
  // Both answers were matched to the two acquisitions, so nothing is left in flight: a third
  // poll may go, and its own answer is what the next OnResponse matches.
  ASSERT_TRUE(budget.TryAcquire(40));
  EXPECT_EQ(budget.used_in_window(40), 3);
}

TEST(TokenBudgetForeign, ALargerLimitSeenThroughTheProxyRaisesTheShare) {
  TokenBudget budget;
  budget.OnForeignResponse(0, 200, 200, std::nullopt, std::nullopt);
  EXPECT_EQ(budget.limit(), 200);
  EXPECT_EQ(budget.Available(0), 160);
}

}  // namespace
}  // namespace gatilho
