// Learner: what gatilho has learned about how long each company's documents take, and the poll
// schedules it derives from that.
//
// It keeps one CompletionModel per (company, document type), fed with every completion the
// poller sees (the document was processing at one poll and done at the next), and turns each
// model into the processing schedule that minimises expected detection delay for the current
// cost of a poll (ScheduleOptimizer). The schedules are written into the PollPolicy the observer
// reads, so a company whose SEFAZ answers in two seconds gets polls around two seconds, and one
// whose city hall takes an hour is not polled every minute.
//
// The cost of a poll rises under overload (SetPressure): when due polls wait for credit, the
// schedules of the companies involved stretch, spending fewer polls per document, instead of
// every document being served late.
//
// Pure state: no clock, no I/O (the daemon persists models through TakeChanged()/Load()).
// Not thread-safe: one owner. The PollPolicy passed in must outlive the learner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schedule/completion_model.h"
#include "schedule/poll_policy.h"
#include "schedule/schedule_optimizer.h"

namespace gatilho {

class Learner {
 public:
  struct Options {
    // How many milliseconds of expected detection delay one poll is worth avoiding when the
    // budget is not under pressure.
    double poll_cost_ms = 2'000;
    // Re-optimise a schedule after this many new observations of its model (the first
    // observation always re-optimises).
    int reoptimize_every = 5;
  };

  Learner(PollPolicy* policy, Options options);

  // Records that a document of (company, type) finished at an age in (lower_age_ms,
  // upper_age_ms] and refreshes that schedule when due.
  void RecordCompletion(const std::string& company, DocType type, int64_t lower_age_ms,
                        int64_t upper_age_ms);

  // The model of (company, type): the prior until something was recorded.
  const CompletionModel& Model(const std::string& company, DocType type) const;

  // The chance that a document still processing at age last_age_ms has finished by
  // now_age_ms: what a poll now is likely to find.
  double ChanceFinished(const std::string& company, DocType type, int64_t last_age_ms,
                        int64_t now_age_ms) const;

  // Multiplies the poll cost of `company`'s schedules by `factor` (>= 1; 1 = no pressure) and
  // refreshes them if it changed noticeably.
  void SetPressure(const std::string& company, double factor);
  double Pressure(const std::string& company) const;

  // Models changed since the last call, for the store.
  std::vector<std::pair<std::pair<std::string, DocType>, std::string>> TakeChanged();

  // The processing offsets `schedule`'s type gets for completion law `cdf` at `poll_cost_ms`:
  // ScheduleOptimizer's, knowing the type's tail (then_every_ms) follows them, cut at the first
  // gap wider than that tail. Never empty when max_age_ms > 0. The policy benchmark's oracle
  // uses it with the true law, so both are derived the same way.
  static std::vector<int64_t> DeriveOffsets(const ScheduleOptimizer::Cdf& cdf, double poll_cost_ms,
                                            const TypeSchedule& schedule);

  // Restores a model read from the store (bytes from CompletionModel::Encode) and its
  // schedule. Unreadable bytes are ignored (the prior stays).
  void Load(const std::string& company, DocType type, std::string_view bytes);

 private:
  struct Entry {
    CompletionModel model;
    int since_optimized = 0;  // observations since the schedule was last derived
    bool changed = false;     // not yet returned by TakeChanged()
  };
  using Key = std::pair<std::string, DocType>;

  // Derives the schedule of `key` from its model and the company's pressure, and writes it.
  void Reoptimize(const Key& key, const Entry& entry);

  PollPolicy* policy_;
  Options options_;
  std::map<Key, Entry> entries_;
  std::map<std::string, double> pressure_;
  std::map<DocType, CompletionModel> priors_;  // Model()'s answer for pairs never recorded
};

}  // namespace gatilho
