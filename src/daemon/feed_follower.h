// FeedFollower: follows the received-document feeds (focus-api.md section 5) of the companies
// that ask for them (`[received] feeds`), turning each new or changed document into an event.
//
// Each (company, feed) is fetched every interval_minutes, and again at once while pages come back
// full. A fetch asks for the documents above the stored cursor; its answer is parsed
// (fiscal/received_feed.h) and its events and the new cursor are committed in one store
// transaction (Store::ApplyFeedPage), so a crash loses nothing and at worst fetches a page again,
// whose events the outbox then drops by id. The dispatcher finds the events in the store like
// any other. Every fetch spends a credit of the company's token budget, taken from the poller
// (Poller::TryAcquireCredit), so feeds and polls together keep to the token's share. On start,
// each feed is next due interval_minutes after its last fetch as the store remembers it: a
// restart does not fetch again at once. An answer that is not a usable page (401/403, 429, 5xx,
// a transport error, a malformed body) changes no cursor; the feed backs off and says so once
// per change of state.
//
// Threads: the daemon's loop thread only, including the HttpClient callbacks.
// Lifetime: must outlive the transfers it started; the poller it takes credits from must outlive
// it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/wall_step.h"
#include "daemon/poller.h"
#include "fiscal/received_feed.h"
#include "net/http_client.h"
#include "store/store.h"

namespace gatilho {

class FeedFollower {
 public:
  struct Options {
    int64_t request_timeout_ms = 20'000;
    // After a failed fetch (5xx, transport error, malformed answer) the feed waits this long,
    // doubled with each further failure, and never longer than its interval.
    int64_t retry_ms = 60'000;
    // After the API refused the token (401/403).
    int64_t refused_pause_ms = 30 * 60 * 1000;
  };

  struct Counters {
    uint64_t fetches = 0;
    uint64_t events = 0;  // appended to the outbox (repeats dropped by id not counted)
    uint64_t failed = 0;
  };

  // `companies` and `poller` must outlive the follower.
  FeedFollower(Store& store, HttpClient& http, const Clock& clock,
               const std::map<std::string, CompanyConfig>& companies, Poller& poller,
               Options options);

  // Starts the fetches that are due and whose token has credit. Returns an error when the store
  // fails (reading the cursors at the first call, or committing a page since the last call).
  Status Pump();

  // The earliest wall time at which Pump() could start a fetch, accounting for credit; nullopt
  // when no feed is followed or every one is in flight (its answer wakes the loop).
  std::optional<int64_t> NextWakeMs() const;

  // Makes every followed feed due now (SIGHUP: an operator who changed the files wants to see
  // the feeds at work without waiting for their interval).
  void FetchAllNow();

  size_t in_flight() const { return in_flight_; }
  size_t followed() const { return feeds_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  enum class Health { kOk, kFailing, kRateLimited, kRefused };

  struct Feed {
    const CompanyConfig* company = nullptr;
    ReceivedFeed feed = ReceivedFeed::kNfe;
    FeedCursorKey key;
    int64_t cursor = 0;
    int64_t next_due_ms = 0;  // wall time
    bool in_flight = false;
    uint32_t failures = 0;
    Health health = Health::kOk;
  };

  // Reads each feed's cursor and when it is due; once, at the first Pump().
  Status Load();
  void Start(Feed& feed);
  void OnAnswer(Feed& feed, const HttpResponse& response);
  // Records a failed fetch: the feed backs off; the log line is written only when the state
  // changes.
  void Fail(Feed& feed, Health health, int64_t wait_ms, const std::string& why);
  int64_t IntervalMs(const Feed& feed) const;

  Store& store_;
  HttpClient& http_;
  const Clock& clock_;
  Poller& poller_;
  Options options_;
  std::vector<Feed> feeds_;  // never resized after construction: callbacks hold pointers
  bool loaded_ = false;
  bool fetch_all_now_ = false;  // FetchAllNow() came before Load()
  size_t in_flight_ = 0;
  Status store_error_;  // a commit that failed in a callback, returned by the next Pump()
  Counters counters_;
  WallStepWatch wall_step_;
};

}  // namespace gatilho
