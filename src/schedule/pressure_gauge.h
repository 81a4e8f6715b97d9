// PressureGauge: decides how much each company's polling must stretch under overload.
//
// The planner reports, at every pass, which companies had due polls left without credit, and
// the poller reports how late each poll went out. Once per period the gauge turns that into a
// pressure factor per company and hands it to the Learner, which multiplies the poll cost of
// that company's schedules by it: a company whose polls keep going out late with demand left
// over gets sparser schedules (fewer polls per document), one whose token had credit to spare
// all period, or whose polls went out on time, relaxes back towards factor 1. Multiplicative steps
// with a dead band between the two thresholds keep the factor from oscillating when demand sits
// right at the budget.
//
// Pure state: time is passed in. Not thread-safe: one owner, the same as the Learner's.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "schedule/learner.h"

namespace gatilho {

class PressureGauge {
 public:
  struct Options {
    int64_t period_ms = 30'000;     // how often factors are revised
    int64_t late_high_ms = 10'000;  // mean lateness above which, with demand left over, raise
    int64_t late_low_ms = 2'000;    // mean lateness below which to relax in any case
    double up = 1.25;               // factor applied when raising
    double down = 1.15;  // divisor when relaxing; above 1.1 because the Learner ignores less
    double max = 100;    // the factor never exceeds this
  };

  explicit PressureGauge(Options options) : options_(options) {}

  // A poll of `company` went out `late_ms` after it was due.
  void OnSent(const std::string& company, int64_t late_ms);

  // Some due polls of `company` were left waiting because its token had no credit.
  void OnLeftWithoutCredit(const std::string& company);

  // At the end of a period, revises the factor of every company seen since the last revision
  // (and of every company already under pressure) and sets it in `learner`. Returns whether a
  // revision happened (false inside a period). The first call only starts the first period.
  bool Update(int64_t now_ms, Learner& learner);

  // The highest factor ever set, for reports.
  double max_seen() const { return max_seen_; }

 private:
  struct Period {
    double late_sum_ms = 0;
    int64_t sent = 0;
    bool left_out = false;
  };

  Options options_;
  std::map<std::string, Period> periods_;           // by company, since the last revision
  std::map<std::string, double> previous_late_ms_;  // by company: last period's mean lateness
  int64_t period_end_ms_ = -1;
  double max_seen_ = 1;
};

}  // namespace gatilho
