// Watch records: what the store keeps about each document the ERP asked us to watch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/document_type.h"

namespace gatilho {

// Identifies one document: the company (config file stem), its type and the ERP's ref.
struct WatchKey {
  std::string company;
  DocType type = DocType::kNfe;
  std::string ref;

  // A byte string that sorts by company, then type, then ref, and that Decode() reverses.
  // Company ids and refs never contain NUL, so NUL separates the parts.
  std::string Encode() const;
  static std::optional<WatchKey> Decode(std::string_view bytes);

  // "company/type/ref", for logs and messages.
  std::string ToString() const;

  friend bool operator==(const WatchKey&, const WatchKey&) = default;
  friend auto operator<=>(const WatchKey&, const WatchKey&) = default;
};

// Where a watch is in its life. Values are persisted: never renumber.
enum class WatchState : uint8_t {
  kPending = 1,    // the cycle has not ended: polled on the processing schedule
  kFollowing = 2,  // the cycle ended in a state that can still change (autorizado): polled slowly
  kDone = 3,       // nothing more will be polled until the ERP watches the ref again
  kPaused = 4,     // the company's credentials were refused; resumes when they work again
};

std::string_view WatchStateName(WatchState state);

// Everything the store keeps about one watch. Times are Unix milliseconds; 0 means "never".
struct WatchRecord {
  uint32_t cycle = 1;            // bumped each time the ERP watches an ended ref again
  int64_t created_ms = 0;        // when the watch was first registered
  int64_t cycle_started_ms = 0;  // when the current cycle was registered
  int64_t last_polled_ms = 0;
  int64_t next_poll_ms = 0;        // 0 when not scheduled (kDone)
  int64_t cycle_ended_ms = 0;      // when the cycle reached its end status; 0 while pending
  uint32_t poll_count = 0;         // polls in the current cycle
  uint32_t error_streak = 0;       // consecutive polls that got no usable answer
  int64_t not_found_since_ms = 0;  // first 404 of the current run of 404s; 0 if none
  WatchState state = WatchState::kPending;
  std::string last_status;  // the API's `status` last seen in this cycle; empty if none
  std::string fingerprint;  // digest of the fields whose change is an event
  std::string detail;       // fiscal facts the event rules need (e.g. CC-e number)
};

// One line of a document's history: a poll whose outcome differed from the previous one.
struct HistoryEntry {
  int64_t time_ms = 0;
  uint32_t cycle = 1;
  int http_status = 0;  // 0 when no HTTP answer came
  std::string outcome;  // "document", "not_found", "server_error", "timeout"... (fiscal's names)
  std::string status;   // the API's status when the answer was a document
  std::string note;     // what the daemon concluded, e.g. "event autorizado"
};

}  // namespace gatilho
