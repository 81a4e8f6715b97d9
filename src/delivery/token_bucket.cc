#include "delivery/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gatilho {
namespace {

constexpr int64_t kUnitsPerToken = 1'000'000'000;
// One token per second is 1e9 units per 1000 ms.
constexpr double kUnitsPerMsPerRate = 1e6;
constexpr double kMaxRatePerSecond = 1e12;  // 1e18 units per ms
constexpr double kMaxBurst = 1e9;           // 1e18 units

// a >= 0, b > 0.
int64_t CeilDiv(int64_t a, int64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double burst) {
  if (rate_per_second > 0) {  // false for NaN
    double rate = std::min(rate_per_second, kMaxRatePerSecond) * kUnitsPerMsPerRate;
    rate_ = std::max<int64_t>(std::llround(rate), 1);
  }
  double tokens = burst >= 1 ? std::min(burst, kMaxBurst) : 1.0;  // NaN fails burst >= 1
  capacity_ = std::llround(tokens * kUnitsPerToken);
  tokens_ = capacity_;
  // Callers come on whole milliseconds, up to 1 ms after a token is complete; a bucket that
  // discarded what refills in that millisecond would run slow whenever 1000 / rate is not a
  // whole number and the bucket is full when they come (burst 1 at 300/s would give 250/s).
  // So it keeps up to a millisecond's refill above the burst, never enough for one more token.
  if (rate_ > 0) {
    int64_t next_whole = (capacity_ / kUnitsPerToken + 1) * kUnitsPerToken;
    limit_ = capacity_ + std::min(rate_ - 1, next_whole - capacity_ - 1);
  } else {
    limit_ = capacity_;
  }
}

void TokenBucket::Refill(int64_t now_ms) const {
  if (!anchored_ || now_ms <= last_ms_) {
    // First reading, no time passed, or a step back: re-anchor without adding tokens.
    anchored_ = true;
    last_ms_ = now_ms;
    return;
  }
  // now_ms - last_ms_ can exceed int64_t only for absurd readings; those just fill the bucket.
  int64_t elapsed_ms = 0;
  bool huge = __builtin_sub_overflow(now_ms, last_ms_, &elapsed_ms);
  int64_t missing = limit_ - tokens_;
  if (huge || elapsed_ms >= CeilDiv(missing, rate_)) {
    tokens_ = limit_;
  } else {
    tokens_ += elapsed_ms * rate_;  // < missing: no overflow
  }
  last_ms_ = now_ms;
}

bool TokenBucket::TryTake(int64_t now_ms) {
  if (unlimited()) return true;
  Refill(now_ms);
  if (tokens_ < kUnitsPerToken) return false;
  tokens_ -= kUnitsPerToken;
  return true;
}

int64_t TokenBucket::NextTokenMs(int64_t now_ms) const {
  if (unlimited()) return now_ms;
  Refill(now_ms);
  if (tokens_ >= kUnitsPerToken) return now_ms;
  // At most 1e9 ms (a rate of one millionth of a token per second).
  int64_t wait_ms = CeilDiv(kUnitsPerToken - tokens_, rate_);
  int64_t next_ms = 0;
  return __builtin_add_overflow(now_ms, wait_ms, &next_ms) ? std::numeric_limits<int64_t>::max()
                                                           : next_ms;
}

double TokenBucket::Available(int64_t now_ms) const {
  if (unlimited()) return std::numeric_limits<double>::infinity();
  Refill(now_ms);
  return static_cast<double>(std::min(tokens_, capacity_)) / kUnitsPerToken;
}

}  // namespace gatilho
