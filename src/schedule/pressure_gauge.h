// PressureGauge: decides how much each company's polling must stretch under overload.
//
// The planner reports, at every pass, which companies had due polls left without credit, and
// the poller reports how late each poll went out. Once per period the gauge turns that into a
// pressure factor per company and hands it to the Learner, which multiplies the poll cost of
// that company's schedules by it: a company whose due polls wait for credit nearly all the time
// while their lateness grows gets sparser schedules (fewer polls per document); one whose polls
// found credit for a good part of the period, or went out on time, relaxes back towards factor
// 1. So the factor settles where the budget is just used up, not beyond: stretching further
// would leave credit idle while documents wait on sparse schedules. Multiplicative steps with a
// dead band between the thresholds keep it from oscillating when demand sits at the budget.
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
    // Shares of the period during which due polls were left without credit: at or above
    // starved_high (with growing lateness) raise, below starved_low relax.
    double starved_high = 0.9;
    double starved_low = 0.5;
  };

  explicit PressureGauge(Options options) : options_(options) {}

  // A poll of `company` went out `late_ms` after it was due.
  void OnSent(const std::string& company, int64_t late_ms);

  // The outcome of one planning pass at now_ms: the companies some of whose due polls were left
  // waiting because their token had no credit (Planner::Plan's left_without_credit). A company
  // counts as starved from the first such pass until the first pass that leaves it out.
  void OnPass(int64_t now_ms, const std::map<std::string, size_t>& left_without_credit);

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
    int64_t starved_ms = 0;  // time in the period with due polls left without credit
  };

  Options options_;
  std::map<std::string, Period> periods_;            // by company, since the last revision
  std::map<std::string, double> previous_late_ms_;   // by company: last period's mean lateness
  std::map<std::string, int64_t> starved_since_ms_;  // companies starved since the last pass
  int64_t period_end_ms_ = -1;
  double max_seen_ = 1;
};

}  // namespace gatilho
