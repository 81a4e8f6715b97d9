#include "schedule/learner.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "schedule/schedule_optimizer.h"

namespace gatilho {
namespace {

// A poll never looks hopeless: the model can be wrong about one document (a SEFAZ outage, a
// city hall that batches), and a zero would let the planner pass it over indefinitely.
constexpr double kChanceFloor = 0.01;

// Pressure changes smaller than this leave the schedules alone: re-deriving them costs a DP
// per model, and the planner's pressure signal jitters from one pass to the next.
constexpr double kPressureRelativeChange = 0.1;

}  // namespace

Learner::Learner(PollPolicy* policy, Options options) : policy_(policy), options_(options) {
  for (DocType type : kAllDocTypes)
    priors_.emplace(type, CompletionModel::Prior(type));
}

void Learner::RecordCompletion(const std::string& company, DocType type, int64_t lower_age_ms,
                               int64_t upper_age_ms) {
  if (upper_age_ms <= lower_age_ms || lower_age_ms < 0) return;
  const Key key{company, type};
  auto it = entries_.find(key);
  if (it == entries_.end()) it = entries_.emplace(key, Entry{Model(company, type)}).first;
  Entry& entry = it->second;
  entry.model.Record(lower_age_ms, upper_age_ms);
  entry.changed = true;
  ++entry.since_optimized;
  // The first observation re-derives at once so a company leaves the generic schedule as soon
  // as it shows anything; later ones are batched because one more point rarely moves the DP.
  if (entry.model.observations() == 1 || entry.since_optimized >= options_.reoptimize_every) {
    Reoptimize(key, entry);
    entry.since_optimized = 0;
  }
}

const CompletionModel& Learner::Model(const std::string& company, DocType type) const {
  auto it = entries_.find(Key{company, type});
  if (it != entries_.end()) return it->second.model;
  return priors_.at(type);
}

double Learner::ChanceFinished(const std::string& company, DocType type, int64_t last_age_ms,
                               int64_t now_age_ms) const {
  const CompletionModel& model = Model(company, type);
  const double before = model.Cdf(last_age_ms);
  const double by_now = model.Cdf(std::max(now_age_ms, last_age_ms));
  // A document the model says should long be done is an outlier the model cannot describe;
  // the floor keeps it polled rather than dividing by almost nothing.
  if (1.0 - before < 1e-9) return kChanceFloor;
  return std::clamp((by_now - before) / (1.0 - before), kChanceFloor, 1.0);
}

void Learner::SetPressure(const std::string& company, double factor) {
  factor = std::isfinite(factor) ? std::max(factor, 1.0) : 1.0;
  const double old = Pressure(company);
  // Small changes are not worth re-deriving every schedule, but the way back to no pressure at
  // all is always taken, or a factor could stay stuck just above 1.
  if (factor == old) return;
  if (factor != 1.0 && std::abs(factor - old) <= kPressureRelativeChange * old) return;
  if (factor == 1.0) {
    pressure_.erase(company);
  } else {
    pressure_[company] = factor;
  }
  for (auto it = entries_.lower_bound(Key{company, DocType{}});
       it != entries_.end() && it->first.first == company; ++it) {
    Reoptimize(it->first, it->second);
  }
}

double Learner::Pressure(const std::string& company) const {
  auto it = pressure_.find(company);
  return it == pressure_.end() ? 1.0 : it->second;
}

std::vector<std::pair<std::pair<std::string, DocType>, std::string>> Learner::TakeChanged() {
  std::vector<std::pair<std::pair<std::string, DocType>, std::string>> changed;
  for (auto& [key, entry] : entries_) {
    if (!entry.changed) continue;
    changed.emplace_back(key, entry.model.Encode());
    entry.changed = false;
  }
  return changed;
}

void Learner::Load(const std::string& company, DocType type, std::string_view bytes) {
  std::optional<CompletionModel> model = CompletionModel::Decode(bytes);
  if (!model) return;
  const Key key{company, type};
  Entry& entry = entries_.insert_or_assign(key, Entry{*model}).first->second;
  Reoptimize(key, entry);
}

std::vector<int64_t> Learner::DeriveOffsets(const ScheduleOptimizer::Cdf& cdf, double poll_cost_ms,
                                            const TypeSchedule& schedule) {
  if (schedule.max_age_ms <= 0) return {};
  const ScheduleOptimizer::Result result = ScheduleOptimizer::Optimize(
      cdf, poll_cost_ms, schedule.max_age_ms, /*grid_points=*/240, schedule.then_every_ms);

  // A final poll at the maximum age is the policy's own. Past the first gap wider than the
  // type's tail interval the tail takes over: a model only knows documents that finished, so it
  // underrates the stuck ones (a SEFAZ outage), and the tail interval is the slowest rate at
  // which the operator accepts to discover them.
  std::vector<int64_t> offsets;
  for (int64_t offset : result.offsets_ms) {
    if (offset >= schedule.max_age_ms) break;
    if (!offsets.empty() && schedule.then_every_ms > 0 &&
        offset - offsets.back() > schedule.then_every_ms) {
      break;
    }
    offsets.push_back(offset);
  }
  // No poll before the tail was worth its cost: the tail from the cycle's start is the sparsest
  // schedule the type allows.
  if (offsets.empty()) {
    offsets.push_back(schedule.then_every_ms > 0
                          ? std::min(schedule.then_every_ms, schedule.max_age_ms)
                          : schedule.max_age_ms);
  }
  return offsets;
}

void Learner::Reoptimize(const Key& key, const Entry& entry) {
  const TypeSchedule& schedule = policy_->For(key.second);
  if (schedule.max_age_ms <= 0) return;
  const CompletionModel& model = entry.model;
  policy_->SetCompanyOffsets(key.first, key.second,
                             DeriveOffsets([&model](int64_t age_ms) { return model.Cdf(age_ms); },
                                           options_.poll_cost_ms * Pressure(key.first), schedule));
}

}  // namespace gatilho
