// OperatorNotifier: tells a person that delivery needs attention.
//
// Some changes are the operator's to act on rather than the daemon's: an endpoint disabled (by a
// 410 Gone or by hand) or enabled again, a circuit breaker open for longer than the alert
// threshold, an API token refused with 401/403, an event dead-lettered. The code that notices
// one logs its own line and calls Notify(); when an operator URL is configured, the notifier
// also POSTs the event there as a Standard Webhooks envelope
//   {"type": "gatilho.<kind>", "timestamp": "<RFC 3339>", "data": {<fields>}}
// signed with the operator secrets, retrying a failed post a few times.
//
// The queue is in memory: an operator event is a nudge about state the store keeps anyway
// (`gatilho events`, `gatilho status`), so losing the nudge in a crash loses no data.
//
// Threads: the daemon's loop thread only, like the HttpClient it posts with. Lifetime: must
// outlive the transfers it started.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/wall_step.h"
#include "delivery/signer.h"
#include "net/http_client.h"

namespace gatilho {

class OperatorNotifier {
 public:
  struct Options {
    std::string url;                   // empty: events are only logged by their callers
    std::vector<std::string> secrets;  // "whsec_..."; none: posts are not signed
    int64_t timeout_ms = 10'000;
    size_t max_queued = 1000;        // beyond this the oldest waiting event is dropped
    uint32_t max_tries = 5;          // per event
    int64_t first_retry_ms = 5'000;  // doubled after each failed try
  };

  using Fields = std::vector<std::pair<std::string, std::string>>;

  // InvalidArgument when a secret is malformed (its position is named, never its text).
  static Result<std::unique_ptr<OperatorNotifier>> Create(HttpClient& http, const Clock& clock,
                                                          Options options);

  // Queues `kind` (e.g. "endpoint_disabled") with `fields` for the operator URL. Does nothing
  // without a URL. Never throws, never blocks.
  void Notify(std::string_view kind, Fields fields);

  // Starts the post of the oldest queued event when none is in flight and its retry is due.
  void Pump();

  // When Pump() has work next, or nullopt (nothing queued, or a post is in flight).
  std::optional<int64_t> NextWakeMs() const;

  bool enabled() const { return !options_.url.empty(); }
  size_t queued() const { return queue_.size(); }
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Pending {
    std::string id;
    std::string body;
    uint32_t tries = 0;
    int64_t next_try_ms = 0;
  };

  OperatorNotifier(HttpClient& http, const Clock& clock, Options options, Signer signer)
      : http_(http),
        clock_(clock),
        options_(std::move(options)),
        signer_(std::move(signer)),
        wall_step_(clock) {}

  void Finish(const HttpResponse& response);

  HttpClient& http_;
  const Clock& clock_;
  Options options_;
  Signer signer_;
  std::deque<Pending> queue_;
  bool in_flight_ = false;
  uint64_t next_id_ = 1;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  WallStepWatch wall_step_;
};

}  // namespace gatilho
