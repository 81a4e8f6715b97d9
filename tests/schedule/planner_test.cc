#include "schedule/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "schedule/token_budget.h"

namespace gatilho {
namespace {

std::vector<PollCandidate> Candidates(const std::string& token, size_t count,
                                      size_t first_index = 0) {
  std::vector<PollCandidate> candidates;
  for (size_t i = 0; i < count; ++i) {
    candidates.push_back({first_index + i, token, static_cast<int64_t>(i)});
  }
  return candidates;
}

size_t CountFrom(const std::vector<size_t>& chosen, size_t first_index, size_t count) {
  return std::count_if(chosen.begin(), chosen.end(), [&](size_t index) {
    return index >= first_index && index < first_index + count;
  });
}

TEST(Planner, NeverExceedsTokenShare) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  const std::vector<PollCandidate> due = Candidates("a", 200);
  EXPECT_EQ(planner.Plan(due, budgets, 1'000).size(), 80u);
  EXPECT_TRUE(planner.Plan(due, budgets, 2'000).empty());
  // A window later the credits are back.
  EXPECT_EQ(planner.Plan(due, budgets, 61'000).size(), 80u);
}

TEST(Planner, TokensDoNotShareCredits) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  std::vector<PollCandidate> due = Candidates("a", 200);
  for (PollCandidate& candidate : Candidates("b", 5, 200)) {
    candidate.due_ms += 500;  // due after all of a's, so a's demand is served first
    due.push_back(candidate);
  }
  const std::vector<size_t> chosen = planner.Plan(due, budgets, 1'000);
  EXPECT_EQ(CountFrom(chosen, 0, 200), 80u);
  EXPECT_EQ(CountFrom(chosen, 200, 5), 5u);
}

TEST(Planner, EarliestDueGoesFirst) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  budgets.emplace("a", TokenBudget(TokenBudget::Options{.default_limit = 5}));  // 4 credits
  const std::vector<PollCandidate> due = {{0, "a", 50}, {1, "a", 10}, {2, "a", 40},
                                          {3, "a", 20}, {4, "a", 30}, {5, "a", 0}};
  EXPECT_EQ(planner.Plan(due, budgets, 100), (std::vector<size_t>{5, 1, 3, 4}));
}

TEST(Planner, PausedTokenGetsNothing) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  budgets["a"].PauseUntil(10'000);
  std::vector<PollCandidate> due = Candidates("a", 3);
  due.push_back({3, "b", 0});
  EXPECT_EQ(planner.Plan(due, budgets, 5'000), (std::vector<size_t>{3}));
  EXPECT_EQ(budgets["a"].used_in_window(5'000), 0);
}

TEST(Planner, LeavesCandidatesNotYetDue) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  const std::vector<PollCandidate> due = {{0, "a", 2'000}, {1, "a", 1'000}};
  EXPECT_EQ(planner.Plan(due, budgets, 1'500), (std::vector<size_t>{1}));
}

TEST(Planner, CreatesADefaultBudgetForAnUnknownToken) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  planner.Plan(Candidates("new", 1), budgets, 0);
  ASSERT_EQ(budgets.count("new"), 1u);
  EXPECT_EQ(budgets.at("new").used_in_window(0), 1);
  EXPECT_EQ(budgets.at("new").limit(), 100);
}

TEST(Planner, StopsAtMaxPicksWithoutSpendingTheRest) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  std::vector<PollCandidate> due;
  for (size_t i = 0; i < 10; ++i)
    due.push_back(PollCandidate{i, "t", 0});
  EXPECT_EQ(planner.Plan(due, budgets, 1'000, 3).size(), 3u);
  EXPECT_EQ(budgets.at("t").Available(1'000), 77);
}

PollCandidate Candidate(size_t index, const std::string& token, int64_t due_ms,
                        const std::string& company, double chance = 1.0, bool following = false) {
  PollCandidate candidate{index, token, due_ms};
  candidate.company = company;
  candidate.chance = chance;
  candidate.following = following;
  return candidate;
}

// A budget of exactly `credits` per window.
TokenBudget BudgetOf(int64_t credits) {
  return TokenBudget(TokenBudget::Options{.share = 1.0, .default_limit = credits});
}

TEST(Planner, PrefersTheLikelyFinishedDocument) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  budgets.emplace("t", BudgetOf(1));
  // Waiting longer but unlikely to be done (0.05 * 6 s) against just due and likely done
  // (0.9 * 2 s): earliest-due-first would pick the first.
  const std::vector<PollCandidate> due = {Candidate(0, "t", 5'000, "acme", 0.05),
                                          Candidate(1, "t", 9'000, "acme", 0.9)};
  EXPECT_EQ(planner.Plan(due, budgets, 10'000), (std::vector<size_t>{1}));

  // With equal chances, the one that waited longer goes first.
  std::map<std::string, TokenBudget> fresh;
  fresh.emplace("t", BudgetOf(1));
  const std::vector<PollCandidate> equal = {Candidate(0, "t", 9'000, "acme", 0.5),
                                            Candidate(1, "t", 5'000, "acme", 0.5)};
  EXPECT_EQ(planner.Plan(equal, fresh, 10'000), (std::vector<size_t>{1}));
}

// Sustained overload: N watches always due, C credits per one-second round, chances between
// p_min and 1; a polled watch is due again at once. Starvation bound: a watch unpolled for r
// rounds has priority >= p_min * (r * 1 s + 1 s); a rival polled ahead of it in the second half
// of those rounds must have waited at least about p_min * r / 2 rounds since its own last poll,
// so each of the N - 1 rivals takes at most 1 + 2 / p_min of the C * r / 2 credits of that half,
// hence r <= max(4 / p_min, 2 * (N - 1) * (1 + 2 / p_min) / C).
TEST(Planner, LongWaitingDocumentIsEventuallyChosen) {
  constexpr size_t kWatches = 100;
  constexpr int64_t kCredits = 10;
  constexpr int64_t kRoundMs = 1'000;
  constexpr int kRounds = 6'000;
  constexpr double kMinChance = 0.01;
  const double bound = std::max(
      4 / kMinChance, 2.0 * (kWatches - 1) * (1 + 2 / kMinChance) / static_cast<double>(kCredits));

  Planner planner;
  std::vector<PollCandidate> watches;
  for (size_t i = 0; i < kWatches; ++i) {
    // A tenth of the watches sit at the floor, the rest spread up to certainty.
    const double chance = i % 10 == 0 ? kMinChance : static_cast<double>(i % 10) / 9.0;
    watches.push_back(Candidate(i, "t", 0, "acme", chance));
  }
  std::vector<int> last_polled(kWatches, 0);
  int longest_wait = 0;
  for (int round = 1; round <= kRounds; ++round) {
    const int64_t now = round * kRoundMs;
    std::map<std::string, TokenBudget> budgets;
    budgets.emplace("t", BudgetOf(kCredits));
    const std::vector<size_t> chosen = planner.Plan(watches, budgets, now);
    ASSERT_EQ(chosen.size(), static_cast<size_t>(kCredits));
    for (size_t index : chosen) {
      longest_wait = std::max(longest_wait, round - last_polled[index]);
      last_polled[index] = round;
      watches[index].due_ms = now;
    }
  }
  for (size_t i = 0; i < kWatches; ++i)
    longest_wait = std::max(longest_wait, kRounds - last_polled[i]);
  EXPECT_LE(longest_wait, bound);
  // Every watch, including the unlikely ones, kept being polled to the end.
  for (size_t i = 0; i < kWatches; ++i)
    EXPECT_GT(last_polled[i], kRounds - static_cast<int>(bound)) << i;
}

TEST(Planner, PastTheStarvationBoundTheWaitAloneDecides) {
  Planner planner(Planner::Options{.starvation_ms = 20 * 60'000});
  // A document the model is all but sure is not done, due 21 minutes ago, against a stream of
  // likely-done ones due 10 minutes ago: by chance times wait (0.001 * 21 min against
  // 0.9 * 10 min) it would lose to every one of them.
  std::vector<PollCandidate> due = {Candidate(0, "t", 0, "acme", 0.0)};
  for (size_t i = 1; i <= 50; ++i)
    due.push_back(Candidate(i, "t", 11 * 60'000, "acme", 0.9));
  std::map<std::string, TokenBudget> budgets;
  budgets.emplace("t", BudgetOf(1));
  EXPECT_EQ(planner.Plan(due, budgets, 21 * 60'000), (std::vector<size_t>{0}));

  // Before the bound, chance times wait still decides.
  std::map<std::string, TokenBudget> earlier;
  earlier.emplace("t", BudgetOf(1));
  std::vector<PollCandidate> young = due;
  young[0].due_ms = 10 * 60'000;
  EXPECT_NE(planner.Plan(young, earlier, 21 * 60'000), (std::vector<size_t>{0}));
}

TEST(Planner, CompaniesSharingATokenAreServedFairly) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  budgets.emplace("t", BudgetOf(20));
  std::vector<PollCandidate> due;
  // The big company's watches have waited longer, so by priority alone they would take all.
  for (size_t i = 0; i < 10'000; ++i)
    due.push_back(Candidate(i, "t", 0, "big"));
  for (size_t i = 0; i < 10; ++i)
    due.push_back(Candidate(10'000 + i, "t", 9'000, "small"));
  const std::vector<size_t> chosen = planner.Plan(due, budgets, 10'000);
  ASSERT_EQ(chosen.size(), 20u);
  EXPECT_EQ(CountFrom(chosen, 10'000, 10), 10u);
  EXPECT_EQ(CountFrom(chosen, 0, 10'000), 10u);

  // Three companies, 30 credits: the small one gets all it asks, the others split the rest.
  std::map<std::string, TokenBudget> shared;
  shared.emplace("t", BudgetOf(30));
  due.clear();
  for (size_t i = 0; i < 100; ++i) {
    due.push_back(Candidate(i, "t", 0, "a"));
    due.push_back(Candidate(100 + i, "t", 0, "b"));
  }
  for (size_t i = 0; i < 5; ++i)
    due.push_back(Candidate(200 + i, "t", 5'000, "c"));
  const std::vector<size_t> split = planner.Plan(due, shared, 10'000);
  ASSERT_EQ(split.size(), 30u);
  EXPECT_EQ(CountFrom(split, 200, 5), 5u);
  EXPECT_GE(CountFrom(split, 0, 100), 12u);
  EXPECT_GE(CountFrom(split, 100, 100), 12u);
}

TEST(Planner, FollowingUsesOnlySpareCredits) {
  Planner planner;
  // 80 credits: 10 pending, 100 following that waited longer.
  std::map<std::string, TokenBudget> budgets;
  std::vector<PollCandidate> due;
  for (size_t i = 0; i < 10; ++i)
    due.push_back(Candidate(i, "t", 9'000, "acme"));
  for (size_t i = 0; i < 100; ++i)
    due.push_back(Candidate(10 + i, "t", 0, "acme", 1.0, true));
  const std::vector<size_t> chosen = planner.Plan(due, budgets, 10'000);
  // Pending first, then following until a quarter of the share (20) is left.
  ASSERT_EQ(chosen.size(), 60u);
  EXPECT_EQ(CountFrom(std::vector<size_t>(chosen.begin(), chosen.begin() + 10), 0, 10), 10u);
  EXPECT_EQ(CountFrom(chosen, 10, 100), 50u);
  EXPECT_EQ(budgets.at("t").Available(10'000), 20);

  // A token whose pending candidates are not all served gives following nothing; another
  // token's following is not affected.
  std::map<std::string, TokenBudget> tight;
  due.clear();
  for (size_t i = 0; i < 100; ++i)
    due.push_back(Candidate(i, "t", 0, "acme"));
  for (size_t i = 0; i < 5; ++i) {
    due.push_back(Candidate(100 + i, "t", 0, "acme", 1.0, true));
    due.push_back(Candidate(200 + i, "u", 0, "other", 1.0, true));
  }
  const std::vector<size_t> picked = planner.Plan(due, tight, 10'000);
  EXPECT_EQ(CountFrom(picked, 0, 100), 80u);
  EXPECT_EQ(CountFrom(picked, 100, 5), 0u);
  EXPECT_EQ(CountFrom(picked, 200, 5), 5u);
}

TEST(Planner, ReportsPressurePerCompany) {
  Planner planner;
  std::map<std::string, TokenBudget> budgets;
  budgets.emplace("t", BudgetOf(20));
  budgets["paused"].PauseUntil(60'000);
  std::vector<PollCandidate> due;
  for (size_t i = 0; i < 30; ++i)
    due.push_back(Candidate(i, "t", 0, "x"));
  for (size_t i = 0; i < 5; ++i)
    due.push_back(Candidate(30 + i, "t", 0, "y"));
  for (size_t i = 0; i < 7; ++i)
    due.push_back(Candidate(40 + i, "t", 0, "x", 1.0, true));  // following: not pressure
  for (size_t i = 0; i < 3; ++i)
    due.push_back(Candidate(50 + i, "paused", 0, "z"));  // an outage, not pressure
  due.push_back(Candidate(60, "t", 20'000, "late"));     // not due yet

  std::map<std::string, size_t> pressure = {{"stale", 99}};
  const std::vector<size_t> chosen = planner.Plan(due, budgets, 10'000, SIZE_MAX, &pressure);
  EXPECT_EQ(chosen.size(), 20u);
  EXPECT_EQ(pressure, (std::map<std::string, size_t>{{"x", 15}}));

  // Candidates left out only by max_picks had credit: no pressure.
  std::map<std::string, TokenBudget> roomy;
  planner.Plan(Candidates("r", 10), roomy, 10'000, 3, &pressure);
  EXPECT_TRUE(pressure.empty());
}

}  // namespace
}  // namespace gatilho
