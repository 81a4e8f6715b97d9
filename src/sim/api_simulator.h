// ApiSimulator: the request handler of `gatilho-sim api`, a stand-in for the Focus NFe API v2.
//
// It authenticates (HTTP Basic, token as user), applies the per-token rate limit, injects the
// configured faults, then routes /v2/ requests to the document store and answers with the bodies
// and error codes of focus-api.md. Documents move on lazily: each access compares the clock with
// the document's due time, so no timers run. The received-document feeds (/v2/nfes_recebidas,
// /v2/ctes_recebidas, /v2/nfses_recebidas) page through ReceivedFeeds with the `versao` cursor.
// /__sim/ paths expose counters (faults injected by kind among them) and a document listing, take
// new fault settings (POST /__sim/faults, which also switches 429 storms on and off) and add or
// change received documents (POST /__sim/received); they need no token and cost no credit.
//
// Threads: Handle() is called concurrently from the server's io threads; all state is in
// thread-safe members.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "sim/document_store.h"
#include "sim/fault_injector.h"
#include "sim/http_server.h"
#include "sim/processing_model.h"
#include "sim/rate_limiter.h"
#include "sim/received_feeds.h"

namespace gatilho::sim {

struct ApiSettings {
  std::vector<std::string> tokens;  // accepted tokens; empty accepts any non-empty token
  std::vector<std::string> blocked_tokens;
  int rate_limit = 100;  // per window and token; 0 disables
  int rate_window_seconds = 60;
  ProcessingSettings processing;
  FaultSettings faults;
  // Received documents generated at start in each of the three feeds of received_cnpj.
  int received = 0;
  std::string received_cnpj = "07504505000132";
};

class ApiSimulator {
 public:
  explicit ApiSimulator(const ApiSettings& settings);

  // Answers one request. Never throws for any input.
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Introspect(const HttpRequest& request, const std::string& path);
  HttpResponse Route(const HttpRequest& request, const std::string& token);
  HttpResponse Emit(const HttpRequest& request, const std::string& token, DocType type);
  HttpResponse Cancel(const HttpRequest& request, const std::string& token, DocType type,
                      const std::string& ref);
  HttpResponse CartaCorrecao(const HttpRequest& request, const std::string& token, DocType type,
                             const std::string& ref);
  HttpResponse Close(const HttpRequest& request, const std::string& token, const std::string& ref);
  HttpResponse ListReceived(const HttpRequest& request, Feed feed);
  // POST /__sim/received: adds a received document, or changes one (bumping its versao).
  HttpResponse ControlReceived(const HttpRequest& request);
  void CountMethod(const std::string& method);
  std::string StatsBody();
  std::string DocumentsBody();

  const std::unordered_set<std::string> tokens_;
  const std::unordered_set<std::string> blocked_tokens_;
  const ProcessingModel model_;
  DocumentStore store_;
  ReceivedFeeds received_;
  RateLimiter limiter_;
  FaultInjector faults_;

  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> rate_limited_{0};
  std::atomic<int64_t> gets_{0};
  std::atomic<int64_t> posts_{0};
  std::atomic<int64_t> deletes_{0};
  std::atomic<int64_t> other_methods_{0};
  std::atomic<int64_t> feed_requests_{0};
};

}  // namespace gatilho::sim
