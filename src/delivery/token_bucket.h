// TokenBucket: at most `rate_per_second` starts per second on average, `burst` at once.
//
// The bucket holds up to `burst` tokens and starts full; it refills continuously at
// rate_per_second, and each TryTake() spends one token. Times are the caller's milliseconds
// (the dispatcher passes wall time).
//
// Exact arithmetic: tokens are counted in integer billionths and the rate in integer
// millionths of a token per second (so it is rounded to 1e-6/s; a positive rate is never
// rounded to zero), so nothing drifts however long it runs. Callers read whole milliseconds and
// may come up to 1 ms after a token is complete, so a full bucket keeps what refills during that
// millisecond too (never enough to make one more token at once): a bucket of burst 1 at 300/s
// gives 300/s, not 250/s. Hence the guarantees, with B = burst and R = rate in tokens per ms:
//   - at most floor(B) takes at one moment;
//   - over any span [a, b], at most B + (b - a + 1) * R takes; from a new bucket at a, at most
//     B + (b - a) * R (10/s for 100 s: 1000 + B);
//   - a caller that takes whenever NextTokenMs() says gets the rate exactly, rounded down.
//
// The clock may step backwards (a wall-clock correction). A reading earlier than the last one
// re-anchors the bucket on it: no tokens are added for the step, none are lost, and refilling
// resumes from the new reading, so a step back neither grants a burst nor blocks until the
// clock catches up. NextTokenMs() re-anchors the same way (hence a `mutable` member), so that
// its answer holds even right after a step.
//
// Pure: no I/O. Threads: not thread-safe, not even the const members; one thread drives it.
#pragma once

#include <cstdint>

namespace gatilho {

class TokenBucket {
 public:
  // rate_per_second <= 0 (or NaN) means unlimited. burst is at least 1 (smaller values, NaN
  // included, are read as 1). Rates above 1e12/s and bursts above 1e9 are capped there.
  TokenBucket(double rate_per_second, double burst);

  // Takes one token if one is available at now_ms.
  bool TryTake(int64_t now_ms);

  // The earliest time >= now_ms at which TryTake() succeeds (now_ms when it would now).
  int64_t NextTokenMs(int64_t now_ms) const;

  bool unlimited() const { return rate_ == 0; }

  // Tokens available at now_ms, at most burst, for tests and status displays (a fraction while
  // refilling; infinity when unlimited).
  double Available(int64_t now_ms) const;

 private:
  // Brings tokens_ up to now_ms (or re-anchors on a step back). Logically const.
  void Refill(int64_t now_ms) const;

  int64_t rate_ = 0;  // units per millisecond == millionths of a token per second; 0 = unlimited
  int64_t capacity_ = 0;        // burst, in units
  int64_t limit_ = 0;           // what the bucket holds at most: capacity_ + < 1 ms of refill
  mutable int64_t tokens_ = 0;  // in units (1e-9 token), as of last_ms_
  mutable int64_t last_ms_ = 0;
  mutable bool anchored_ = false;  // false until the first reading; the bucket is full then
};

}  // namespace gatilho
