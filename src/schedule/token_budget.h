// TokenBudget: the request credits gatilho may spend on ONE Focus NFe API token.
//
// The API allows Rate-Limit-Limit requests (100 by default) per 60-second window per token,
// and the ERP spends the same credits with its own calls. gatilho keeps to a share of the limit
// and must never be the reason a request gets a 429, so two rules bound it:
//   1. In any window_ms interval it sends at most floor(share * limit) requests (its own
//      requests are remembered as timestamps of a sliding window).
//   2. When a response reported Rate-Limit-Remaining, gatilho leaves the ERP its reserve
//      (limit - floor(share * limit)) out of what remains until that window resets: an ERP that
//      spends faster than its reserve makes gatilho back off, not the ERP get refused. The
//      reserve is left whole on top of what the ERP already spent: requests of the ERP and of
//      gatilho race between two answers, and that room is what keeps them from meeting a 429.
// A 429 pauses the token until Rate-Limit-Reset; the caller pauses it on 401/403 too. After a
// 429 the budget probes: one request at a time until an answer is not a 429, so that an API
// that keeps refusing (an ERP spending the whole limit) costs one 429 per pause, not a burst.
// Requests still in flight from before the 429 do not hold the probe back, since one of them
// may hang until the client's timeout; nor does a probe left unanswered for probe_patience_ms,
// for the same reason. Answers are not matched to requests, so any answer to one of gatilho's
// own requests frees the probe's place: at worst an earlier request's answer lets a second
// probe out while the first is still in flight.
// An optional floor (Options::floor_per_window) overrides rule 2 only: that many requests per
// window stay available even when the ERP spent past its reserve, so watching never stops
// entirely; it never exceeds rule 1 and never lifts a pause.
//
// Pure state and arithmetic: no clock, no I/O. Times are milliseconds of a monotonic clock
// (the caller passes Clock::MonotonicMs()). Not thread-safe: one owner (the planner's thread)
// calls it. Its state is lost on restart except what the caller restores with PauseUntil.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace gatilho {

class TokenBudget {
 public:
  struct Options {
    double share = 0.8;                 // of the limit gatilho may use; clamped to [0, 1]
    int64_t window_ms = 60'000;         // the API's rate-limit period
    int64_t default_limit = 100;        // Rate-Limit-Limit until a response says otherwise
    int64_t default_pause_ms = 60'000;  // pause after a 429 that carries no Rate-Limit-Reset
    // Requests per window gatilho may still send when rule 2 allows none; capped at
    // floor(share * limit); 0 = none.
    int64_t floor_per_window = 0;
    // While probing, a probe unanswered this long lets the next one out.
    int64_t probe_patience_ms = 5'000;
  };

  // A budget with default options.
  TokenBudget();
  explicit TokenBudget(Options options);

  // Credits that may be spent at now_ms (>= 0); 0 while paused.
  int64_t Available(int64_t now_ms) const;

  // Takes one credit and returns true if Available(now_ms) > 0; otherwise changes nothing and
  // returns false. Every successful call must later be matched by one OnResponse call.
  bool TryAcquire(int64_t now_ms);

  // Feeds the outcome of one request acquired from this budget: its HTTP status (0 when no
  // HTTP answer came) and the Rate-Limit-Limit / -Remaining / -Reset headers (reset in
  // seconds), nullopt when absent. A 429 pauses until now_ms + reset (or default_pause_ms).
  void OnResponse(int64_t now_ms, int http_status, std::optional<int64_t> limit,
                  std::optional<int64_t> remaining, std::optional<int64_t> reset_seconds);

  // Gives back the credit of a request acquired from this budget that cannot have reached the
  // API (no socket, no connection: HttpResponse::never_sent), in place of its OnResponse call.
  // The window counts one request fewer at once; nothing is learnt, and a probe may go again.
  void OnNotSent(int64_t now_ms);

  // Feeds the outcome of a request someone else (the ERP, through the proxy) made with this
  // token: the same news as OnResponse (limit, rule 2's remaining and reset, a 429's pause and
  // the probing after it) without touching gatilho's own sent or in-flight counts, since the
  // request was never acquired here. Rule 2 keeps the ERP's reserve on top of the remaining it
  // reports, so an ERP spending fast makes gatilho stop before the API would refuse anyone.
  void OnForeignResponse(int64_t now_ms, int http_status, std::optional<int64_t> limit,
                         std::optional<int64_t> remaining, std::optional<int64_t> reset_seconds);

  // The earliest time at or after now_ms at which a credit may be available, so the caller
  // sleeps exactly long enough: now_ms when Available(now_ms) > 0. INT64_MAX when no time
  // will do: the share allows no request at all (floor(share * limit) == 0).
  int64_t NextCreditMs(int64_t now_ms) const;

  // True while a pause (429, 401/403) holds every credit back.
  bool Paused(int64_t now_ms) const { return now_ms < paused_until_ms_; }
  int64_t paused_until_ms() const { return paused_until_ms_; }

  // Holds every credit back until until_ms (for 401/403, or a pause restored after a restart).
  // Replaces the current pause, so an earlier time lifts it.
  void PauseUntil(int64_t until_ms) { paused_until_ms_ = until_ms; }

  // The last Rate-Limit-Limit a response reported, or the default.
  int64_t limit() const { return limit_; }

  // floor(share * limit): the most gatilho sends in any window.
  int64_t share_cap() const { return ShareCap(); }

  // gatilho's own requests acquired in the window_ms that end at now_ms.
  int64_t used_in_window(int64_t now_ms) const;

 private:
  // floor(share * limit): the most gatilho sends in any window.
  int64_t ShareCap() const;
  // The floor in force: floor_per_window capped at ShareCap(), at least 0.
  int64_t Floor() const;
  // What rule 2 still allows, or nullopt when no Rate-Limit-Remaining applies at now_ms.
  std::optional<int64_t> RemainingAllows(int64_t now_ms) const;
  // What any answer on the token teaches: limit, pause, probing and rule 2's figures.
  void Learn(int64_t now_ms, int http_status, std::optional<int64_t> limit,
             std::optional<int64_t> remaining, std::optional<int64_t> reset_seconds);

  Options options_;
  int64_t limit_;
  std::deque<int64_t> sent_ms_;  // own requests, oldest first; pruned to one window on push
  int64_t in_flight_ = 0;        // acquired requests whose outcome has not been fed yet
  int64_t paused_until_ms_ = 0;
  bool probing_ = false;  // since a 429, until an answer that is not one
  // A probe was acquired (at probe_sent_ms_) while probing and no answer of an own request came
  // since.
  bool probe_in_flight_ = false;
  int64_t probe_sent_ms_ = 0;

  // The tightest Rate-Limit-Remaining of the current server window, the own requests counted
  // against it since, and the end of that window.
  int64_t remaining_ = 0;
  int64_t spent_since_remaining_ = 0;
  int64_t remaining_until_ms_ = 0;
};

}  // namespace gatilho
