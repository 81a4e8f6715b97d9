// Store: gatilho's durable state in one LMDB environment under the data directory.
//
// Tables (LMDB named databases; every value has an explicit, versioned encoding, see codec.h):
//   watches   WatchKey::Encode()                          -> WatchRecord
//   due       be64(next_poll_ms) + WatchKey::Encode()     -> (empty)  the schedule, ordered
//   history   WatchKey::Encode() + '\0' + be64(time) + be32(n) -> HistoryEntry
//   outbox    be64(seq)                                   -> EventRecord
//   event_ids event id                                    -> be64(seq)  dedupe of event ids
//   queue     WatchKey::Encode() + '\0' + be64(seq)       -> (empty)  pending events per document
//   company_ready  company + '\0' + be64(next_attempt_ms) + be64(seq) -> (empty)  the head event
//                                                     of each document's queue, per company, so
//                                                     that a company whose endpoint is down costs
//                                                     the others nothing
//   attempts  be64(seq) + be32(attempt)                   -> AttemptRecord, the latest
//                                                          kMaxAttemptsPerEvent of each event
//   endpoints sink URL or folder                          -> EndpointRecord
//   tokens    token handle                                -> TokenRecord
//   cursors   cnpj + '\0' + feed + '\0' + environment      -> FeedCursor  where each
//                                                          received-document feed stands
//   meta      "schema_version" -> be32, "next_seq" -> be64 (the next outbox seq)
// (Stores written before `company_ready` had one `ready` table ordered by time alone; Open()
// moves its entries over.)
// The '\0' after a document's key keeps ref "A" from matching the entries of ref "AB".
//
// Threads and processes: one Store object per process (LMDB forbids opening an environment
// twice in one process), safe to call from several threads at once: the daemon's loop and the
// local API's connections share it, and their transactions take turns. Several processes may
// open the same directory at once: the CLI registers watches while the daemon runs. Every public
// method is one transaction; a write method's effects are all visible or none is. When the map is
// full, the store grows it and retries instead of failing; when another process grew it, it adopts
// the new size.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/result.h"
#include "core/status.h"
#include "core/watch.h"

namespace gatilho {

// The rate-limit facts last known for one API token (persisted so a restart obeys a pause).
struct TokenRecord {
  int64_t limit = 0;            // Rate-Limit-Limit; 0 if never seen
  int64_t remaining = 0;        // Rate-Limit-Remaining at updated_ms
  int64_t reset_at_ms = 0;      // wall time the API's window resets
  int64_t paused_until_ms = 0;  // after a 429 or 401/403: no polls before this wall time
  int64_t updated_ms = 0;
  int64_t polls_total = 0;         // polls ever made with this token
  int64_t rate_limited_total = 0;  // 429s ever received
  int64_t polls_in_window = 0;     // gatilho's polls in the rate-limit window before updated_ms
  int64_t share_credits = 0;       // what gatilho may spend per window: share of the limit
  std::string companies;           // the companies polling with this token, comma-separated
  int64_t erp_requests_total = 0;  // requests of the ERP seen through the proxy, ever
};

// A learned completion model of one (company, document type), as CompletionModel::Encode()d.
struct ModelRecord {
  std::string company;
  DocType type = DocType::kNfe;
  std::string bytes;
};

// What the operator (or a 410 Gone) decided about one delivery endpoint.
struct EndpointRecord {
  bool disabled = false;
  std::string reason;  // why it was disabled, e.g. "410 Gone" or "disabled by the operator"
  int64_t changed_ms = 0;
};

// Which events ListEvents() returns.
struct EventQuery {
  std::string company;              // empty: every company
  std::optional<EventState> state;  // nullopt: every state
  int64_t since_ms = 0;             // only events created at or after this wall time
  size_t limit = 100;
};

// What PruneFinished() removed.
struct PruneOutcome {
  uint64_t events = 0;
  uint64_t attempts = 0;
  bool more = false;  // it stopped at its scan bound; call again for the rest
};

struct DueWatch {
  WatchKey key;
  WatchRecord record;
};

// One poll's result as the observer decided it: the new record, the events it justifies and
// the history line, applied together.
struct WatchUpdate {
  WatchKey key;
  uint32_t expected_cycle = 0;      // the update is skipped if the watch moved to another cycle
  WatchRecord record;               // replaces the stored record; its next_poll_ms reschedules it
  std::vector<EventRecord> events;  // appended to the outbox (seq assigned here)
  std::optional<HistoryEntry> history;
};

// Identifies one received-document feed's cursor: the API keeps one `versao` sequence per CNPJ,
// feed and environment. None of the parts contains NUL.
struct FeedCursorKey {
  std::string cnpj;
  std::string feed;  // "nfe", "cte", "nfse"
  // "producao", "homologacao", or the base URL (without credentials) when only that is set
  std::string environment;
};

// Where one feed stands: the highest versao whose documents are in the outbox, and when the feed
// was last fetched (wall time).
struct FeedCursor {
  int64_t versao = 0;
  int64_t fetched_ms = 0;
};

// One watch to register with its own first poll (AddWatches).
struct NewWatch {
  WatchKey key;
  int64_t first_poll_ms = 0;
};

struct StoreCounts {
  uint64_t watches_pending = 0;
  uint64_t watches_following = 0;
  uint64_t watches_done = 0;
  uint64_t watches_paused = 0;
  uint64_t watches_failing = 0;  // any state: the last poll got no usable answer
  uint64_t events_pending = 0;
  uint64_t events_delivered = 0;
  uint64_t events_dead = 0;
  uint64_t events_superseded = 0;
};

class Store {
 public:
  struct Options {
    std::string dir;                         // created if missing
    size_t initial_map_bytes = 64ull << 20;  // grown automatically when full
    size_t max_map_bytes = 1ull << 40;       // growth stops here with ResourceExhausted
    // What the ResourceExhausted message tells the reader to do about a map at its maximum.
    std::string when_full = "raise the store's maximum map size or move old data out";
  };

  // Opens (creating if needed) the environment in options.dir. Fails with a Status naming the
  // directory and what to do when it is not writable, holds another schema version, or is not
  // an LMDB environment.
  static Result<std::unique_ptr<Store>> Open(const Options& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The schema version this build reads and writes.
  static constexpr uint32_t kSchemaVersion = 1;

  // ---- watches ---------------------------------------------------------------------------

  struct AddOutcome {
    bool created = false;        // no watch existed for the key
    bool new_cycle = false;      // the watch existed, its cycle had ended, and a new one started
    bool polled_sooner = false;  // a watch in its cycle moved its next poll to first_poll_ms
    uint32_t cycle = 1;          // the cycle the watch is in after the call
  };

  // Registers each key in one transaction. A new key starts cycle 1, pending, first polled at
  // first_poll_ms. A key whose watch is kDone starts its next cycle the same way (the ERP
  // re-submitted the ref). A key that is pending, following or paused keeps its cycle and state;
  // only its next poll moves to first_poll_ms when that is sooner.
  Result<std::vector<AddOutcome>> AddWatches(const std::vector<WatchKey>& keys, int64_t now_ms,
                                             int64_t first_poll_ms);
  // The same, each watch with its own first poll (a batch mixing companies and types), in one
  // transaction; outcomes in the order of `watches`.
  Result<std::vector<AddOutcome>> AddWatches(const std::vector<NewWatch>& watches, int64_t now_ms);

  // Stops watching `key`: removes its record and its place in the schedule, in one
  // transaction. Its history and its events (pending ones included, which are still delivered)
  // stay. NotFound when there is no watch for `key`.
  Status RemoveWatch(const WatchKey& key);

  // The record for `key`, or a NotFound status.
  Result<WatchRecord> GetWatch(const WatchKey& key);

  // Up to `limit` watches whose next poll is at or before now_ms, earliest first.
  Result<std::vector<DueWatch>> DueWatches(int64_t now_ms, size_t limit);

  // The earliest scheduled poll, or nullopt when nothing is scheduled.
  Result<std::optional<int64_t>> NextDueMs();

  // After the wall clock was stepped by delta_ms: moves every scheduled watch's next poll, and
  // the times its policy measures from (cycle start, last poll, first 404), by delta_ms, so each
  // keeps the wait and the age it had. created_ms and history stay as they were recorded. One
  // transaction; returns how many watches moved.
  Result<uint64_t> ShiftPolls(int64_t delta_ms);

  // The same for deliveries: every pending event's next attempt and first attempt (where its
  // retry horizon starts) move by delta_ms; created_ms stays. Returns how many events moved.
  Result<uint64_t> ShiftRetries(int64_t delta_ms);

  // Applies the updates in one transaction. Events whose id already exists in the outbox are
  // not appended again (the same change seen twice after a crash).
  Status Apply(const std::vector<WatchUpdate>& updates);

  // The watches of `company` (of every company when empty), optionally of one type only; in
  // key order, at most `limit`.
  Result<std::vector<DueWatch>> ListWatches(const std::string& company, std::optional<DocType> type,
                                            size_t limit);

  // A document's history, oldest first.
  Result<std::vector<HistoryEntry>> History(const WatchKey& key);

  // ---- outbox ----------------------------------------------------------------------------

  // Attempts kept per event; older ones are dropped as new ones are recorded, so an endpoint
  // that answers 429 every second for days cannot grow the store without bound.
  static constexpr uint32_t kMaxAttemptsPerEvent = 100;

  // Up to `limit` pending events of `company` whose next attempt is due at or before now_ms and
  // that are the oldest pending event of their document (so a document's events go out in
  // order), earliest first.
  Result<std::vector<EventRecord>> ReadyEvents(const std::string& company, int64_t now_ms,
                                               size_t limit);

  // The (next_attempt_ms, seq) of up to `limit` of `company`'s ready events, earliest first,
  // read from the index alone: what a wake-up time needs, without decoding any event.
  Result<std::vector<std::pair<int64_t, uint64_t>>> ReadyTimes(const std::string& company,
                                                               size_t limit);

  // The companies that have pending events, in id order.
  Result<std::vector<std::string>> CompaniesWithPendingEvents();

  // Records an attempt on event `seq` and moves it to `new_state`. kPending reschedules it at
  // next_attempt_ms; kDelivered and kDead release the document's next event. The event's
  // first_attempt_ms is set by its first attempt of a round, its finished_ms when it leaves
  // kPending.
  Status RecordAttempt(uint64_t seq, const AttemptRecord& attempt, EventState new_state,
                       int64_t next_attempt_ms);

  // Puts event `seq` back to pending, due at now_ms, as a new round of retries (its retry
  // horizon starts again; its id, and so its webhook-id, stays). Returns false, changing
  // nothing, when the event is already pending. NotFound when there is no such event.
  Result<bool> Redeliver(uint64_t seq, int64_t now_ms);

  // The event whose id (its webhook-id) is `id`, or NotFound.
  Result<EventRecord> FindEvent(const std::string& id);

  // The events that match `filter`, in outbox order.
  Result<std::vector<EventRecord>> ListEvents(const EventQuery& filter);

  // Catch-up: every pending event of `key` except the newest becomes kSuperseded, so the
  // document's latest state is what goes out next. Returns how many were superseded.
  Result<size_t> SupersedeOlderEvents(const WatchKey& key, int64_t now_ms);

  // Retention: removes events that finished (delivered, dead or superseded) before before_ms,
  // with their attempts and their id, looking at no more than max_scan events of the outbox.
  Result<PruneOutcome> PruneFinished(int64_t before_ms, size_t max_scan);

  // Moves a pending event's next attempt to next_attempt_ms without counting an attempt (its
  // sink is unknown for now). Events that are not pending are left as they are.
  Status Reschedule(uint64_t seq, int64_t next_attempt_ms);

  Result<EventRecord> GetEvent(uint64_t seq);
  // All events of a document, in outbox order.
  Result<std::vector<EventRecord>> EventsFor(const WatchKey& key);
  // All attempts on event `seq`, in order.
  Result<std::vector<AttemptRecord>> Attempts(uint64_t seq);

  // ---- delivery endpoints ----------------------------------------------------------------

  // The record of endpoint `sink` (a URL or a folder); a default (enabled) record when none was
  // ever stored.
  Result<EndpointRecord> GetEndpoint(const std::string& sink);
  Status PutEndpoint(const std::string& sink, const EndpointRecord& record);
  // Every stored endpoint record, by sink.
  Result<std::vector<std::pair<std::string, EndpointRecord>>> Endpoints();

  // ---- tokens and counters ---------------------------------------------------------------

  Result<TokenRecord> GetToken(const std::string& handle);  // NotFound if never stored
  Status PutToken(const std::string& handle, const TokenRecord& record);
  // Every token record, by handle.
  Result<std::vector<std::pair<std::string, TokenRecord>>> Tokens();

  // ---- received-document feeds ----------------------------------------------------------

  // The cursor of `key`, or nullopt when the feed was never fetched.
  Result<std::optional<FeedCursor>> GetCursor(const FeedCursorKey& key);

  // One fetched page, in one transaction: appends `events` to the outbox (seq assigned here;
  // an event whose id is already there is dropped, so a page fetched again after a crash adds
  // nothing twice) and stores `cursor` for `key`. A crash therefore leaves either both or
  // neither. Returns how many events were appended.
  Result<size_t> ApplyFeedPage(const FeedCursorKey& key, const FeedCursor& cursor,
                               const std::vector<EventRecord>& events);

  // ---- learned models --------------------------------------------------------------------

  // Stores (replacing) each model, in one transaction.
  Status PutModels(const std::vector<ModelRecord>& models);
  // Every stored model.
  Result<std::vector<ModelRecord>> Models();

  Result<StoreCounts> Counts();

  // The directory this store lives in.
  // Moves the most the map may grow to (Options::max_map_bytes), e.g. after an operator raised
  // store_max_mib; a map already larger keeps its size.
  void SetMaxMapBytes(size_t max_map_bytes);

  const std::string& dir() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatilho
