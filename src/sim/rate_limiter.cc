#include "sim/rate_limiter.h"

#include <algorithm>

#include "sim/token_hash.h"

namespace gatilho::sim {

RateLimiter::Decision RateLimiter::Admit(const std::string& token, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = tokens_.try_emplace(token);
  TokenState& state = it->second;
  if (inserted) {
    state.counters.token_hash = TokenHash(token);
    state.window_start = now;
  }
  if (now - state.window_start >= window_) {
    // The window restarts at the first request after it ended, as a fixed window does: an idle
    // token gets a full budget back.
    state.window_start = now;
    state.used = 0;
  }
  ++state.used;
  ++state.counters.requests;

  Decision decision;
  if (limit_ <= 0) return decision;
  decision.limited = true;
  decision.limit = limit_;
  decision.allowed = state.used <= limit_;
  decision.remaining = std::max(0, limit_ - state.used);
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(state.window_start + window_ - now);
  decision.reset_seconds = std::max<int>(1, static_cast<int>((left.count() + 999) / 1000));
  if (!decision.allowed) ++state.counters.rate_limited;
  return decision;
}

std::vector<RateLimiter::TokenCounters> RateLimiter::Counters() const {
  std::lock_guard lock(mu_);
  std::vector<TokenCounters> out;
  out.reserve(tokens_.size());
  for (const auto& [token, state] : tokens_)
    out.push_back(state.counters);
  return out;
}

}  // namespace gatilho::sim
