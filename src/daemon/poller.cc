#include "daemon/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include "core/digest.h"
#include "core/url.h"
#include "fiscal/api_paths.h"
#include "fiscal/consult_parser.h"
#include "fiscal/erp_request.h"
#include "fiscal/sync_answer.h"

namespace gatilho {

namespace {

// How long watches of a company without a config file wait before being looked at again: long
// enough not to churn, short enough that restoring the file brings them back soon.
constexpr int64_t kOrphanRecheckMs = 10 * 60 * 1000;
// How long a company whose token the API refused is left alone before trying again.
constexpr int64_t kUnauthorizedPauseMs = 5 * 60 * 1000;
// How often token usage and learned models are written: often enough for `gatilho status` to be
// current and for a crash to lose little learning, rarely enough to cost nothing next to polls.
constexpr int64_t kPersistEveryMs = 10'000;

// The age, in the current cycle, at which a pending watch's document was last seen processing:
// the last poll's, or 0 (the cycle's start) when no poll came yet or the last one failed and
// so saw nothing.
int64_t LastSeenProcessingAge(const WatchRecord& record) {
  if (record.poll_count == 0 || record.error_streak > 0) return 0;
  return std::max<int64_t>(0, record.last_polled_ms - record.cycle_started_ms);
}

std::optional<int64_t> HeaderInt(const HttpResponse& response, std::string_view name) {
  std::optional<std::string> text = response.Header(name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

bool IsFailure(Outcome outcome) {
  return outcome == Outcome::kServerError || outcome == Outcome::kTransportError ||
         outcome == Outcome::kUnexpected;
}

}  // namespace

Poller::Poller(Store& store, HttpClient& http, const Clock& clock,
               const std::map<std::string, CompanyConfig>& companies, PollPolicy policy,
               Options options)
    : store_(store),
      http_(http),
      clock_(clock),
      companies_(companies),
      policy_(std::move(policy)),
      learner_(&policy_, options.learner),
      gauge_(options.pressure),
      observer_(policy_),
      options_(options),
      wall_step_(clock) {
  int64_t now_wall = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  for (const auto& [id, company] : companies_) {
    std::string handle = SecretHandle(company.token);
    token_handles_[id] = handle;
    std::string& sharing = token_companies_[handle];
    sharing += (sharing.empty() ? "" : ",") + id;
    filters_[id] = EventFilter{{company.events.begin(), company.events.end()}};
    TokenBudget& budget = BudgetFor(handle);
    // A pause the API imposed before a restart still holds: obey it from the stored record.
    Result<TokenRecord> stored = store_.GetToken(handle);
    if (stored.ok() && stored->paused_until_ms > now_wall) {
      budget.PauseUntil(now_mono + (stored->paused_until_ms - now_wall));
    }
  }
  // What earlier runs learned applies from the first poll on; without it, the priors.
  Result<std::vector<ModelRecord>> models = store_.Models();
  if (!models.ok()) {
    spdlog::warn("could not read the learned timings ({}); starting from the defaults",
                 models.status().ToString());
    return;
  }
  for (const ModelRecord& model : *models)
    learner_.Load(model.company, model.type, model.bytes);
}

std::vector<TokenFigures> Poller::Tokens() const {
  const int64_t now_mono = clock_.MonotonicMs();
  std::vector<TokenFigures> tokens;
  for (const auto& [handle, budget] : budgets_) {
    TokenFigures figures;
    figures.handle = handle;
    if (auto it = token_companies_.find(handle); it != token_companies_.end()) {
      figures.companies = it->second;
    }
    figures.limit = budget.limit();
    figures.share_cap = budget.share_cap();
    figures.used_in_window = budget.used_in_window(now_mono);
    figures.available = budget.Available(now_mono);
    figures.paused = budget.Paused(now_mono);
    // TODO(reload): counted by this poller, so a SIGHUP (which rebuilds it) starts it over.
    if (auto it = erp_requests_.find(handle); it != erp_requests_.end()) {
      figures.erp_requests = it->second;
    }
    tokens.push_back(std::move(figures));
  }
  return tokens;
}

TokenBudget& Poller::BudgetFor(const std::string& handle) {
  auto it = budgets_.find(handle);
  if (it == budgets_.end()) {
    TokenBudget::Options budget_options;
    budget_options.share = options_.budget_share;
    budget_options.floor_per_window = options_.budget_floor;
    it = budgets_.emplace(handle, TokenBudget(budget_options)).first;
  }
  return it->second;
}

double Poller::ChanceFinished(const DueWatch& watch, int64_t now) const {
  const WatchRecord& record = watch.record;
  if (record.state != WatchState::kPending) return 1.0;
  int64_t last_age = LastSeenProcessingAge(record);
  int64_t now_age = std::max(last_age + 1, now - record.cycle_started_ms);
  return learner_.ChanceFinished(watch.key.company, watch.key.type, last_age, now_age);
}

int64_t Poller::CompanyPausedUntil(const std::string& company) const {
  auto it = company_paused_until_.find(company);
  return it == company_paused_until_.end() ? 0 : it->second;
}

Status Poller::LoadDueBatch(int64_t now, int64_t now_mono) {
  Result<std::vector<DueWatch>> due = store_.DueWatches(now, options_.batch + busy_.size());
  if (!due.ok()) return due.status();
  due_batch_ = std::move(*due);
  due_batch_loaded_mono_ = now_mono;
  candidates_.clear();
  std::vector<WatchUpdate> deferred;
  for (size_t i = 0; i < due_batch_.size(); ++i) {
    const DueWatch& watch = due_batch_[i];
    if (busy_.count(watch.key.Encode()) != 0) continue;
    int64_t hold_until = 0;
    if (companies_.count(watch.key.company) == 0) {
      if (warned_companies_.insert(watch.key.company).second) {
        spdlog::warn(
            "watches of company {} are not polled: it has no config file any more; restore "
            "{}.conf to resume them (their state is kept)",
            watch.key.company, watch.key.company);
      }
      hold_until = now + kOrphanRecheckMs;
    } else if (CompanyPausedUntil(watch.key.company) > now) {
      hold_until = CompanyPausedUntil(watch.key.company);
    }
    if (hold_until != 0) {
      WatchUpdate update{watch.key, watch.record.cycle, watch.record, {}, std::nullopt};
      update.record.next_poll_ms = hold_until;
      deferred.push_back(std::move(update));
      continue;
    }
    // The planner's budgets run on the monotonic clock; the schedule is stored in wall time.
    int64_t due_mono = now_mono - std::max<int64_t>(0, now - watch.record.next_poll_ms);
    candidates_.push_back(PollCandidate{i, token_handles_.at(watch.key.company), due_mono,
                                        watch.key.company, ChanceFinished(watch, now),
                                        watch.record.state == WatchState::kFollowing});
  }
  if (deferred.empty()) return Status::Ok();
  return store_.Apply(deferred);
}

Status Poller::FollowWallStep() {
  if (std::optional<int64_t> step = wall_step_.Take()) unshifted_step_ms_ += *step;
  if (unshifted_step_ms_ == 0) return Status::Ok();
  // Answers decided before the step carry times of the old wall; they go in first, so that
  // the shift moves them with the rest.
  if (Status flushed = Flush(); !flushed.ok()) return flushed;
  const int64_t step = unshifted_step_ms_;
  Result<uint64_t> moved = store_.ShiftPolls(step);
  if (!moved.ok()) return moved.status();
  unshifted_step_ms_ = 0;
  for (auto& [company, until] : company_paused_until_)
    until += step;
  ForgetDueBatch();
  spdlog::warn(
      "the wall clock jumped {} by {} s: {} scheduled polls moved with it, so each keeps its "
      "wait. If the clock was wrong, check NTP on this host",
      step > 0 ? "forward" : "back", (step > 0 ? step : -step) / 1000, *moved);
  return Status::Ok();
}

Status Poller::Pump() {
  if (Status followed = FollowWallStep(); !followed.ok()) return followed;
  starved_ = false;
  int64_t now = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  gauge_.Update(now_mono, learner_);
  if (in_flight() >= options_.max_in_flight) return Status::Ok();
  if (candidates_.empty() || now_mono - due_batch_loaded_mono_ >= options_.due_batch_ms) {
    Status s = LoadDueBatch(now, now_mono);
    if (!s.ok()) return s;
  }

  size_t room = options_.max_in_flight - in_flight();
  std::map<std::string, size_t> left_without_credit;
  std::vector<size_t> picked =
      planner_.Plan(candidates_, budgets_, now_mono, room, &left_without_credit);
  starved_ = picked.size() < candidates_.size() && picked.size() < room;
  gauge_.OnPass(now_mono, left_without_credit);
  if (!picked.empty()) {
    std::set<size_t> started(picked.begin(), picked.end());
    std::erase_if(candidates_, [&](const PollCandidate& c) { return started.count(c.index) != 0; });
  }

  for (size_t index : picked) {
    const DueWatch& watch = due_batch_.at(index);  // a stale index is a bug, never a guess
    const CompanyConfig& company = companies_.at(watch.key.company);
    gauge_.OnSent(company.id, now - watch.record.next_poll_ms);
    HttpRequest request;
    request.url = ConsultUrl(company.base_url, watch.key.type, watch.key.ref);
    request.basic_user = company.token;
    request.total_timeout_ms = options_.request_timeout_ms;
    request.headers.emplace_back("Accept", "application/json");
    request.keep_headers = {"rate-limit-limit", "rate-limit-remaining", "rate-limit-reset"};
    busy_.insert(watch.key.Encode());
    ++counters_.polls;
    http_.Start(std::move(request), [this, watch, &company](HttpResponse response) {
      OnAnswer(watch, company, response);
    });
  }
  return Status::Ok();
}

void Poller::OnAnswer(const DueWatch& due, const CompanyConfig& company,
                      const HttpResponse& response) {
  int64_t now = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  if (decided_.empty()) oldest_decided_mono_ = now_mono;
  const std::string& handle = token_handles_.at(company.id);
  TokenBudget& budget = BudgetFor(handle);
  std::optional<int64_t> remaining = HeaderInt(response, "rate-limit-remaining");
  std::optional<int64_t> reset = HeaderInt(response, "rate-limit-reset");
  if (response.never_sent) {
    budget.OnNotSent(now_mono);
  } else {
    budget.OnResponse(now_mono, response.status, HeaderInt(response, "rate-limit-limit"), remaining,
                      reset);
  }
  TokenSeen& seen = token_seen_[handle];
  ++seen.polls;
  if (remaining) seen.remaining = *remaining;
  if (reset) seen.reset_at_ms = now + *reset * 1000;

  if (response.certificate_rejected) {
    if (certificate_rejected_.insert(company.id).second) {
      spdlog::error(
          "the API of company {} at {} presented a TLS certificate gatilho does not trust ({}); "
          "its polls fail until it does. Verification cannot be turned off: check base_url in "
          "{}, or add the CA that signs the API's certificate to the system's CA store",
          company.id, UrlForDisplay(company.base_url), response.error, company.source_file);
    }
  } else if (response.status != 0 && certificate_rejected_.erase(company.id) > 0) {
    spdlog::info("the API of company {} is trusted again: its polls get answers", company.id);
  }
  Observation observation =
      ParseConsult(due.key.type, response.status, response.body, response.error);
  ObserverDecision decision =
      observer_.Observe(due.key, due.record, observation, now, filters_.at(company.id));

  if (decision.rate_limited) {
    ++counters_.rate_limited;
    int64_t pause_ms = std::max<int64_t>(0, budget.paused_until_ms() - now_mono);
    spdlog::warn(
        "the API answered 429 (rate limit) to a poll of company {}; polling with that token is "
        "paused for {} s. If the ERP needs more of the limit, lower budget_share",
        company.id, pause_ms / 1000);
    ++seen.rate_limited;
    // A restart must obey the pause, so the record is written now rather than in a while.
    persisted_ms_ = 0;
  }
  if (decision.unauthorized && CompanyPausedUntil(company.id) <= now) {
    company_paused_until_[company.id] = now + kUnauthorizedPauseMs;
    spdlog::error(
        "the API refused the token of company {} (HTTP {}); its polling is paused for {} min. "
        "Fix token or token_file in {}",
        company.id, response.status, kUnauthorizedPauseMs / 60000, company.source_file);
    if (options_.on_token_blocked) options_.on_token_blocked(company.id, response.status);
  }
  if (IsFailure(observation.outcome)) {
    ++counters_.failed;
    if (due.record.error_streak == 0) {
      spdlog::warn("poll of {} failed: {}; retrying in {} s", due.key.ToString(),
                   observation.problem, (decision.record.next_poll_ms - now) / 1000);
    }
  } else if (observation.outcome == Outcome::kDocument && due.record.error_streak > 0) {
    spdlog::info("poll of {} works again after {} failures", due.key.ToString(),
                 due.record.error_streak);
  }

  if (decision.completed && due.record.state == WatchState::kPending) {
    // The document finished after the last poll that saw it processing and by this answer.
    const WatchRecord& before = due.record;
    int64_t lower = LastSeenProcessingAge(before);
    int64_t upper = std::max(lower + 1, now - before.cycle_started_ms);
    learner_.RecordCompletion(company.id, due.key.type, lower, upper);
  }

  Decided decided;
  decided.previous_status = due.record.last_status;
  for (const EventRecord& event : decision.events)
    decided.event_notes.push_back(event.type);
  decided.update.key = due.key;
  decided.update.expected_cycle = due.record.cycle;
  decided.update.record = std::move(decision.record);
  decided.update.events = std::move(decision.events);
  decided.update.history = std::move(decision.history);
  decided_.push_back(std::move(decided));
}

void Poller::OnErpRequest(const ErpRequestSeen& seen) {
  auto handle_it = token_handles_.find(seen.company);
  if (handle_it == token_handles_.end()) return;
  const std::string& handle = handle_it->second;
  int64_t now = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  TokenBudget& budget = BudgetFor(handle);
  const bool was_paused = budget.Paused(now_mono);
  budget.OnForeignResponse(now_mono, seen.http_status, seen.limit, seen.remaining,
                           seen.reset_seconds);
  ++erp_requests_[handle];
  TokenSeen& token = token_seen_[handle];
  ++token.erp_requests;
  if (seen.remaining) token.remaining = *seen.remaining;
  if (seen.reset_seconds) token.reset_at_ms = now + *seen.reset_seconds * 1000;
  if (seen.http_status == 429 && !was_paused) {
    spdlog::warn(
        "the API answered 429 (rate limit) to a request of the ERP of company {} seen through "
        "the proxy; polling with that token is paused for {} s. If this repeats, the ERP spends "
        "more than its reserve: lower budget_share or spread the ERP's requests",
        seen.company, std::max<int64_t>(0, budget.paused_until_ms() - now_mono) / 1000);
    // A restart must obey the pause, so the record is written now rather than in a while.
    persisted_ms_ = 0;
  }
}

Status Poller::OnSyncAnswer(const SyncAnswer& answer) {
  auto company_it = companies_.find(answer.company);
  if (company_it == companies_.end()) return Status::Ok();
  const CompanyConfig& company = company_it->second;
  WatchKey key{answer.company, answer.type, answer.ref};
  const std::string encoded = key.Encode();
  if (busy_.count(encoded) != 0) {
    // Its poll's decision (or an earlier answer's) is not committed yet; deciding now would
    // start from the record that decision is about to replace.
    waiting_sync_.push_back(answer);
    return Status::Ok();
  }
  int64_t now = clock_.WallMs();
  Result<WatchRecord> record = store_.GetWatch(key);
  if (!record.ok() && record.status().code() == Status::Code::kNotFound) {
    Result<std::vector<Store::AddOutcome>> added =
        store_.AddWatches({key}, now, policy_.FirstPoll(company.id, key.type, now));
    if (!added.ok()) return added.status();
    record = store_.GetWatch(key);
  }
  if (!record.ok()) return record.status();

  ErpRequestKind kind = ErpRequestKind::kEmission;
  if (answer.kind == SyncAnswerKind::kCancellation) kind = ErpRequestKind::kCancellation;
  if (answer.kind == SyncAnswerKind::kCorrection) kind = ErpRequestKind::kCorrection;
  std::optional<DocumentFacts> previous;
  if (!record->detail.empty()) previous = DocumentFacts::Decode(record->detail);
  std::optional<Observation> observation =
      ReadSyncAnswer(kind, key.type, answer.http_status, answer.body, previous);
  if (!observation) return Status::Ok();

  ObserverDecision decision =
      observer_.Observe(key, *record, *observation, now, filters_.at(company.id));
  if (decided_.empty()) oldest_decided_mono_ = clock_.MonotonicMs();
  Decided decided;
  decided.previous_status = record->last_status;
  for (const EventRecord& event : decision.events)
    decided.event_notes.push_back(event.type);
  decided.update.key = key;
  decided.update.expected_cycle = record->cycle;
  decided.update.record = std::move(decision.record);
  decided.update.events = std::move(decision.events);
  decided.update.history = std::move(decision.history);
  decided_.push_back(std::move(decided));
  busy_.insert(encoded);
  // A poll planned from the due batch before this answer came would only repeat it.
  std::erase_if(candidates_, [&](const PollCandidate& candidate) {
    return due_batch_.at(candidate.index).key == key;
  });
  spdlog::debug("{}: a synchronous answer (HTTP {}) seen through the proxy is decided like a poll",
                key.ToString(), answer.http_status);
  return Status::Ok();
}

Status Poller::PersistLearned(bool force) {
  int64_t now = clock_.WallMs();
  if (!force && now - persisted_ms_ < kPersistEveryMs) return Status::Ok();
  persisted_ms_ = now;
  int64_t now_mono = clock_.MonotonicMs();
  for (auto& [handle, seen] : token_seen_) {
    Result<TokenRecord> stored = store_.GetToken(handle);
    TokenRecord record = stored.ok() ? *stored : TokenRecord{};
    const TokenBudget& budget = BudgetFor(handle);
    record.limit = budget.limit();
    record.share_credits = static_cast<int64_t>(options_.budget_share * budget.limit());
    record.polls_in_window = budget.used_in_window(now_mono);
    if (seen.remaining >= 0) record.remaining = seen.remaining;
    if (seen.reset_at_ms > 0) record.reset_at_ms = seen.reset_at_ms;
    record.paused_until_ms =
        budget.Paused(now_mono) ? now + (budget.paused_until_ms() - now_mono) : 0;
    record.polls_total += seen.polls;
    record.rate_limited_total += seen.rate_limited;
    record.erp_requests_total += seen.erp_requests;
    record.companies = token_companies_[handle];
    record.updated_ms = now;
    Status s = store_.PutToken(handle, record);
    if (!s.ok()) return s;
    seen.polls = 0;
    seen.rate_limited = 0;
    seen.erp_requests = 0;
  }
  std::vector<ModelRecord> models;
  for (auto& [key, bytes] : learner_.TakeChanged())
    models.push_back(ModelRecord{key.first, key.second, std::move(bytes)});
  if (models.empty()) return Status::Ok();
  return store_.PutModels(models);
}

Status Poller::Checkpoint() {
  return PersistLearned(/*force=*/true);
}

Status Poller::Flush() {
  Status learned = PersistLearned(/*force=*/false);
  if (!learned.ok()) return learned;
  if (decided_.empty()) return Status::Ok();
  std::vector<WatchUpdate> updates;
  updates.reserve(decided_.size());
  for (const Decided& decided : decided_)
    updates.push_back(decided.update);
  Status s = store_.Apply(updates);
  if (!s.ok()) return s;
  // Only now, with the transaction committed, are the changes real enough to announce.
  for (const Decided& decided : decided_) {
    busy_.erase(decided.update.key.Encode());
    const WatchRecord& record = decided.update.record;
    counters_.events += decided.event_notes.size();
    if (!decided.event_notes.empty()) {
      std::string types;
      for (const std::string& type : decided.event_notes) {
        if (!types.empty()) types += ", ";
        types += type;
      }
      spdlog::info("{} is {} after {} polls: event {} queued for delivery; watch is {}",
                   decided.update.key.ToString(),
                   record.last_status.empty() ? "unknown" : record.last_status, record.poll_count,
                   types, WatchStateName(record.state));
    } else if (record.last_status != decided.previous_status && !record.last_status.empty()) {
      spdlog::debug("{} is {} after {} polls", decided.update.key.ToString(), record.last_status,
                    record.poll_count);
    }
  }
  decided_.clear();
  // Answers that waited for a poll's commit can be decided now, and committed with this Flush
  // (a caller about to drop the poller relies on it). Each round decides at least the first
  // waiting answer of every document, so the rounds end.
  std::vector<SyncAnswer> waiting = std::exchange(waiting_sync_, {});
  if (waiting.empty()) return Status::Ok();
  for (const SyncAnswer& answer : waiting) {
    if (Status synced = OnSyncAnswer(answer); !synced.ok()) return synced;
  }
  return Flush();
}

Status Poller::MaybeFlush() {
  if (decided_.empty()) return PersistLearned(/*force=*/false);
  const bool due = decided_.size() >= options_.commit_batch || in_flight() == 0 ||
                   clock_.MonotonicMs() - oldest_decided_mono_ >= options_.commit_delay_ms;
  return due ? Flush() : PersistLearned(/*force=*/false);
}

Result<std::optional<int64_t>> Poller::NextWakeMs() {
  int64_t now = clock_.WallMs();
  std::optional<int64_t> next;
  if (!candidates_.empty()) {
    // Every candidate of the batch was due when it was read.
    next = now;
  } else {
    Result<std::vector<DueWatch>> due =
        store_.DueWatches(std::numeric_limits<int64_t>::max(), busy_.size() + 1);
    if (!due.ok()) return due.status();
    for (const DueWatch& watch : *due) {
      if (busy_.count(watch.key.Encode()) == 0) {
        next = watch.record.next_poll_ms;
        break;
      }
    }
  }
  std::optional<int64_t> commit;
  if (!decided_.empty()) {
    commit = now + std::max<int64_t>(
                       0, oldest_decided_mono_ + options_.commit_delay_ms - clock_.MonotonicMs());
  }
  if (!next) return commit;
  if (*next <= now && (starved_ || in_flight() >= options_.max_in_flight)) {
    if (in_flight() >= options_.max_in_flight) {
      // A finishing poll wakes the loop through the HttpClient; no timer needed.
      int64_t answer_by = now + options_.request_timeout_ms;
      return std::optional<int64_t>(commit ? std::min(answer_by, *commit) : answer_by);
    }
    // Due polls wait for credit: sleep until the first token can spend again.
    int64_t now_mono = clock_.MonotonicMs();
    int64_t wait = std::numeric_limits<int64_t>::max();
    for (const auto& [handle, budget] : budgets_) {
      if (budget.Available(now_mono) > 0) continue;
      const int64_t at = budget.NextCreditMs(now_mono);
      if (at != std::numeric_limits<int64_t>::max()) wait = std::min(wait, at - now_mono);
    }
    // No budget can tell when (a probe after a 429 is in flight): its answer wakes the loop.
    if (wait == std::numeric_limits<int64_t>::max()) wait = options_.request_timeout_ms;
    next = now + std::max<int64_t>(wait, 1);
  }
  if (commit) next = std::min(*next, *commit);
  return next;
}

bool Poller::TryAcquireCredit(const std::string& company) {
  auto handle = token_handles_.find(company);
  if (handle == token_handles_.end()) return false;
  if (CompanyPausedUntil(company) > clock_.WallMs()) return false;
  return BudgetFor(handle->second).TryAcquire(clock_.MonotonicMs());
}

void Poller::OnCreditResponse(const std::string& company, const HttpResponse& response) {
  auto handle = token_handles_.find(company);
  if (handle == token_handles_.end()) return;
  int64_t now = clock_.WallMs();
  TokenBudget& budget = BudgetFor(handle->second);
  std::optional<int64_t> remaining = HeaderInt(response, "rate-limit-remaining");
  std::optional<int64_t> reset = HeaderInt(response, "rate-limit-reset");
  if (response.never_sent) {
    budget.OnNotSent(clock_.MonotonicMs());
  } else {
    budget.OnResponse(clock_.MonotonicMs(), response.status,
                      HeaderInt(response, "rate-limit-limit"), remaining, reset);
  }
  TokenSeen& seen = token_seen_[handle->second];
  ++seen.polls;
  if (remaining) seen.remaining = *remaining;
  if (reset) seen.reset_at_ms = now + *reset * 1000;
  if (response.status == 429) {
    ++seen.rate_limited;
    // A restart must obey the pause, so the record is written soon rather than in a while.
    persisted_ms_ = 0;
  }
}

int64_t Poller::NextCreditWallMs(const std::string& company) const {
  int64_t now = clock_.WallMs();
  auto handle = token_handles_.find(company);
  if (handle == token_handles_.end()) return now;
  int64_t paused_until = CompanyPausedUntil(company);
  if (paused_until > now) return paused_until;
  auto budget = budgets_.find(handle->second);
  if (budget == budgets_.end()) return now;
  int64_t now_mono = clock_.MonotonicMs();
  int64_t at = budget->second.NextCreditMs(now_mono);
  if (at == std::numeric_limits<int64_t>::max()) return now + options_.request_timeout_ms;
  return now + std::max<int64_t>(0, at - now_mono);
}

bool Poller::HasWorkNow() {
  Result<std::optional<int64_t>> next = NextWakeMs();
  return next.ok() && next->has_value() && **next <= clock_.WallMs();
}

}  // namespace gatilho
