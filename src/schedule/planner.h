// Planner: which due polls go out now, given the credit budget of each API token.
//
// The daemon hands it the watches whose poll time has come, each tagged with the handle of the
// token it is polled with; the planner picks those that fit the budgets and takes their
// credits. What is left waits for a later pass (TokenBudget::NextCreditMs says when).
// Stateless and pure: the budgets it spends from are the caller's, and it is called from the
// one thread that owns them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "schedule/token_budget.h"

namespace gatilho {

struct PollCandidate {
  size_t index = 0;          // position in the caller's list
  std::string token_handle;  // SecretHandle() of the token the watch is polled with
  int64_t due_ms = 0;        // when its poll is due, on the budgets' clock
};

class Planner {
 public:
  // The `index` of each candidate to poll now, earliest due first (ties keep the input order),
  // taking one credit from its token's budget for each. A candidate whose token has no credit,
  // or that is not due yet (due_ms > now_ms), is left out for a later pass. A budget with
  // default options is created in `budgets` for a token seen for the first time. At most
  // `max_picks` are chosen, and only those spend a credit.
  std::vector<size_t> Plan(const std::vector<PollCandidate>& due,
                           std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                           size_t max_picks = SIZE_MAX) const;
};

}  // namespace gatilho
