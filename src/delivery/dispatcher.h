// Dispatcher: delivers outbox events to each company's webhook until the ERP has them.
//
// The outbox lives in the store; the dispatcher keeps no queue of its own. Each Pump() asks the
// store for the events that are due (the store hands out only the oldest pending event of each
// document, so a document's events go out in order while documents never wait for each other),
// starts an HTTP POST for each on the shared HttpClient, and records every answer as an attempt:
// 2xx delivers the event, anything else reschedules it on the retry schedule, and an event whose
// retries would pass the horizon is dead-lettered.
//
// Threads: everything runs on the daemon's loop thread, including the HttpClient callbacks.
// Lifetime: must outlive the transfers it started (the daemon destroys the HttpClient first).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "delivery/retry_schedule.h"
#include "delivery/signer.h"
#include "delivery/webhook_request.h"
#include "net/http_client.h"
#include "store/store.h"

namespace gatilho {

class Dispatcher {
 public:
  struct Options {
    size_t max_in_flight = 32;
    size_t batch = 256;  // events read from the store per Pump()
    RetrySchedule::Options retry;
  };

  struct Counters {
    uint64_t delivered = 0;
    uint64_t failed_attempts = 0;
    uint64_t dead = 0;
  };

  // `targets` maps company id to its webhook. Companies whose secrets cannot be used are
  // reported by Create() and their events stay in the outbox.
  static Result<std::unique_ptr<Dispatcher>> Create(Store& store, HttpClient& http,
                                                    const Clock& clock,
                                                    std::map<std::string, WebhookTarget> targets,
                                                    Options options);

  // Starts deliveries for due events, up to max_in_flight at once. Returns an error only when
  // the store fails.
  Status Pump();

  // The earliest wall time at which Pump() would find work, or nullopt when the outbox holds
  // nothing pending. Events already in flight are not counted.
  Result<std::optional<int64_t>> NextWakeMs();

  size_t in_flight() const { return in_flight_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Endpoint {
    WebhookTarget target;
    Signer signer;
  };

  Dispatcher(Store& store, HttpClient& http, const Clock& clock,
             std::map<std::string, Endpoint> endpoints, Options options);

  void Finish(const EventRecord& event, const std::string& url, const HttpResponse& response);

  Store& store_;
  HttpClient& http_;
  const Clock& clock_;
  std::map<std::string, Endpoint> endpoints_;
  Options options_;
  RetrySchedule retry_;
  std::set<uint64_t> in_flight_;
  std::set<std::string> warned_companies_;
  Counters counters_;
};

}  // namespace gatilho
