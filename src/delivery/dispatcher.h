// Dispatcher: delivers outbox events to each company's sink until the ERP has them.
//
// The outbox lives in the store; the dispatcher keeps no queue of its own. The store hands out,
// per company, only the oldest pending event of each document, so a document's events go out
// in order while documents never wait for each other. Each Pump() walks the companies in turn
// and, for each, asks the endpoint's gate (EndpointGate: in-flight cap, rate cap, circuit
// breaker, Retry-After pause, disabled flag) how many deliveries may start; then it starts them:
// an HTTP POST on the shared HttpClient for a webhook, an atomic file write for a file sink.
// Every answer is recorded as an attempt: 2xx delivers the event; 410 disables the endpoint;
// 429 and 503 with Retry-After pause the endpoint until then; anything else reschedules the
// event on the retry schedule, and an event whose retries would pass the horizon is
// dead-lettered. Events of an endpoint that may not start wait where they are, consuming no
// attempt, and cost the other companies nothing.
//
// Several companies may share an endpoint (the same URL or folder); they share its gate.
//
// Threads: everything runs on the daemon's loop thread, including the HttpClient callbacks.
// Lifetime: must outlive the transfers it started (the daemon destroys the HttpClient first).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/wall_step.h"
#include "delivery/endpoint_gate.h"
#include "delivery/file_sink.h"
#include "delivery/latency_histogram.h"
#include "delivery/operator_notifier.h"
#include "delivery/retry_schedule.h"
#include "delivery/signer.h"
#include "delivery/webhook_request.h"
#include "net/http_client.h"
#include "store/store.h"

namespace gatilho {

// Where one company's events go, and how.
struct DeliverySink {
  enum class Kind { kWebhook, kFile };
  Kind kind = Kind::kWebhook;
  WebhookTarget webhook;   // kWebhook
  FileSink::Options file;  // kFile
  // The endpoint's limits. When companies share an endpoint, the first company's (in id order)
  // apply to all of them.
  EndpointGate::Options gate;
  // Catch-up after an outage: deliver only the latest pending event of each document.
  bool catch_up_latest = false;
};

class Dispatcher {
 public:
  struct Options {
    size_t max_in_flight = 64;  // deliveries in flight at once, all endpoints together
    RetrySchedule::Options retry;
    // An open breaker is worth an operator event once it has been in trouble this long.
    int64_t breaker_alert_ms = 15 * 60 * 1000;
    // With catch_up_latest, a document's older events are superseded when its oldest is a
    // retry or has waited this long: the endpoint was away.
    int64_t catch_up_after_ms = 5 * 60 * 1000;
    // How often endpoint records (enabled/disabled) are re-read from the store, so that
    // `gatilho endpoint` takes effect in a running daemon even without a wake-up.
    int64_t endpoint_recheck_ms = 5'000;
  };

  struct Counters {
    uint64_t delivered = 0;
    uint64_t failed_attempts = 0;
    uint64_t throttled = 0;
    uint64_t dead = 0;
    uint64_t superseded = 0;
  };

  // `sinks` maps company id to its sink. Fails, naming the company, when a sink cannot be
  // used (a malformed secret, a folder that cannot be created). `notifier` may be null.
  static Result<std::unique_ptr<Dispatcher>> Create(Store& store, HttpClient& http,
                                                    const Clock& clock,
                                                    std::map<std::string, DeliverySink> sinks,
                                                    Options options, OperatorNotifier* notifier);

  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts deliveries for due events, as far as each endpoint's gate and max_in_flight allow.
  // Returns an error only when the store fails.
  Status Pump();

  // The earliest wall time at which Pump() could start something, or nullopt when nothing can
  // start until an answer in flight arrives (or nothing is pending).
  Result<std::optional<int64_t>> NextWakeMs();

  // Re-reads the endpoint records now (the operator ran `gatilho endpoint`).
  Status ReloadEndpoints();

  // Retention: removes finished events older than `retention_ms` from the store and old files
  // from file sinks. Bounded work per call; returns whether more is left.
  Result<bool> Prune(int64_t retention_ms);

  size_t in_flight() const { return in_flight_.size(); }
  const Counters& counters() const { return counters_; }
  // From each event's creation to its delivery, for every event this dispatcher delivered.
  const LatencyHistogram& latency() const { return latency_; }

  // Where one endpoint's breaker stands, for /metrics and the status page.
  struct EndpointState {
    std::string display;  // EndpointDisplay(): the URL without credentials, or the folder
    std::string breaker;  // "closed", "open", "half_open", or "disabled" (410 or the operator)
  };
  // Every endpoint, in EndpointKey order, at now_ms.
  std::vector<EndpointState> EndpointStates(int64_t now_ms) const;

  // The endpoint key of a sink: its URL, or "file:" and its folder.
  static std::string EndpointKey(const DeliverySink& sink);
  // How a sink is shown in logs, attempts and commands: its URL without any credentials
  // written into it, or its folder.
  static std::string EndpointDisplay(const DeliverySink& sink);

 private:
  struct Company;
  struct Endpoint;

  Dispatcher(Store& store, HttpClient& http, const Clock& clock, Options options,
             OperatorNotifier* notifier);

  // A wall step seen by wall_step_: moves the pending events' retries and the endpoints'
  // pauses by it, so none of them waits longer or shorter than it had left.
  Status FollowWallStep();
  // Starts what `company` may start now; an error only when the store fails.
  Status PumpCompany(Company& company, int64_t now);
  void StartWebhook(Company& company, Endpoint& endpoint, const EventRecord& event, int64_t now);
  void WriteFile(Company& company, Endpoint& endpoint, const EventRecord& event, int64_t now);
  // Records the outcome of one delivery. `attempt` has the transport fields filled in;
  // `advice` ends the log line of a failure: what the operator can do.
  void Finish(Endpoint& endpoint, const EventRecord& event, AttemptRecord attempt,
              const DeliveryAnswer& answer,
              std::string_view advice = "Check that the ERP's endpoint is up");
  // The wall time the retry horizon of `event` counts from.
  int64_t FirstAttemptMs(const EventRecord& event, int64_t now);
  void DisableEndpoint(Endpoint& endpoint, const std::string& reason, int64_t now);
  // Logs and reports the breaker's changes since the last look.
  void WatchBreaker(Endpoint& endpoint, int64_t now);
  void WarnAboutOrphans();

  Store& store_;
  HttpClient& http_;
  const Clock& clock_;
  Options options_;
  OperatorNotifier* notifier_;  // may be null
  RetrySchedule retry_;
  std::vector<std::unique_ptr<Company>> companies_;             // by id
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;  // by EndpointKey
  size_t next_company_ = 0;  // where the next Pump() starts, so no company always goes first
  std::unordered_set<uint64_t> in_flight_;
  int64_t endpoints_read_ms_ = 0;
  Counters counters_;
  LatencyHistogram latency_;
  WallStepWatch wall_step_;
  int64_t unshifted_step_ms_ = 0;  // a wall step seen but not yet applied to the store
};

}  // namespace gatilho
