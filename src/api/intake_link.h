// IntakeLink: what the ERP-facing intakes (local API, proxy, spool folder) and the daemon's
// loop tell each other.
//
// The intakes run on their own threads; the loop owns the poller, the budgets and the
// dispatcher, which are single-threaded. So the intakes never call into those: they write to
// the store themselves (watches) or hand the loop a message through this interface, and read
// the loop's figures from the last snapshot it published. The daemon implements it
// (daemon/intake_inbox.h); every method is thread-safe and returns at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/document_type.h"

namespace gatilho {

// One request the ERP sent to the API through the proxy, and what the API answered: it spent
// a credit of the token's budget, and its rate-limit headers are the freshest news about it.
struct ErpRequestSeen {
  std::string company;  // the company whose token the request carried
  int http_status = 0;  // 0 when no HTTP answer came
  std::optional<int64_t> limit, remaining, reset_seconds;  // the Rate-Limit-* headers
};

// What a synchronous answer the proxy relayed means for one document.
enum class SyncAnswerKind {
  kEmission,      // POST /v2/<type>?ref=: the answer has the consult's shape
  kCancellation,  // DELETE /v2/<type>/<ref>
  kCorrection,    // POST /v2/<type>/<ref>/carta_correcao
};

struct SyncAnswer {
  std::string company;
  DocType type = DocType::kNfe;
  std::string ref;
  SyncAnswerKind kind = SyncAnswerKind::kEmission;
  int http_status = 0;
  std::string body;  // the answer's body, byte for byte
};

// Figures of one API token for /metrics and the status page.
struct TokenFigures {
  std::string handle;          // SecretHandle() of the token, never the token
  std::string companies;       // "acme,beta"
  int64_t limit = 0;           // Rate-Limit-Limit last seen
  int64_t share_cap = 0;       // what gatilho may spend per window
  int64_t used_in_window = 0;  // gatilho's requests in the current window
  int64_t available = 0;       // credits gatilho may spend now
  int64_t erp_requests = 0;    // ERP requests seen through the proxy since start
  bool paused = false;
};

// Figures of one delivery endpoint.
struct EndpointFigures {
  std::string sink;     // the URL for display (no credentials) or "file:<dir>"
  std::string breaker;  // "closed", "open", "half_open" or "disabled"
};

// Delivery latency: from an event's creation to its delivery, in Prometheus histogram form.
struct LatencyFigures {
  std::vector<double> bounds_seconds;  // upper bounds, ascending; +Inf is implicit
  std::vector<uint64_t> counts;        // per bucket (not cumulative), bounds_seconds.size() + 1
  double sum_seconds = 0;
  uint64_t count = 0;
};

// A snapshot of the loop's counters since the daemon started.
struct RuntimeFigures {
  int64_t published_ms = 0;  // wall time of the snapshot; 0 before the first one
  uint64_t polls = 0;
  uint64_t poll_failures = 0;
  uint64_t rate_limited = 0;  // 429s the daemon's own polls received
  uint64_t events = 0;
  uint64_t delivered = 0;
  uint64_t delivery_failures = 0;
  uint64_t dead = 0;
  std::vector<TokenFigures> tokens;
  std::vector<EndpointFigures> endpoints;
  LatencyFigures delivery_latency;
};

class IntakeLink {
 public:
  virtual ~IntakeLink() = default;

  // The store gained watches or events (or an event was redelivered): the loop re-reads its
  // schedule and the ready events at once.
  virtual void StoreChanged() = 0;

  // A request of the ERP went through the proxy; the loop counts it in the token's budget.
  virtual void ErpRequest(ErpRequestSeen seen) = 0;

  // A synchronous answer the proxy relayed; the loop registers the watch if needed and turns
  // the answer into the document's events, as it would a poll's.
  virtual void SyncAnswerSeen(SyncAnswer answer) = 0;

  // The last snapshot the loop published.
  virtual RuntimeFigures Figures() const = 0;
};

}  // namespace gatilho
