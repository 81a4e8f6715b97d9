#include "schedule/pressure_gauge.h"

#include <algorithm>
#include <vector>

namespace gatilho {

void PressureGauge::OnSent(const std::string& company, int64_t late_ms) {
  Period& period = periods_[company];
  period.late_sum_ms += static_cast<double>(std::max<int64_t>(0, late_ms));
  ++period.sent;
}

void PressureGauge::OnPass(int64_t now_ms,
                           const std::map<std::string, size_t>& left_without_credit) {
  for (auto it = starved_since_ms_.begin(); it != starved_since_ms_.end();) {
    if (left_without_credit.count(it->first) != 0) {
      ++it;
      continue;
    }
    periods_[it->first].starved_ms += std::max<int64_t>(0, now_ms - it->second);
    it = starved_since_ms_.erase(it);
  }
  for (const auto& [company, count] : left_without_credit) {
    if (count > 0) starved_since_ms_.try_emplace(company, now_ms);
  }
}

bool PressureGauge::Update(int64_t now_ms, Learner& learner) {
  if (period_end_ms_ < 0) period_end_ms_ = now_ms + options_.period_ms;
  if (now_ms < period_end_ms_) return false;
  // The loop may come late; shares are of the time that really passed.
  const int64_t elapsed_ms = now_ms - (period_end_ms_ - options_.period_ms);
  // A starvation still going on counts up to now, and goes on into the next period.
  for (auto& [company, since] : starved_since_ms_) {
    periods_[company].starved_ms += std::max<int64_t>(0, now_ms - since);
    since = now_ms;
  }
  for (const auto& [company, period] : periods_) {
    const double late_ms =
        period.sent > 0 ? period.late_sum_ms / static_cast<double>(period.sent) : 0;
    double& previous_late_ms = previous_late_ms_[company];
    double factor = learner.Pressure(company);
    const double starved = static_cast<double>(period.starved_ms) /
                           static_cast<double>(std::max<int64_t>(elapsed_ms, 1));
    // Lateness alone is not overload (a paused token is late too); demand left without credit
    // now and then is not either (Poisson bursts at a budget used at 85%). Demand left over
    // nearly all the time with the lateness still growing means the schedules ask for more
    // than the budget gives; so does demand left over with nothing sent at all. A backlog that
    // drains needs no more stretching.
    const bool growing = late_ms > previous_late_ms;
    if (starved >= options_.starved_high &&
        (period.sent == 0 || (late_ms > static_cast<double>(options_.late_high_ms) && growing))) {
      factor *= options_.up;
    } else if (starved < options_.starved_low ||
               late_ms < static_cast<double>(options_.late_low_ms)) {
      // Credit was there for much of the period (or the polls went out on time): the schedules
      // may ask for more, or documents would wait on sparse schedules while credit sits idle.
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
