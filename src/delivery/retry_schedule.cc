#include "delivery/retry_schedule.h"

#include <algorithm>
#include <cmath>

namespace gatilho {
namespace {

// A uniform value in [0, 1) from `seed` and `attempts` (splitmix64 finaliser): well spread even
// for consecutive sequence numbers, and identical on every run.
double UnitJitter(uint64_t seed, uint32_t attempts) {
  uint64_t x = seed ^ (static_cast<uint64_t>(attempts) * 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

}  // namespace

std::optional<int64_t> RetrySchedule::Next(uint32_t attempts, int64_t first_attempt_ms,
                                           int64_t now_ms, uint64_t seed) const {
  int64_t deadline_ms = first_attempt_ms + options_.horizon_ms;
  if (now_ms >= deadline_ms) return std::nullopt;

  uint32_t exponent = attempts > 0 ? attempts - 1 : 0;
  // Computed in double so a large exponent saturates to infinity instead of overflowing.
  double delay = static_cast<double>(options_.first_delay_ms) * std::pow(options_.factor, exponent);
  delay = std::min(delay, static_cast<double>(options_.max_delay_ms));
  // Jitter only shortens a wait, so max_delay_ms stays a true bound, while events that failed
  // together (an ERP outage) still spread out instead of retrying in one burst.
  delay *= 1.0 - options_.jitter * UnitJitter(seed, attempts);
  int64_t next_ms = now_ms + std::max<int64_t>(static_cast<int64_t>(delay), 0);
  return std::min(next_ms, deadline_ms);
}

}  // namespace gatilho
