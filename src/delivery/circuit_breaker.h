// CircuitBreaker: stops delivering to an endpoint that keeps failing, and probes it gently
// until it works again.
//
//   closed    every call may start. Each result is recorded in a sliding window; the breaker
//             opens when the window holds at least min_calls results of which at least
//             failure_ratio failed, or after consecutive_failures failures in a row. Both are
//             judged after every result, so a success that completes min_calls can open it.
//   open      no call may start until the open period (open_ms at first) has passed.
//   half-open one probe at a time may start. A failed probe reopens it for twice the previous
//             period (at most max_open_ms); successes_to_close successful probes in a row close
//             it. A probe that ends with no verdict (OnNeutral) just frees the probe slot.
//
// Stale results: the breaker counts the calls it let start and that have not ended. Results of
// calls started before it opened are ignored, and no probe starts while any of them is still in
// flight, so every result seen in half-open is the probe's own. Every TryStart() that returned
// true must therefore be followed by exactly one OnResult() or OnNeutral().
//
// The window is a ring of kWindowBuckets buckets of window_ms / kWindowBuckets (rounded up,
// at least 1 ms) each: per-second buckets for the default 60 s. A result is forgotten when its
// bucket leaves the window, at most window_ms and at least window_ms minus two buckets after it
// was recorded. Results are counted at the time they arrive.
//
// Clock steps backwards: a reading earlier than the moment the breaker opened ends the open
// period (one probe may go out; if it fails the breaker reopens from the new reading), so a step
// back never keeps an endpoint closed off until the clock catches up. Window buckets "in the
// future" of a reading are not counted.
//
// Pure: no I/O. Threads: not thread-safe; one thread drives it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace gatilho {

class CircuitBreaker {
 public:
  struct Options {
    int64_t window_ms = 60'000;         // failure ratio judged over the results of this window
    uint32_t min_calls = 10;            // ratio not judged with fewer results in the window
                                        // (0 is read as 1)
    double failure_ratio = 0.5;         // opens at or above this ratio (never with no failure)
    uint32_t consecutive_failures = 5;  // opens after this many failures in a row, window or
                                        // not; 0 turns this rule off
    int64_t open_ms = 30'000;           // first open period; doubles after each failed probe
    int64_t max_open_ms = 600'000;      // cap of the doubling (read as open_ms if smaller)
    uint32_t successes_to_close = 2;    // probe successes in a row that close it (0 read as 1)
  };

  enum class State { kClosed, kOpen, kHalfOpen };

  static constexpr size_t kWindowBuckets = 60;

  CircuitBreaker() : CircuitBreaker(Options{}) {}
  explicit CircuitBreaker(Options options);

  // Closed: true. Open: false until the open period ends; then it is half-open and lets ONE
  // probe at a time start (true, counted). A true return counts the call as in flight.
  bool TryStart(int64_t now_ms);

  // The result of a call TryStart() let start. Results that arrive while open are ignored (their
  // calls started before it opened); in half-open the probe's failure reopens it with a doubled
  // period and successes_to_close successes in a row close it.
  void OnResult(int64_t now_ms, bool success);

  // A call TryStart() let start ended with neither success nor failure (the endpoint asked us
  // to wait, or the daemon abandoned the call): no longer in flight, nothing judged; a probe's
  // slot is freed for the next probe.
  void OnNeutral();

  State state(int64_t now_ms) const;

  // When TryStart() would next return true: now_ms when closed or when a probe may start; the
  // end of the open period when open; nullopt while the probe, or a call started before it
  // opened, is in flight (open or half-open): no time alone unblocks it then, only that call's
  // end (after which this gives the end of the open period again, or now_ms).
  std::optional<int64_t> NextStartMs(int64_t now_ms) const;

  // When it first opened in the current episode (not reset by open -> half-open -> open);
  // nullopt once closed. The dispatcher alerts the operator when this is older than a threshold.
  std::optional<int64_t> trouble_since_ms() const { return trouble_since_ms_; }

  // Calls started and not yet ended (OnResult / OnNeutral), probe included.
  uint32_t in_flight() const { return in_flight_; }
  // The wall clock was stepped by delta_ms: the open period keeps the time it had left and
  // trouble_since_ms() its distance from now. The window of recent results starts over, since
  // its buckets are numbered by wall time.
  void ShiftTimes(int64_t delta_ms);

  // The length of the current open period; when closed, of the next one (open_ms).
  int64_t open_period_ms() const { return period_ms_; }
  // Failures in a row while closed.
  uint32_t consecutive_failures() const { return consecutive_; }
  // The results the window holds at now_ms (closed state; empty otherwise).
  struct WindowCounts {
    uint32_t calls = 0;
    uint32_t failures = 0;
  };
  WindowCounts window(int64_t now_ms) const;

 private:
  enum class Phase { kClosed, kOpen, kHalfOpen };  // kOpen turns half-open with time

  struct Bucket {
    int64_t index = 0;  // now_ms / bucket_ms_ of the results it holds
    uint32_t calls = 0;
    uint32_t failures = 0;
  };

  bool OpenPeriodOver(int64_t now_ms) const;
  void Record(int64_t now_ms, bool success);
  bool ShouldOpen(int64_t now_ms) const;
  void Open(int64_t now_ms);  // with period_ms_ as it is
  void Close();
  void ClearWindow();

  Options options_;
  int64_t bucket_ms_ = 1'000;
  int64_t window_buckets_ = static_cast<int64_t>(kWindowBuckets);  // buckets the window spans

  Phase phase_ = Phase::kClosed;
  int64_t period_ms_ = 0;
  int64_t opened_at_ms_ = 0;
  int64_t open_until_ms_ = 0;
  bool probe_in_flight_ = false;
  uint32_t probe_successes_ = 0;
  uint32_t in_flight_ = 0;
  uint32_t consecutive_ = 0;
  std::optional<int64_t> trouble_since_ms_;
  std::array<Bucket, kWindowBuckets> ring_{};
};

}  // namespace gatilho
