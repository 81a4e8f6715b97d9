// Event records: the outbox of changes to deliver, and the log of delivery attempts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/watch.h"

namespace gatilho {

// Values are persisted: never renumber.
enum class EventState : uint8_t {
  kPending = 1,     // waiting for its next attempt
  kDelivered = 2,   // a sink answered 2xx
  kDead = 3,        // retries exhausted; an operator can redeliver
  kSuperseded = 4,  // not delivered: a later event of its document carried the newer state
                    // instead (catch-up after an outage with catch_up = latest)
};

std::string_view EventStateName(EventState state);
// The state EventStateName() calls `name`, or nullopt.
std::optional<EventState> ParseEventState(std::string_view name);

struct EventRecord {
  uint64_t seq = 0;  // outbox order; assigned by the store
  std::string id;    // stable across retries and crashes: derived from what changed
  WatchKey key;
  uint32_t cycle = 1;
  std::string type;     // e.g. "autorizado", "cancelado", "carta_correcao", "timeout"
  std::string payload;  // the bytes to deliver (by default the API's consult body)
  int64_t created_ms = 0;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  EventState state = EventState::kPending;
  int64_t delivered_ms = 0;  // when it reached kDelivered; 0 otherwise
  // The first attempt of the current round of retries, which the retry horizon counts from; 0
  // until the first attempt, and again after a redelivery starts a new round.
  int64_t first_attempt_ms = 0;
  // When it left kPending (delivered, dead or superseded); 0 while pending. Retention counts
  // from here.
  int64_t finished_ms = 0;
};

struct AttemptRecord {
  uint64_t event_seq = 0;
  uint32_t number = 0;  // 1 for the first attempt
  int64_t time_ms = 0;
  std::string sink;     // the URL (never with credentials) or folder delivered to
  int http_status = 0;  // 0 when no HTTP answer came
  std::string error;    // transport error text; empty on an HTTP answer
  int64_t duration_ms = 0;
  std::string response_excerpt;  // the first bytes of the answer body
};

}  // namespace gatilho
