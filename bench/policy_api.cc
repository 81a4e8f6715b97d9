#include "policy_api.h"

namespace gatilho::bench {

ApiRateLimit::ApiRateLimit(int tokens, int64_t limit, int64_t window_ms, int64_t erp_reserve)
    : limit_(limit), window_ms_(window_ms), erp_reserve_(erp_reserve), windows_(tokens) {
  // Fixed, distinct phases: the windows of different tokens do not reset together, and none
  // is aligned with the start of the simulation.
  for (int token = 0; token < tokens; ++token)
    phase_ms_.push_back((7'300 + 23'900 * token) % window_ms_);
}

ApiRateLimit::Window& ApiRateLimit::WindowAt(int token, int64_t now_ms) {
  // Times start at 0 and the phase is below one window, so the shifted time is never negative.
  const int64_t index = (now_ms + window_ms_ - phase_ms_[token]) / window_ms_;
  Window& window = windows_[token];
  if (window.index != index) window = Window{index, 0, 0};
  return window;
}

int64_t ApiRateLimit::WindowEnd(int token, int64_t index) const {
  return (index + 1) * window_ms_ + phase_ms_[token] - window_ms_;
}

ApiAnswer ApiRateLimit::Poll(int token, int64_t now_ms) {
  Window& window = WindowAt(token, now_ms);
  Counters& counters = counters_[now_ms < split_ms_ ? 0 : 1];
  ++counters.poll_requests;
  ApiAnswer answer;
  answer.accepted = window.used < limit_;
  if (answer.accepted) {
    ++window.used;
  } else {
    ++counters.polls_refused;
  }
  answer.limit = limit_;
  answer.remaining = limit_ - window.used;
  const int64_t left_ms = WindowEnd(token, window.index) - now_ms;
  answer.reset_s = (left_ms + 999) / 1000;
  return answer;
}

void ApiRateLimit::ErpRequest(int token, int64_t now_ms) {
  Window& window = WindowAt(token, now_ms);
  Counters& counters = counters_[now_ms < split_ms_ ? 0 : 1];
  ++counters.erp_requests;
  ++window.erp_used;
  if (window.used < limit_) {
    ++window.used;
    return;
  }
  ++counters.erp_refused;
  if (window.erp_used <= erp_reserve_) ++counters.erp_refused_within_reserve;
}

}  // namespace gatilho::bench
