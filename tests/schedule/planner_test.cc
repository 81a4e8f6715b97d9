#include "schedule/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
}  // namespace gatilho
