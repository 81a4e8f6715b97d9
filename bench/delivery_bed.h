// The delivery benchmark's test bed: the daemon's delivery path, assembled as the daemon does.
//
// A Bed is one try's world: a fresh LMDB store in its own folder, the real HttpClient sized as
// `gatilho run` sizes it, and a real Dispatcher over the given sinks, on SystemClock. It is
// driven like the daemon's loop drives the dispatcher: Pump(), then Wait(), which sleeps in
// HttpClient::Poll() until the dispatcher's next wake or until an answer arrives.
//
// ObservedHttpClient sits between the dispatcher and the real client and only counts: per URL,
// requests in flight (and the most at once) and answers, with the time each answer's callback,
// and so the dispatcher's store commit, had finished. That is how the benchmark knows when the
// last event of one company was recorded as delivered without reading the store in the loop.
//
// Threads: everything on the benchmark's main thread. Lifetime: the Bed destroys the HttpClient
// (abandoning transfers still out, without their callbacks) before the dispatcher and the store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "daemon/delivery_sinks.h"
#include "delivery/dispatcher.h"
#include "net/http_client.h"
#include "store/store.h"

namespace gatilho::bench {

int64_t SteadyNs();

class ObservedHttpClient final : public HttpClient {
 public:
  struct Endpoint {
    size_t in_flight = 0;
    size_t max_in_flight = 0;
    uint64_t answered = 0;
    uint64_t delivered = 0;   // answered 2xx
    int64_t last_2xx_ns = 0;  // SteadyNs() after the callback of the latest 2xx answer returned
  };

  explicit ObservedHttpClient(std::unique_ptr<HttpClient> inner) : inner_(std::move(inner)) {}

  void Start(HttpRequest request, Callback done) override;
  Status Poll(int timeout_ms, std::vector<WaitFd>* extra) override {
    return inner_->Poll(timeout_ms, extra);
  }
  void Wakeup() override { inner_->Wakeup(); }
  size_t InFlight() const override { return inner_->InFlight(); }

  // The counts for requests to `url` (all zero if none was sent there).
  Endpoint endpoint(const std::string& url) const;

 private:
  std::unique_ptr<HttpClient> inner_;
  std::map<std::string, Endpoint> endpoints_;
};

class Bed {
 public:
  static Result<std::unique_ptr<Bed>> Create(const std::string& dir,
                                             std::map<std::string, DeliverySink> sinks,
                                             const HttpClient::Options& http_options);
  ~Bed();
  Bed(const Bed&) = delete;
  Bed& operator=(const Bed&) = delete;

  Store& store() { return *store_; }
  Dispatcher& dispatcher() { return *dispatcher_; }
  const ObservedHttpClient& http() const { return *http_; }

  Status Pump() { return dispatcher_->Pump(); }
  // Sleeps in HttpClient::Poll() until the dispatcher's next wake, at most max_wait_ms; returns
  // early when an answer arrives (its callback has run by then).
  Status Wait(int64_t max_wait_ms);

 private:
  Bed() = default;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObservedHttpClient> http_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// A webhook sink to `url`, signed, with the daemon's default delivery timeout.
DeliverySink WebhookSink(const std::string& url, size_t max_in_flight);

// A consult body of a realistic size for document `ref` (about 700 bytes).
std::string ConsultBody(const std::string& ref);

// Registers `count` watches of `company` (refs "NF000000" ...) in one transaction and returns,
// in ref order, one update per watch carrying one pending "autorizado" event due at now_ms,
// ready for Store::Apply.
Result<std::vector<WatchUpdate>> PrepareEvents(Store& store, const std::string& company,
                                               size_t count, int64_t now_ms);

// Puts `updates` into the outbox in transactions of `batch` updates each.
Status ApplyInBatches(Store& store, const std::vector<WatchUpdate>& updates, size_t batch);

}  // namespace gatilho::bench
