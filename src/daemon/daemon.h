// Daemon: the event loop that wires the store, the poller and the dispatcher together.
//
// One thread does everything. Each turn of the loop: start the polls that are due and have
// credit, the received-document feed fetches likewise (FeedFollower, on the same token budgets),
// start the deliveries that are due, then sleep in HttpClient::Poll() until an answer
// arrives, the next poll or delivery falls due, a `gatilho watch` rewrites the wake file, or a
// signal comes. Answers are gathered during the sleep and committed to the store in one
// transaction when it ends; only then are their events handed to the dispatcher.
//
// Stopping: SIGTERM or SIGINT ends the loop. No new poll or delivery starts; transfers in flight
// get up to Options::drain_ms to finish and their results are committed; whatever is still in
// flight then is abandoned, which is safe because nothing was committed for it (a poll is
// repeated, a delivery is retried with the same webhook-id).
//
// Reloading: SIGHUP reads the configuration files again. When they load cleanly, the loop lets
// what is in flight finish (bounded by the request timeouts), commits it, and rebuilds the
// poller and the dispatcher from the new files: new companies start, removed ones stop with
// their data kept in the store, changed ones apply, and every followed received-document feed is
// fetched at once (FeedFollower::FetchAllNow). Files with problems leave the running
// configuration in place, with an error line listing the problems.
//
// Local API: when api_token_file is set (and not --once), Create() starts the local HTTP API
// (api/local_api.h) on api_listen; it serves on its own threads, reaching the loop through the
// IntakeInbox and the store. A reload hands it the new companies and token; a stop ends it
// first, before what is in flight is drained. The loop publishes its figures for /metrics,
// /healthz and the status page at most once a second, and wakes at least every
// kPublishEveryMs * 5 while the API runs so that /healthz can tell a stuck loop.
//
// --once: the loop ends instead of sleeping once nothing is due now and nothing is in flight,
// or after Options::once_deadline_ms.
#pragma once

#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "api/local_api.h"
#include "api/proxy.h"
#include "api/spool_folder.h"
#include "config/config.h"
#include "core/clock.h"
#include "daemon/change_notifier.h"
#include "daemon/feed_follower.h"
#include "daemon/intake_inbox.h"
#include "daemon/poller.h"
#include "delivery/dispatcher.h"
#include "delivery/latency_histogram.h"
#include "delivery/operator_notifier.h"
#include "net/http_client.h"
#include "net/http_forwarder.h"
#include "net/http_server.h"
#include "store/store.h"

namespace gatilho {

class Daemon {
 public:
  struct Options {
    bool once = false;
    int64_t once_deadline_ms = 5 * 60 * 1000;
    int64_t drain_ms = 10'000;
    int64_t max_sleep_ms = 60'000;            // re-read the schedule at least this often
    int64_t prune_every_ms = 10 * 60 * 1000;  // how often retention looks for old events
  };

  struct Summary {
    Poller::Counters polls;
    Dispatcher::Counters deliveries;
    std::set<std::string> refused_companies;  // whose token the API refused (401/403)
    bool deadline_hit = false;  // a --once pass stopped at once_deadline_ms with work left
  };

  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread so they are read from a signalfd;
  // call it in main() before any thread starts (libcurl may start resolver threads).
  static void BlockSignals();

  // `store`, `http` and `clock` must outlive the daemon; `config` is copied.
  static Result<std::unique_ptr<Daemon>> Create(const Config& config, Store& store,
                                                HttpClient& http, const Clock& clock,
                                                Options options);
  ~Daemon();

  // Runs until a stop signal (or, with once, until the pass is over). Returns an error when the
  // store fails in a way that retrying cannot fix.
  Status Run();

  const Summary& summary() const { return summary_; }

  // The mailbox the in-process intakes (local API, proxy, spool folder) use to reach the loop.
  IntakeLink& intake() { return inbox_; }

  // The local API's port, or 0 when it is off.
  int api_port() const { return api_server_ ? api_server_->port() : 0; }

  static constexpr int64_t kPublishEveryMs = 1'000;

 private:
  Daemon(const Config& config, Store& store, HttpClient& http, const Clock& clock, Options options,
         std::unique_ptr<ChangeNotifier> notifier, int signal_fd);

  // Makes the operator notifier, the poller and the dispatcher from config_.
  Status BuildWorkers();
  // With spool_dir set: creates the spool intake and starts its thread (with once: takes the
  // files that are there now, on this thread).
  Status StartSpool();
  // Starts the transparent proxy when proxy_listen is set (not in --once mode); an error names
  // the address when it cannot listen.
  Status StartProxy();
  // Stops the proxy (it answers nothing more) and waits for its requests in flight.
  void StopProxy();
  // Hands the proxy's news (ERP requests, synchronous answers) to the poller.
  Status TakeProxyNews();
  // SIGHUP: reads the configuration again and, when it is sound, finishes what is in flight and
  // rebuilds the workers from it; otherwise logs why and keeps the running one. An error only
  // when the store fails.
  Status Reload();
  // For SIGHUP: the configuration read again from the files, or nullopt after logging why it
  // cannot be used (the running one stays).
  std::optional<Config> ReloadedConfig() const;
  // Adds the workers' counters to summary_ (before they are replaced, and at the end).
  void AddToSummary();
  // Starts the local API when the configuration turns it on.
  Status StartApi();
  // Publishes the loop's figures to the inbox when the last publication is old enough.
  void MaybePublishFigures();

  // SIGHUP while the store fails: applies store_max_mib from the files, nothing else.
  void ApplyStoreLimit();
  // Logs the store going bad (once per distinct error) and coming back.
  void NoteStoreHealth(const Status& status);

  // Runs retention when it is due; returns when it wants to run next.
  int64_t MaybePrune();

  // One pass over the work that is due; returns the wall time to wake at.
  Result<int64_t> Turn(bool start_new_work);
  // Sleeps until `wake_at_ms` or an event; sets *stop_requested on SIGTERM or SIGINT and
  // *reload_requested on SIGHUP.
  Status Wait(int64_t wake_at_ms, bool* stop_requested, bool* reload_requested);
  Status Drain();
  // Another process or an intake changed the store: re-read the schedule and the endpoints.
  void OnStoreChanged();

  Config config_;  // a copy: SIGHUP replaces it
  Store& store_;
  HttpClient& http_;
  const Clock& clock_;
  Options options_;
  // Before the poller and the dispatcher, which hold pointers to it: destroyed after them.
  std::unique_ptr<OperatorNotifier> operator_notifier_;
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<FeedFollower> feeds_;  // takes credits from poller_: destroyed before it
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ChangeNotifier> notifier_;
  IntakeInbox inbox_;
  std::unique_ptr<SpoolFolder> spool_;  // after inbox_, which it calls: stopped before it goes
  // After inbox_, which the proxy reports to: the server goes first, then the handler.
  std::unique_ptr<HttpForwarder> forwarder_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<HttpServer> proxy_server_;
  int signal_fd_;
  int64_t next_prune_mono_ms_ = 0;
  int64_t published_mono_ms_ = -kPublishEveryMs;
  Summary summary_;
  uint64_t store_failures_ = 0;       // loop turns failed by the store since it last worked
  std::string store_failure_;         // the error last logged, to log each distinct one once
  int64_t store_ok_since_mono_ = -1;  // since when the store works again after failures
  LatencyHistogram latency_;          // of the dispatchers a reload replaced
  // After inbox_, which the API uses; the server goes before the handler it calls.
  std::unique_ptr<LocalApi> api_;
  std::unique_ptr<HttpServer> api_server_;
};

}  // namespace gatilho
