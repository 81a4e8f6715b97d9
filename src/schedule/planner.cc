#include "schedule/planner.h"

#include <algorithm>
#include <tuple>

namespace gatilho {
namespace {

// Added to the wait so that a poll due this very millisecond still ranks by its chance, and
// a candidate with a tiny chance overtakes a likelier one after a bounded wait.
constexpr double kWaitBaseMs = 1'000;
// Keeps a zero chance (a model that is sure the document is not done) from freezing a
// candidate's priority at zero: its priority still grows with its wait.
constexpr double kMinChance = 0.001;

struct Ranked {
  const PollCandidate* candidate;
  size_t position;  // in the caller's list, for stable ties
  double priority;
  size_t turn = 0;  // rank within its (token, company), from 0
};

double Priority(const PollCandidate& candidate, int64_t now_ms, int64_t starvation_ms) {
  const double overdue = static_cast<double>(now_ms - candidate.due_ms);
  // A model can be wrong about one document (a stuck NF-e it thinks cannot be done): past the
  // starvation bound the wait alone decides, so that such a document is not starved for hours
  // while a stream of likelier ones keeps arriving.
  const double floor =
      starvation_ms > 0 ? std::min(1.0, overdue / static_cast<double>(starvation_ms)) : 0.0;
  return std::max({candidate.chance, kMinChance, floor}) * (overdue + kWaitBaseMs);
}

bool Better(const Ranked& a, const Ranked& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.candidate->due_ms != b.candidate->due_ms) return a.candidate->due_ms < b.candidate->due_ms;
  return a.position < b.position;
}

// Orders `ranked` by turns: each (token, company) group ranked by priority, then everyone's
// first pick, everyone's second... so credits are shared out one per company per turn.
void OrderByTurns(std::vector<Ranked>& ranked) {
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    const auto key_a = std::tie(a.candidate->token_handle, a.candidate->company);
    const auto key_b = std::tie(b.candidate->token_handle, b.candidate->company);
    if (key_a != key_b) return key_a < key_b;
    return Better(a, b);
  });
  for (size_t i = 0; i < ranked.size(); ++i) {
    const bool same_group =
        i > 0 && ranked[i].candidate->token_handle == ranked[i - 1].candidate->token_handle &&
        ranked[i].candidate->company == ranked[i - 1].candidate->company;
    ranked[i].turn = same_group ? ranked[i - 1].turn + 1 : 0;
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.turn != b.turn) return a.turn < b.turn;
    return Better(a, b);
  });
}

}  // namespace

std::vector<size_t> Planner::Plan(const std::vector<PollCandidate>& due,
                                  std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                                  size_t max_picks) const {
  return Plan(due, budgets, now_ms, max_picks, nullptr);
}

std::vector<size_t> Planner::Plan(const std::vector<PollCandidate>& due,
                                  std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                                  size_t max_picks,
                                  std::map<std::string, size_t>* left_without_credit) const {
  if (left_without_credit != nullptr) left_without_credit->clear();
  std::vector<Ranked> pending;
  std::vector<Ranked> following;
  for (size_t i = 0; i < due.size(); ++i) {
    const PollCandidate& candidate = due[i];
    if (candidate.due_ms > now_ms) continue;
    budgets.try_emplace(candidate.token_handle);
    (candidate.following ? following : pending)
        .push_back(Ranked{&candidate, i, Priority(candidate, now_ms, options_.starvation_ms)});
  }
  OrderByTurns(pending);
  OrderByTurns(following);

  std::vector<size_t> chosen;
  std::map<std::string, size_t> pending_left;  // per token
  for (const Ranked& ranked : pending) {
    const PollCandidate& candidate = *ranked.candidate;
    // Stopping here rather than trimming afterwards keeps unspent credits in their budgets.
    if (chosen.size() < max_picks && budgets.at(candidate.token_handle).TryAcquire(now_ms)) {
      chosen.push_back(candidate.index);
      continue;
    }
    ++pending_left[candidate.token_handle];
    if (left_without_credit == nullptr) continue;
    const TokenBudget& budget = budgets.at(candidate.token_handle);
    if (!budget.Paused(now_ms) && budget.Available(now_ms) <= 0) {
      ++(*left_without_credit)[candidate.company];
    }
  }

  for (const Ranked& ranked : following) {
    if (chosen.size() >= max_picks) break;
    const PollCandidate& candidate = *ranked.candidate;
    if (pending_left.count(candidate.token_handle) != 0) continue;
    TokenBudget& budget = budgets.at(candidate.token_handle);
    // Following only spends what leaves a quarter of the share untouched, so documents that
    // start processing in the next seconds still find credit.
    if (budget.Available(now_ms) * 4 <= budget.share_cap()) continue;
    if (budget.TryAcquire(now_ms)) chosen.push_back(candidate.index);
  }
  return chosen;
}

}  // namespace gatilho
