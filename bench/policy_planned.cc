#include "policy_planned.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>

#include "schedule/schedule_optimizer.h"

namespace gatilho::bench {
namespace {

// Poller::Options::request_timeout_ms: how long the daemon sleeps when all its slots are busy
// (an answer wakes it sooner).
constexpr int64_t kRequestTimeoutMs = 20'000;

// The optimizer's schedule for the true law of (company, type), as the oracle polls it: the same
// derivation as the learner's, tail included.
ScheduleOptimizer::Result TrueSchedule(const CompletionLaw& law, double cost_ms,
                                       const TypeSchedule& schedule) {
  return ScheduleOptimizer::Optimize([&law](int64_t age_ms) { return law.Cdf(age_ms); }, cost_ms,
                                     schedule.max_age_ms, /*grid_points=*/240,
                                     schedule.then_every_ms);
}

std::vector<int64_t> TrueOffsets(const CompletionLaw& law, double cost_ms,
                                 const TypeSchedule& schedule) {
  return Learner::DeriveOffsets([&law](int64_t age_ms) { return law.Cdf(age_ms); }, cost_ms,
                                schedule);
}

}  // namespace

// The true CDFs, tabulated on a log grid: the planner asks for a chance per due candidate per
// pass, and the exact CDF of a law with a tail is an integral.
class PlannedStrategy::TrueChance {
 public:
  explicit TrueChance(const PolicyWorld& world) {
    for (size_t c = 0; c < world.companies().size(); ++c) {
      for (const TypeShare& share : world.companies()[c].types) {
        std::vector<double>& table = tables_[{c, share.type}];
        table.resize(kPoints + 1);
        for (int i = 0; i <= kPoints; ++i)
          table[i] = share.law.Cdf(static_cast<int64_t>(AgeAt(i)));
      }
    }
  }

  double Cdf(size_t company, DocType type, int64_t age_ms) const {
    const std::vector<double>& table = tables_.at({company, type});
    if (age_ms <= kFirstMs)
      return table[0] * static_cast<double>(std::max<int64_t>(age_ms, 0)) / kFirstMs;
    const double position = std::log(static_cast<double>(age_ms) / kFirstMs) / Step();
    if (position >= kPoints) return table[kPoints];
    const int i = static_cast<int>(position);
    const double f = position - i;
    return table[i] * (1 - f) + table[i + 1] * f;
  }

  double Chance(size_t company, DocType type, int64_t last_age_ms, int64_t now_age_ms) const {
    const double before = Cdf(company, type, last_age_ms);
    const double by_now = Cdf(company, type, std::max(now_age_ms, last_age_ms));
    if (1 - before < 1e-12) return 1;
    return std::clamp((by_now - before) / (1 - before), 0.0, 1.0);
  }

 private:
  static constexpr int kPoints = 1024;
  static constexpr double kFirstMs = 10;
  static constexpr double kLastMs = 4.0 * kDayMs;
  static double Step() { return std::log(kLastMs / kFirstMs) / kPoints; }
  static double AgeAt(int i) { return kFirstMs * std::exp(Step() * i); }

  std::map<std::pair<size_t, DocType>, std::vector<double>> tables_;
};

PlannedStrategy::PlannedStrategy(const PolicyWorld& world, Options options)
    : world_(world),
      options_(std::move(options)),
      policy_(PollPolicy::Defaults()),
      watches_(world.documents().size()),
      scheduled_(world.token_count()),
      gauge_(options_.pressure) {
  for (int token = 0; token < world.token_count(); ++token) {
    const std::string handle = "token-" + std::to_string(token);
    token_handles_.push_back(handle);
    TokenBudget::Options budget_options;
    budget_options.share = options_.budget_share;
    budgets_.emplace(handle, TokenBudget(budget_options));
  }
  if (oracle()) {
    true_chance_ = std::make_unique<TrueChance>(world);
    for (const CompanySpec& company : world.companies()) {
      for (const TypeShare& share : company.types) {
        policy_.SetCompanyOffsets(
            company.id, share.type,
            TrueOffsets(share.law, options_.oracle_cost_ms, policy_.For(share.type)));
      }
    }
  } else {
    learner_ = std::make_unique<Learner>(&policy_, options_.learner);
  }
}

PlannedStrategy::~PlannedStrategy() = default;

double PlannedStrategy::OracleExpectedPolls(const PolicyWorld& world, double cost_ms) {
  const PollPolicy policy = PollPolicy::Defaults();
  std::map<std::pair<int, DocType>, int64_t> counts;
  for (const Document& doc : world.documents())
    ++counts[{doc.company, doc.type}];
  double polls = 0;
  int64_t docs = 0;
  for (const auto& [key, count] : counts) {
    const CompletionLaw& law = world.Law(key.first, key.second);
    polls += count * TrueSchedule(law, cost_ms, policy.For(key.second)).expected_polls;
    docs += count;
  }
  return docs > 0 ? polls / static_cast<double>(docs) : 0;
}

void PlannedStrategy::OnSubmit(size_t doc, int64_t now_ms) {
  const Document& document = world_.documents()[doc];
  const std::string& company = world_.companies()[document.company].id;
  Watch& watch = watches_[doc];
  watch.next_poll_ms = policy_.FirstPoll(company, document.type, now_ms);
  Schedule(doc);
}

double PlannedStrategy::Chance(size_t doc, int64_t now_ms) const {
  const Document& document = world_.documents()[doc];
  const Watch& watch = watches_[doc];
  const int64_t age = now_ms - document.submit_ms;
  if (oracle()) {
    return true_chance_->Chance(document.company, document.type, watch.last_processing_age_ms, age);
  }
  return learner_->ChanceFinished(world_.companies()[document.company].id, document.type,
                                  watch.last_processing_age_ms, age);
}

void PlannedStrategy::UpdatePressure(int64_t now_ms) {
  if (oracle()) return;
  if (!gauge_.Update(now_ms, *learner_)) return;
  static const bool trace = std::getenv("POLICY_TRACE") != nullptr;
  if (trace && now_ms / kHourMs != (now_ms - options_.pressure.period_ms) / kHourMs) {
    std::cerr << "t=" << now_ms / kHourMs << "h backlog:";
    for (const auto& set : scheduled_)
      std::cerr << " " << set.size();
    for (const auto& [handle, budget] : budgets_)
      std::cerr << " " << handle << " used=" << budget.used_in_window(now_ms)
                << " avail=" << budget.Available(now_ms);
    for (const CompanySpec& company : world_.companies()) {
      std::cerr << "\n  " << company.id << " p=" << learner_->Pressure(company.id);
      for (const TypeShare& share : company.types) {
        std::cerr << " " << static_cast<int>(share.type) << ":[";
        for (int64_t o : policy_.OffsetsFor(company.id, share.type))
          std::cerr << o / 1000 << " ";
        std::cerr << "] q50=" << learner_->Model(company.id, share.type).Quantile(0.5) / 1000;
      }
    }
    std::cerr << "\n";
  }
}

void PlannedStrategy::Schedule(size_t doc) {
  scheduled_[world_.documents()[doc].token].emplace(watches_[doc].next_poll_ms, doc);
}

void PlannedStrategy::Unschedule(size_t doc) {
  scheduled_[world_.documents()[doc].token].erase({watches_[doc].next_poll_ms, doc});
}

std::vector<size_t> PlannedStrategy::DueBatch(int64_t now_ms) const {
  std::vector<size_t> docs;
  using Iterator = std::set<std::pair<int64_t, size_t>>::const_iterator;
  std::vector<Iterator> at;
  for (const auto& set : scheduled_)
    at.push_back(set.begin());
  if (options_.batch_per_token) {
    for (size_t t = 0; t < scheduled_.size(); ++t) {
      for (size_t n = 0;
           at[t] != scheduled_[t].end() && at[t]->first <= now_ms && n < options_.batch;
           ++at[t], ++n) {
        docs.push_back(at[t]->second);
      }
    }
    return docs;
  }
  // The store's order: earliest due first over all tokens (ties by document, as a key order).
  while (docs.size() < options_.batch) {
    size_t best = scheduled_.size();
    for (size_t t = 0; t < scheduled_.size(); ++t) {
      if (at[t] == scheduled_[t].end() || at[t]->first > now_ms) continue;
      if (best == scheduled_.size() || *at[t] < *at[best]) best = t;
    }
    if (best == scheduled_.size()) break;
    docs.push_back(at[best]->second);
    ++at[best];
  }
  return docs;
}

void PlannedStrategy::Pump(int64_t now_ms, PollSender& sender) {
  UpdatePressure(now_ms);
  starved_ = false;
  if (in_flight_ >= options_.max_in_flight) return;

  const std::vector<size_t> docs = DueBatch(now_ms);
  std::vector<PollCandidate> candidates;
  candidates.reserve(docs.size());
  for (size_t doc : docs) {
    const Document& document = world_.documents()[doc];
    PollCandidate candidate;
    candidate.index = candidates.size();
    candidate.token_handle = token_handles_[document.token];
    candidate.due_ms = watches_[doc].next_poll_ms;
    candidate.company = world_.companies()[document.company].id;
    candidate.chance = Chance(doc, now_ms);
    candidates.push_back(std::move(candidate));
  }
  if (candidates.empty()) return;

  const size_t room = options_.max_in_flight - in_flight_;
  std::map<std::string, size_t> left_without_credit;
  std::vector<size_t> picked =
      planner_.Plan(candidates, budgets_, now_ms, room, &left_without_credit);
  starved_ = picked.size() < candidates.size() && picked.size() < room;
  gauge_.OnPass(now_ms, left_without_credit);

  for (size_t index : picked) {
    const size_t doc = docs[index];
    Watch& watch = watches_[doc];
    gauge_.OnSent(world_.companies()[world_.documents()[doc].company].id,
                  now_ms - watch.next_poll_ms);
    Unschedule(doc);
    watch.in_flight = true;
    ++in_flight_;
    sender.Poll(doc, now_ms);
  }
}

void PlannedStrategy::OnAnswer(size_t doc, int64_t now_ms, const PollAnswer& answer) {
  const Document& document = world_.documents()[doc];
  const std::string& company = world_.companies()[document.company].id;
  Watch& watch = watches_[doc];
  watch.in_flight = false;
  --in_flight_;
  budgets_.at(token_handles_[document.token])
      .OnResponse(now_ms, answer.api.accepted ? 200 : 429, answer.api.limit, answer.api.remaining,
                  answer.api.reset_s);

  if (!answer.api.accepted) {
    // The observer's answer to a 429: retry after the first backoff step, poll not counted.
    watch.next_poll_ms = now_ms + policy_.ErrorBackoff(1);
    Schedule(doc);
    return;
  }
  ++watch.poll_count;
  const int64_t age = now_ms - document.submit_ms;
  if (answer.done) {
    if (learner_) {
      learner_->RecordCompletion(company, document.type, watch.last_processing_age_ms, age);
    }
    watch.ended = true;
    return;
  }
  watch.last_processing_age_ms = answer.sent_ms - document.submit_ms;
  if (age >= policy_.For(document.type).max_age_ms) {
    watch.ended = true;  // timeout
    return;
  }
  watch.next_poll_ms = policy_.NextProcessingPoll(company, document.type, document.submit_ms,
                                                  watch.poll_count, now_ms);
  Schedule(doc);
}

int64_t PlannedStrategy::NextWakeMs(int64_t now_ms) {
  // Poller::NextWakeMs: the earliest scheduled poll, or, when due polls wait for credit, the
  // moment the first starved token can spend again.
  int64_t next = kNever;
  for (const auto& set : scheduled_) {
    if (!set.empty()) next = std::min(next, set.begin()->first);
  }
  if (next == kNever) return kNever;
  if (next <= now_ms && (starved_ || in_flight_ >= options_.max_in_flight)) {
    if (in_flight_ >= options_.max_in_flight) return now_ms + kRequestTimeoutMs;
    int64_t wait = kNever;
    for (const auto& [handle, budget] : budgets_) {
      if (budget.Available(now_ms) > 0) continue;
      const int64_t at = budget.NextCreditMs(now_ms);
      if (at != std::numeric_limits<int64_t>::max()) wait = std::min(wait, at - now_ms);
    }
    if (wait == kNever) wait = kRequestTimeoutMs;  // a probe's answer wakes the loop
    next = now_ms + std::max<int64_t>(wait, 1);
  }
  return next;
}

}  // namespace gatilho::bench
