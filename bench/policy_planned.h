// PlannedStrategy: gatilho's polling, driven the way the daemon's Poller drives it, or the
// oracle that plans with the true completion laws.
//
// Both keep every watch's next poll from PollPolicy's company-aware schedule, hand the earliest
// due watches (a batch, as the store returns them) to the real Planner with each one's chance of
// being finished, spend from real TokenBudgets fed with the simulated Rate-Limit headers and
// 429s, and keep at most max_in_flight polls outstanding.
//   - gatilho: the schedules and chances come from a Learner fed with the completions the
//     polls saw (lower = age at the last poll that found the document processing, upper = age
//     at the answer that found it done), and the company's pressure rises while its due polls
//     are left without credit.
//   - oracle: the schedules are ScheduleOptimizer's for the true law of each (company, type) at
//     one fixed poll cost, and the chances are the true conditional probabilities; no learning,
//     no pressure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "policy_strategy.h"
#include "policy_world.h"
#include "schedule/learner.h"
#include "schedule/planner.h"
#include "schedule/poll_policy.h"
#include "schedule/pressure_gauge.h"
#include "schedule/token_budget.h"

namespace gatilho::bench {

class PlannedStrategy final : public PolicyStrategy {
 public:
  struct Options {
    std::string name = "gatilho";
    double budget_share = 0.8;  // Poller::Options::budget_share
    size_t max_in_flight = 16;  // Poller::Options::max_in_flight
    size_t batch = 256;         // Poller::Options::batch
    // false: the batch is the `batch` earliest due watches of all tokens, as Poller::Pump reads
    // them from the store; true: the `batch` earliest of each token (a variant that shows what
    // reading the store per token would change).
    bool batch_per_token = false;
    Learner::Options learner;  // gatilho only
    // How the company's pressure follows lateness and demand left over: the daemon's gauge.
    PressureGauge::Options pressure;
    // Oracle only (oracle_cost_ms > 0 makes it the oracle): the poll cost of its schedules.
    double oracle_cost_ms = 0;
  };

  PlannedStrategy(const PolicyWorld& world, Options options);
  ~PlannedStrategy() override;

  std::string Name() const override { return options_.name; }
  void OnSubmit(size_t doc, int64_t now_ms) override;
  void OnAnswer(size_t doc, int64_t now_ms, const PollAnswer& answer) override;
  void Pump(int64_t now_ms, PollSender& sender) override;
  int64_t NextWakeMs(int64_t now_ms) override;

  // The oracle's expected polls per document at `cost_ms`, averaged over `world`'s documents
  // with the true laws: what CostForPolls-style bisection matches against gatilho's spending.
  static double OracleExpectedPolls(const PolicyWorld& world, double cost_ms);

  // The highest pressure any company reached, for the report.
  double max_pressure() const { return gauge_.max_seen(); }

 private:
  struct Watch {
    int64_t next_poll_ms = 0;
    int64_t last_processing_age_ms = 0;  // sending age of the last poll that saw processing
    uint32_t poll_count = 0;
    bool in_flight = false;
    bool ended = false;
  };
  class TrueChance;

  bool oracle() const { return options_.oracle_cost_ms > 0; }
  double Chance(size_t doc, int64_t now_ms) const;
  void UpdatePressure(int64_t now_ms);

  const PolicyWorld& world_;
  Options options_;
  PollPolicy policy_;
  std::unique_ptr<Learner> learner_;
  std::unique_ptr<TrueChance> true_chance_;
  Planner planner_;
  std::map<std::string, TokenBudget> budgets_;
  std::vector<std::string> token_handles_;
  std::vector<Watch> watches_;
  // Removes `doc` from the schedule index, or adds it at its next_poll_ms.
  void Unschedule(size_t doc);
  void Schedule(size_t doc);
  // The due watches a pass considers, earliest due first within each token.
  std::vector<size_t> DueBatch(int64_t now_ms) const;

  // (next poll, document) per token: the store's due index, split so that a per-token read
  // costs no more than a global one.
  std::vector<std::set<std::pair<int64_t, size_t>>> scheduled_;
  size_t in_flight_ = 0;
  bool starved_ = false;
  PressureGauge gauge_;
};

}  // namespace gatilho::bench
