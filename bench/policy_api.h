// ApiRateLimit: the Focus NFe API's rate limit as the policy benchmark models it.
//
// Each token has fixed 60-second windows of `limit` credits (their phase differs per token, as
// the server's windows are not aligned with anything the client knows). Every request, the
// ERP's or a poll, takes one credit while any are left and is refused with 429 otherwise; every
// answer carries Rate-Limit-Limit/-Remaining/-Reset as the server saw them. The ERP's refusals
// are counted, and separately those of ERP requests that were within the ERP's reserve (its
// k-th request of the window with k <= limit - share): those are the bridge's fault.
#pragma once

#include <cstdint>
#include <vector>

namespace gatilho::bench {

struct ApiAnswer {
  bool accepted = false;  // false: HTTP 429
  int64_t limit = 0;      // Rate-Limit-Limit
  int64_t remaining = 0;  // Rate-Limit-Remaining after this request
  int64_t reset_s = 0;    // Rate-Limit-Reset: whole seconds until the window ends, rounded up
};

class ApiRateLimit {
 public:
  struct Counters {
    int64_t poll_requests = 0;
    int64_t polls_refused = 0;  // 429s the strategy caused
    int64_t erp_requests = 0;
    int64_t erp_refused = 0;
    int64_t erp_refused_within_reserve = 0;
  };

  // `erp_reserve`: the credits per window the ERP may count on (limit minus the bridge's share).
  ApiRateLimit(int tokens, int64_t limit, int64_t window_ms, int64_t erp_reserve);

  // A poll of the strategy on `token` reaching the server at now_ms.
  ApiAnswer Poll(int token, int64_t now_ms);
  // A request of the ERP on `token` reaching the server at now_ms.
  void ErpRequest(int token, int64_t now_ms);

  // Counters for requests at times before `split_ms` (period 0) and from it on (period 1).
  void set_split_ms(int64_t split_ms) { split_ms_ = split_ms; }
  const Counters& counters(int period) const { return counters_[period]; }

 private:
  struct Window {
    int64_t index = -1;
    int64_t used = 0;
    int64_t erp_used = 0;  // ERP requests seen in this window, refused or not
  };

  // Moves `token`'s window to the one containing now_ms and returns it.
  Window& WindowAt(int token, int64_t now_ms);
  int64_t WindowEnd(int token, int64_t index) const;

  int64_t limit_;
  int64_t window_ms_;
  int64_t erp_reserve_;
  std::vector<int64_t> phase_ms_;
  std::vector<Window> windows_;
  int64_t split_ms_ = 0;
  Counters counters_[2];
};

}  // namespace gatilho::bench
