#include "daemon/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/digest.h"
#include "fiscal/api_paths.h"
#include "fiscal/consult_parser.h"

namespace gatilho {

namespace {

// How long watches of a company without a config file wait before being looked at again: long
// enough not to churn, short enough that restoring the file brings them back soon.
constexpr int64_t kOrphanRecheckMs = 10 * 60 * 1000;
// How long a company whose token the API refused is left alone before trying again.
constexpr int64_t kUnauthorizedPauseMs = 5 * 60 * 1000;

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
      observer_(policy_),
      options_(options) {
  int64_t now_wall = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  for (const auto& [id, company] : companies_) {
    std::string handle = SecretHandle(company.token);
    token_handles_[id] = handle;
    filters_[id] = EventFilter{{company.events.begin(), company.events.end()}};
    TokenBudget& budget = BudgetFor(handle);
    // A pause the API imposed before a restart still holds: obey it from the stored record.
    Result<TokenRecord> stored = store_.GetToken(handle);
    if (stored.ok() && stored->paused_until_ms > now_wall) {
      budget.PauseUntil(now_mono + (stored->paused_until_ms - now_wall));
    }
  }
}

TokenBudget& Poller::BudgetFor(const std::string& handle) {
  auto it = budgets_.find(handle);
  if (it == budgets_.end()) {
    TokenBudget::Options budget_options;
    budget_options.share = options_.budget_share;
    it = budgets_.emplace(handle, TokenBudget(budget_options)).first;
  }
  return it->second;
}

int64_t Poller::CompanyPausedUntil(const std::string& company) const {
  auto it = company_paused_until_.find(company);
  return it == company_paused_until_.end() ? 0 : it->second;
}

Status Poller::Pump() {
  starved_ = false;
  if (in_flight_.size() >= options_.max_in_flight) return Status::Ok();
  int64_t now = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  Result<std::vector<DueWatch>> due = store_.DueWatches(now, options_.batch + in_flight_.size());
  if (!due.ok()) return due.status();

  std::vector<PollCandidate> candidates;
  std::vector<WatchUpdate> deferred;
  for (size_t i = 0; i < due->size(); ++i) {
    const DueWatch& watch = (*due)[i];
    if (in_flight_.count(watch.key.Encode()) != 0) continue;
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
    candidates.push_back(PollCandidate{i, token_handles_.at(watch.key.company), due_mono});
  }
  if (!deferred.empty()) {
    Status s = store_.Apply(deferred);
    if (!s.ok()) return s;
  }

  size_t room = options_.max_in_flight - in_flight_.size();
  std::vector<size_t> picked = planner_.Plan(candidates, budgets_, now_mono, room);
  starved_ = picked.size() < candidates.size() && picked.size() < room;

  for (size_t index : picked) {
    const DueWatch& watch = (*due)[index];
    const CompanyConfig& company = companies_.at(watch.key.company);
    HttpRequest request;
    request.url = ConsultUrl(company.base_url, watch.key.type, watch.key.ref);
    request.basic_user = company.token;
    request.total_timeout_ms = options_.request_timeout_ms;
    request.headers.emplace_back("Accept", "application/json");
    in_flight_.insert(watch.key.Encode());
    ++counters_.polls;
    http_.Start(std::move(request), [this, watch, &company](HttpResponse response) {
      OnAnswer(watch, company, response);
    });
  }
  return Status::Ok();
}

void Poller::OnAnswer(const DueWatch& due, const CompanyConfig& company,
                      const HttpResponse& response) {
  in_flight_.erase(due.key.Encode());
  int64_t now = clock_.WallMs();
  int64_t now_mono = clock_.MonotonicMs();
  const std::string& handle = token_handles_.at(company.id);
  TokenBudget& budget = BudgetFor(handle);
  budget.OnResponse(now_mono, response.status, HeaderInt(response, "rate-limit-limit"),
                    HeaderInt(response, "rate-limit-remaining"),
                    HeaderInt(response, "rate-limit-reset"));

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
    Result<TokenRecord> stored = store_.GetToken(handle);
    TokenRecord record = stored.ok() ? *stored : TokenRecord{};
    record.paused_until_ms = now + pause_ms;
    record.updated_ms = now;
    ++record.rate_limited_total;
    Status s = store_.PutToken(handle, record);
    if (!s.ok()) spdlog::error("could not persist the rate-limit pause: {}", s.ToString());
  }
  if (decision.unauthorized && CompanyPausedUntil(company.id) <= now) {
    company_paused_until_[company.id] = now + kUnauthorizedPauseMs;
    spdlog::error(
        "the API refused the token of company {} (HTTP {}); its polling is paused for {} min. "
        "Fix token or token_file in {}",
        company.id, response.status, kUnauthorizedPauseMs / 60000, company.source_file);
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

Status Poller::Flush() {
  if (decided_.empty()) return Status::Ok();
  std::vector<WatchUpdate> updates;
  updates.reserve(decided_.size());
  for (const Decided& decided : decided_)
    updates.push_back(decided.update);
  Status s = store_.Apply(updates);
  if (!s.ok()) return s;
  // Only now, with the transaction committed, are the changes real enough to announce.
  for (const Decided& decided : decided_) {
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
  return Status::Ok();
}

Result<std::optional<int64_t>> Poller::NextWakeMs() {
  Result<std::vector<DueWatch>> due =
      store_.DueWatches(std::numeric_limits<int64_t>::max(), in_flight_.size() + 1);
  if (!due.ok()) return due.status();
  std::optional<int64_t> next;
  for (const DueWatch& watch : *due) {
    if (in_flight_.count(watch.key.Encode()) == 0) {
      next = watch.record.next_poll_ms;
      break;
    }
  }
  if (!next) return next;
  int64_t now = clock_.WallMs();
  if (*next <= now && (starved_ || in_flight_.size() >= options_.max_in_flight)) {
    if (in_flight_.size() >= options_.max_in_flight) {
      // A finishing poll wakes the loop through the HttpClient; no timer needed.
      return std::optional<int64_t>(now + options_.request_timeout_ms);
    }
    // Due polls wait for credit: sleep until the first token can spend again.
    int64_t now_mono = clock_.MonotonicMs();
    int64_t wait = std::numeric_limits<int64_t>::max();
    for (const auto& [handle, budget] : budgets_) {
      if (budget.Available(now_mono) > 0) continue;
      wait = std::min(wait, budget.NextCreditMs(now_mono) - now_mono);
    }
    if (wait != std::numeric_limits<int64_t>::max()) next = now + std::max<int64_t>(wait, 1);
  }
  return next;
}

bool Poller::HasWorkNow() {
  Result<std::optional<int64_t>> next = NextWakeMs();
  return next.ok() && next->has_value() && **next <= clock_.WallMs();
}

}  // namespace gatilho
