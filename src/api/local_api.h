// LocalApi: the local HTTP API an ERP (or an operator's script) calls instead of the CLI.
//
// Routes (JSON in and out): POST /v1/watches (one watch or a batch), GET and DELETE
// /v1/watches/{company}/{type}/{ref}, GET /v1/events, POST /v1/events/{id}/redeliver,
// GET /v1/status, GET /healthz, GET /metrics (Prometheus text), and GET /status, the read-only
// status page's HTML shell. Every route but GET /status needs `Authorization: Bearer <token>`
// (the token of api_token_file, compared in constant time). Errors are always
// {"error":"<code>","message":"<what is wrong and what to do>"} with the matching status; a
// refused request changes nothing in the store. Watches are checked with the same rules as the
// CLI's `watch` (api/watch_request.h), written in one store transaction, then the loop is told
// through IntakeLink::StoreChanged().
//
// It is only the router and the handlers: HttpServer (net/http_server.h) owns the sockets and
// refuses oversized bodies (413) before Handle() is called.
//
// Threads: Handle() is called concurrently from the server's connection threads; it reads and
// writes the store directly (Store is thread-safe) and reads the configuration through a
// snapshot that SetConfig() swaps under a mutex, so a reload (SIGHUP) on the loop's thread is
// safe while requests are served. Lifetime: store, link and clock must outlive it, and it must
// outlive the HttpServer calling it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/intake_link.h"
#include "config/config.h"
#include "core/clock.h"
#include "net/http_server.h"
#include "store/store.h"

namespace gatilho {

class LocalApi {
 public:
  struct Options {
    size_t max_batch = 10'000;           // watches in one POST /v1/watches
    size_t max_events = 1'000;           // the largest `limit` GET /v1/events accepts
    size_t status_pending = 100;         // pending documents GET /v1/status lists at most
    size_t status_events = 20;           // recent events GET /v1/status lists at most
    int64_t healthy_within_ms = 30'000;  // /healthz wants figures published at most this long ago
  };

  // `config` holds the companies and the bearer token (global.api_token).
  LocalApi(Store& store, std::shared_ptr<const Config> config, IntakeLink& link, const Clock& clock,
           Options options);
  LocalApi(Store& store, std::shared_ptr<const Config> config, IntakeLink& link, const Clock& clock)
      : LocalApi(store, std::move(config), link, clock, Options{}) {}

  // Requests from now on see `config` (its companies and token). Thread-safe.
  void SetConfig(std::shared_ptr<const Config> config);

  // Answers one request. Thread-safe.
  void Handle(const ServerRequest& request, ResponseWriter& writer) const;

  // A ServerHandler that calls Handle() on this object.
  ServerHandler Handler() const;

 private:
  std::shared_ptr<const Config> config() const;

  Store& store_;
  IntakeLink& link_;
  const Clock& clock_;
  Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
};

}  // namespace gatilho
