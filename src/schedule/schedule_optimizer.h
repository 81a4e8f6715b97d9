// ScheduleOptimizer: the poll times that minimise expected detection delay for a given cost of
// a poll, knowing the distribution of completion times.
//
// Detection delay is the time from "the document finished at the API" to "a poll saw it". Each
// poll costs `poll_cost_ms` of delay-equivalent: a poll is worth making where it saves more
// expected delay than that. On a grid of candidate ages from 0 to the maximum age, dynamic
// programming finds the schedule minimising
//     E[delay] + poll_cost_ms * E[number of polls],
// where a poll at age t_j after one at t_i costs every document still processing at t_i, and
// catches those that finished in (t_i, t_j] with delay t_j - finish. Without a tail, the last
// poll is at the maximum age (where the bridge gives up with a `timeout`). With a tail (the
// policy's then_every_ms), the schedule may stop early: a document still processing after the
// last chosen poll is polled every tail interval, which costs it about half an interval of
// delay and one poll per interval it keeps processing. Knowing that, the optimizer does not
// push a lone poll far out to spare the stragglers a wait until the maximum age.
//
// The same optimizer serves gatilho (fed with the learned model) and the policy benchmark's
// oracle (fed with the true distribution), so the benchmark measures what learning and the
// budget cost, not two different optimizers.
//
// Pure function of its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace gatilho {

class ScheduleOptimizer {
 public:
  // A cumulative distribution of completion ages: P(finished by age_ms).
  using Cdf = std::function<double(int64_t age_ms)>;

  struct Result {
    // Ascending ages to poll at; without a tail the last is max_age_ms, with one it may be
    // empty (the tail from the cycle's start is best).
    std::vector<int64_t> offsets_ms;
    double expected_polls = 0;     // per document
    double expected_delay_ms = 0;  // per document that finishes before max_age_ms
  };

  // The optimal schedule on a grid of `grid_points` ages (denser early, where completions are).
  static Result Optimize(const Cdf& cdf, double poll_cost_ms, int64_t max_age_ms,
                         int grid_points = 240, int64_t tail_every_ms = 0);

  // The poll cost whose optimal schedule spends about `target_polls` per document (found by
  // bisection); useful to compare schedules at equal cost.
  static double CostForPolls(const Cdf& cdf, double target_polls, int64_t max_age_ms);
};

}  // namespace gatilho
