#include "schedule/pressure_gauge.h"

#include <algorithm>
#include <vector>

namespace gatilho {

void PressureGauge::OnSent(const std::string& company, int64_t late_ms) {
  Period& period = periods_[company];
  period.late_sum_ms += static_cast<double>(std::max<int64_t>(0, late_ms));
  ++period.sent;
}

void PressureGauge::OnLeftWithoutCredit(const std::string& company) {
  periods_[company].left_out = true;
}

bool PressureGauge::Update(int64_t now_ms, Learner& learner) {
  if (period_end_ms_ < 0) period_end_ms_ = now_ms + options_.period_ms;
  if (now_ms < period_end_ms_) return false;
  for (const auto& [company, period] : periods_) {
    const double late_ms =
        period.sent > 0 ? period.late_sum_ms / static_cast<double>(period.sent) : 0;
    double& previous_late_ms = previous_late_ms_[company];
    double factor = learner.Pressure(company);
    // Lateness alone is not overload (a paused token is late too); demand left without credit
    // alone is not either (one unlucky pass). Both together, with the lateness still growing,
    // mean the schedules ask for more than the budget gives; so does demand left over with
    // nothing sent at all. A backlog that drains needs no more stretching: raising the factor
    // until it is gone would leave the schedules far sparser than the budget requires.
    const bool growing = late_ms > previous_late_ms;
    if (period.left_out &&
        (period.sent == 0 || (late_ms > static_cast<double>(options_.late_high_ms) && growing))) {
      factor *= options_.up;
    } else if (!period.left_out || late_ms < static_cast<double>(options_.late_low_ms)) {
      // Credit was left over all period (or the polls went out on time): the schedules may ask
      // for more, or documents would wait on sparse schedules while the budget sits idle.
      factor /= options_.down;
    }
    previous_late_ms = late_ms;
    factor = std::clamp(factor, 1.0, options_.max);
    learner.SetPressure(company, factor);
    max_seen_ = std::max(max_seen_, learner.Pressure(company));
  }
  // A company under pressure that sent nothing in the period keeps its entry so that it relaxes
  // next time (zero lateness); the others start the next period empty.
  std::vector<std::string> keep;
  for (const auto& [company, period] : periods_) {
    if (learner.Pressure(company) > 1.0) keep.push_back(company);
  }
  periods_.clear();
  for (const std::string& company : keep)
    periods_[company];
  period_end_ms_ = now_ms + options_.period_ms;
  return true;
}

}  // namespace gatilho
