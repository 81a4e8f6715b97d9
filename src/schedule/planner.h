// Planner: which due polls go out now, given the credit budget of each API token.
//
// The daemon hands it the watches whose poll time has come, each tagged with the handle of the
// token it is polled with; the planner picks those that fit the budgets and takes their
// credits. What is left waits for a later pass (TokenBudget::NextCreditMs says when).
//
// When demand exceeds credit it chooses by expected value: a candidate's priority is the chance
// that a poll finds its document finished, times how long the poll has waited (plus one
// second), so a likely answer goes first and an overdue poll's priority grows without bound.
// No candidate starves behind likelier ones: the chance it is ranked with rises with its wait
// and reaches 1 once it has waited Options::starvation_ms, from which point only candidates
// that waited longer go before it (first due, first served).
// The companies of one token are served in turns (one pick each per turn, best priority first),
// so a company with thousands of due watches cannot take every credit from one with ten.
// Watches that are only being followed after their cycle (cancellations...) use spare credits:
// only once every pending candidate of their token was served, and only while the token keeps
// more than a quarter of its share available.
//
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
  std::string company = {};  // whose watch it is; companies of one token are served in turns
  double chance = 1.0;       // chance the poll finds the document finished (Learner)
  bool following = false;    // the cycle ended; watched for later changes on spare credit
};

class Planner {
 public:
  struct Options {
    // A candidate that has waited this long ranks as if sure to find its document finished.
    int64_t starvation_ms = 20 * 60'000;
  };

  Planner() = default;
  explicit Planner(Options options) : options_(options) {}

  // The `index` of each candidate to poll now, in the order chosen, taking one credit from its
  // token's budget for each. Pending candidates go first: within a token, the companies take
  // turns (turn k gives each company its k-th best candidate), and within a turn, and across
  // tokens, higher priority goes first, where priority = max(chance, 0.001) * (now_ms - due_ms +
  // 1000), with chance raised to at least (now_ms - due_ms) / starvation_ms (capped at 1);
  // ties go to the earlier due, then to input order (so with equal chances and one
  // company per token this is earliest due first). Following candidates come after, by the same
  // rule, only for a token whose pending candidates were all chosen and only while its
  // Available(now_ms) stays above a quarter of share_cap(). A candidate whose token has no
  // credit, or that is not due yet (due_ms > now_ms), is left out for a later pass. A budget
  // with default options is created in `budgets` for a token seen for the first time. At most
  // `max_picks` are chosen, and only those spend a credit.
  std::vector<size_t> Plan(const std::vector<PollCandidate>& due,
                           std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                           size_t max_picks = SIZE_MAX) const;

  // Plan() that also reports pressure: when `left_without_credit` is not null it is cleared,
  // then gets, per company, how many of its due pending (not following) candidates were left
  // out because their token had no credit left (a paused token is not counted: that is an
  // outage, not demand beyond the budget; nor are candidates left out only by max_picks).
  // Companies with none left out are absent.
  std::vector<size_t> Plan(const std::vector<PollCandidate>& due,
                           std::map<std::string, TokenBudget>& budgets, int64_t now_ms,
                           size_t max_picks,
                           std::map<std::string, size_t>* left_without_credit) const;

 private:
  Options options_;
};

}  // namespace gatilho
