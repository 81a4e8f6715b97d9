// RateLimiter: the API's per-token credit budget, a fixed window counting every authenticated
// request of any method. It also keeps each token's lifetime counters for the stats page, since
// it already holds per-token state. Thread-safe; one short mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace gatilho::sim {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `limit` 0 disables limiting (requests are still counted).
  RateLimiter(int limit, int window_seconds) : limit_(limit), window_(window_seconds) {}

  struct Decision {
    bool allowed = true;
    bool limited = false;  // false when limiting is disabled: then there are no headers to send
    int limit = 0;
    int remaining = 0;
    int reset_seconds = 0;  // until the window ends, rounded up, at least 1
  };

  // Spends one credit of `token`'s current window.
  Decision Admit(const std::string& token, Clock::time_point now = Clock::now());

  struct TokenCounters {
    std::string token_hash;
    int64_t requests = 0;
    int64_t rate_limited = 0;
  };
  std::vector<TokenCounters> Counters() const;

 private:
  struct TokenState {
    TokenCounters counters;
    Clock::time_point window_start;
    int used = 0;
  };

  const int limit_;
  const std::chrono::seconds window_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenState> tokens_;  // GUARDED_BY(mu_)
};

}  // namespace gatilho::sim
