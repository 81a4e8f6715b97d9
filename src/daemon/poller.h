// Poller: turns due watches into API polls and poll answers into committed state and events.
//
// Pump() reads the earliest due watches from the store (a batch, kept for a short while so that
// a busy loop does not re-read and re-rank the same watches for every answer), lets the planner
// pick those whose token still has credit, and starts a GET for each on the shared HttpClient.
// Each answer is fed to its token's budget (rate-limit headers, 429s) and to the observer, which
// decides the watch's next state, its next poll and the events the change justifies. Flush()
// then writes all decisions gathered since the last one in one store transaction; nothing is
// announced (logged as an event, delivered) before that commit. MaybeFlush() groups answers into
// fewer commits (each one waits for the disk) without holding any decision back for long. A
// watch stays out of Pump() from its poll until its decision is committed, so it is never
// polled twice on one schedule slot.
//
// Threads: the daemon's loop thread only, including the HttpClient callbacks.
// Lifetime: must outlive the transfers it started.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/intake_link.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/wall_step.h"
#include "fiscal/observer.h"
#include "net/http_client.h"
#include "schedule/learner.h"
#include "schedule/planner.h"
#include "schedule/poll_policy.h"
#include "schedule/pressure_gauge.h"
#include "schedule/token_budget.h"
#include "store/store.h"

namespace gatilho {

class Poller {
 public:
  struct Options {
    size_t max_in_flight = 16;
    size_t batch = 256;  // due watches read from the store at a time (the due batch)
    double budget_share = 0.8;
    // Requests per window each token keeps even when the ERP spends past its reserve
    // (TokenBudget::Options::floor_per_window), so that watching never stops entirely.
    int64_t budget_floor = 2;
    int64_t request_timeout_ms = 20'000;
    // MaybeFlush() commits once this many answers wait, or the oldest has waited commit_delay_ms.
    size_t commit_batch = 256;
    int64_t commit_delay_ms = 20;
    // How long a batch of due watches read from the store is planned from before it is read
    // again; a watch that falls due meanwhile waits at most this long for its poll.
    int64_t due_batch_ms = 100;
    Learner::Options learner;
    PressureGauge::Options pressure;
    // Called, on the loop thread, each time the API refuses a company's token (401/403) and
    // the company's polling is paused; the daemon tells the operator. May be empty.
    std::function<void(const std::string& company, int http_status)> on_token_blocked;
  };

  struct Counters {
    uint64_t polls = 0;
    uint64_t events = 0;
    uint64_t rate_limited = 0;
    uint64_t failed = 0;
  };

  // `companies` must outlive the poller.
  Poller(Store& store, HttpClient& http, const Clock& clock,
         const std::map<std::string, CompanyConfig>& companies, PollPolicy policy, Options options);

  // Starts polls for due watches, within each token's budget and max_in_flight.
  Status Pump();

  // Commits the decisions of every answer received since the last Flush(), in one transaction.
  // Every few seconds it also writes token usage and the learned models.
  Status Flush();

  // Flush(), but only once Options::commit_batch answers wait, the oldest has waited
  // Options::commit_delay_ms, or no poll is in flight any more.
  Status MaybeFlush();

  // A request of the ERP seen through the proxy: its answer's rate-limit headers (and a 429)
  // feed the company's token budget as news about the shared limit, and it is counted for the
  // token's figures. A company without a config file is ignored.
  void OnErpRequest(const ErpRequestSeen& seen);

  // A synchronous answer the proxy relayed: registers the watch when missing, then decides it
  // with the same Observer as a poll's answer, gathered for the next Flush() like one, so its
  // events carry the ids a later poll of the same change would compute (the outbox keeps one).
  // An answer for a watch whose poll is in flight waits for that poll's commit. Errors are the
  // store's.
  Status OnSyncAnswer(const SyncAnswer& answer);

  // ERP requests seen through the proxy since start, by token handle.
  const std::map<std::string, int64_t>& erp_requests() const { return erp_requests_; }

  // Forgets the batch of due watches Pump() plans from, so the next Pump() reads the store
  // again: for when another process (the CLI) changed it.
  void ForgetDueBatch() {
    due_batch_.clear();
    candidates_.clear();
  }

  // Writes token usage and the learned models now; for a clean stop.
  Status Checkpoint();

  // The earliest wall time at which Pump() could start a poll or MaybeFlush() would commit, or
  // nullopt when nothing is scheduled. Accounts for polls in flight and for tokens waiting for
  // credit.
  Result<std::optional<int64_t>> NextWakeMs();

  // Whether a poll could start right now (something due, with credit).
  bool HasWorkNow();

  // ---- credits for the other requests made with the companies' tokens ---------------------
  // The received-document feeds spend the same per-token budgets as the polls, through these.

  // Takes one credit of `company`'s token budget, as a poll would, and returns true; false,
  // taking nothing, when the token has no credit now (share spent, paused after a 429), the
  // company's polling is paused because its token was refused, or the company is unknown. Each
  // true must be matched by one OnCreditResponse().
  bool TryAcquireCredit(const std::string& company);

  // Feeds the answer to a request made with a credit of `company`'s token to its budget (status,
  // rate-limit headers; a 429 pauses the token for the polls too) and to the token's usage
  // figures. The response must have kept the rate-limit-* headers.
  void OnCreditResponse(const std::string& company, const HttpResponse& response);

  // The earliest wall time at which `company`'s token may have a credit: now when it has one.
  int64_t NextCreditWallMs(const std::string& company) const;

  // Polls started and not yet answered: the busy watches whose decision is not waiting.
  size_t in_flight() const { return busy_.size() - decided_.size(); }
  size_t unflushed() const { return decided_.size(); }
  const Counters& counters() const { return counters_; }
  const Learner& learner() const { return learner_; }

  // Each token's budget now, in handle order, for /metrics and the status page. erp_requests is
  // left 0: the proxy counts those.
  std::vector<TokenFigures> Tokens() const;

 private:
  struct Decided {
    WatchUpdate update;
    std::vector<std::string> event_notes;  // for the log lines written after the commit
    std::string previous_status;
  };

  // What the last answers said about a token, kept for the store's token record.
  struct TokenSeen {
    int64_t remaining = -1;  // Rate-Limit-Remaining of the last answer; -1 when not seen
    int64_t reset_at_ms = 0;
    int64_t polls = 0;  // polls since the record was last written
    int64_t rate_limited = 0;
    int64_t erp_requests = 0;  // ERP requests seen through the proxy since the last write
  };

  void OnAnswer(const DueWatch& due, const CompanyConfig& company, const HttpResponse& response);
  // Writes every token's usage to the store so `gatilho status` can show it, and the models
  // learned since the last write; at most once per kPersistEveryMs unless forced.
  Status PersistLearned(bool force);
  // The chance that a poll of `watch` now finds its document finished, given that it was still
  // processing at the last poll (the learner's model); 1 for a followed watch.
  double ChanceFinished(const DueWatch& watch, int64_t now) const;
  TokenBudget& BudgetFor(const std::string& handle);
  // Reads the due watches Pump() plans from, when the batch is used up or old.
  Status LoadDueBatch(int64_t now, int64_t now_mono);
  // A wall step seen by wall_step_: commits what was decided before it, then moves the stored
  // schedule and this poller's own wall-time deadlines by the step.
  Status FollowWallStep();
  // The wall time before which `company` must not be polled (credentials refused), or 0.
  int64_t CompanyPausedUntil(const std::string& company) const;

  Store& store_;
  HttpClient& http_;
  const Clock& clock_;
  const std::map<std::string, CompanyConfig>& companies_;
  std::map<std::string, std::string> token_handles_;  // company id -> SecretHandle(token)
  std::map<std::string, EventFilter> filters_;        // company id -> enabled events
  PollPolicy policy_;  // shared by the observer (reads) and the learner (writes schedules)
  Learner learner_;
  PressureGauge gauge_;
  Observer observer_;
  Planner planner_;
  Options options_;
  std::map<std::string, TokenBudget> budgets_;          // by token handle
  std::map<std::string, TokenSeen> token_seen_;         // by token handle
  std::map<std::string, std::string> token_companies_;  // handle -> "acme,beta"
  int64_t persisted_ms_ = 0;
  std::map<std::string, int64_t> company_paused_until_;
  std::set<std::string> warned_companies_;
  // Companies whose API's certificate was rejected since their last HTTP answer: told once.
  std::set<std::string> certificate_rejected_;
  // Encoded keys of watches polled and not yet committed: in flight, or answered and waiting in
  // decided_. Pump() leaves them alone.
  std::set<std::string> busy_;
  std::vector<Decided> decided_;
  int64_t oldest_decided_mono_ = 0;  // when the first answer in decided_ arrived
  // The due batch: watches read from the store at due_batch_loaded_mono_ and the candidates
  // among them not yet polled (PollCandidate::index points into due_batch_).
  std::vector<DueWatch> due_batch_;
  std::vector<PollCandidate> candidates_;
  int64_t due_batch_loaded_mono_ = 0;
  bool starved_ = false;  // the last Pump() left due polls waiting for credit
  std::map<std::string, int64_t> erp_requests_;  // by token handle, since start
  std::vector<SyncAnswer> waiting_sync_;         // for watches busy when the answer came
  Counters counters_;
  WallStepWatch wall_step_;
  int64_t unshifted_step_ms_ = 0;  // a wall step seen but not yet applied to the store
};

}  // namespace gatilho
