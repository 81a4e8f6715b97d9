#include "schedule/planner.h"

#include <algorithm>

namespace gatilho {

std::vector<size_t> Planner::Plan(const std::vector<PollCandidate>& due,
                                  std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                                  size_t max_picks) const {
  // TODO(adaptive): earliest-due-first ignores how likely a poll is to find a change, and lets
  // one company with many due watches starve the others on a shared token; order by expected
  // value and share each token's credits fairly among its companies instead.
  std::vector<const PollCandidate*> order;
  order.reserve(due.size());
  for (const PollCandidate& candidate : due) {
    if (candidate.due_ms <= now_ms) order.push_back(&candidate);
  }
  std::stable_sort(order.begin(), order.end(), [](const PollCandidate* a, const PollCandidate* b) {
    return a->due_ms < b->due_ms;
  });

  std::vector<size_t> chosen;
  for (const PollCandidate* candidate : order) {
    // Stopping here rather than trimming afterwards keeps unspent credits in their budgets.
    if (chosen.size() >= max_picks) break;
    TokenBudget& budget = budgets.try_emplace(candidate->token_handle).first->second;
    if (budget.TryAcquire(now_ms)) chosen.push_back(candidate->index);
  }
  return chosen;
}

}  // namespace gatilho
