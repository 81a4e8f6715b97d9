// Observer: what one poll result means for a watch.
//
// Purpose: given the stored watch, the parsed answer (Observation) and the time, it decides the
// watch's next state and poll time, the events to add to the outbox and the line to add to the
// document's history. It is the whole "observe" step of the daemon minus the I/O: the caller
// writes the decision to the store in one transaction and delivers nothing before that commits.
// Threads: Observe() is const and touches no shared state; one Observer can serve all threads.
// Lifetime: the Observer reads the PollPolicy it was given, which must outlive it; schedules
// the learner writes into that policy apply from the next Observe() on.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/watch.h"
#include "fiscal/consult_parser.h"
#include "schedule/poll_policy.h"

namespace gatilho {

// The event types a company wants delivered.
struct EventFilter {
  std::set<std::string, std::less<>> enabled;  // empty: every type

  bool Allows(std::string_view type) const;
};

struct ObserverDecision {
  WatchRecord record;  // the watch after this poll
  // New outbox events, oldest first: pending, due now, payload ready to deliver.
  std::vector<EventRecord> events;
  // Set when this poll's outcome kind or status differs from the previous poll's, or when an
  // event happened (even one the filter suppressed).
  std::optional<HistoryEntry> history;
  bool unauthorized = false;  // the token was refused: the daemon pauses the company
  bool rate_limited = false;  // a 429: the daemon pauses the token
  // This answer ended the cycle's processing with a status the API gave (not a timeout): the
  // document finished between the previous poll and this one, which is what the learner needs.
  bool completed = false;
};

class Observer {
 public:
  explicit Observer(const PollPolicy& policy);

  // Decides what `observation`, received at `now_ms` for the watch `key` whose stored record is
  // `current`, leads to:
  // - a document: the events of Classify() that `filter` allows, with the answer's body byte
  //   for byte as payload. A cycle that ended is followed while the policy's follow window
  //   lasts (state kFollowing), otherwise done (kDone, next_poll_ms 0). A document still
  //   processing past the type's maximum age ends with a "timeout" event.
  // - not found: after the policy's grace period of consecutive 404s, a "nao_encontrado"
  //   event ends the cycle. A document whose cycle already ended cannot vanish, so a 404 then
  //   counts as an error instead.
  // - server, transport or unexpected errors: no state change and no event; the next poll
  //   backs off with the error streak. The maximum age still applies while processing.
  // - rate limited: retry after the first backoff step; the poll is not counted.
  // - unauthorized: retry in 5 minutes; no state change.
  // The two bridge-made events carry a small JSON payload:
  // {"ref","tipo","evento","status","idade_segundos"}.
  ObserverDecision Observe(const WatchKey& key, const WatchRecord& current,
                           const Observation& observation, int64_t now_ms,
                           const EventFilter& filter) const;

 private:
  const PollPolicy& policy_;
};

}  // namespace gatilho
