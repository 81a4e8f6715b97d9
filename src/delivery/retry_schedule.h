// RetrySchedule: when to try a failed delivery again, and when to give up on it.
//
// Pure: a function of the attempt count and the times it is given. Threads: immutable; share
// freely.
#pragma once

#include <cstdint>
#include <optional>

namespace gatilho {

class RetrySchedule {
 public:
  struct Options {
    int64_t first_delay_ms = 5'000;          // wait after the first failure
    double factor = 2.0;                     // each further failure multiplies the wait
    int64_t max_delay_ms = 6 * 3600 * 1000;  // no wait is longer than this
    int64_t horizon_ms = 72 * 3600 * 1000;   // no attempt later than this after the first one
    double jitter = 0.2;                     // waits are shortened by up to this fraction
  };

  // Two constructors rather than `Options options = {}`: a default argument cannot use Options'
  // member initializers before RetrySchedule is complete.
  RetrySchedule() : RetrySchedule(Options{}) {}
  explicit RetrySchedule(Options options) : options_(options) {}

  // After `attempts` failed attempts (0 is read as 1) of an event first attempted at
  // first_attempt_ms, the time of the next attempt; nullopt when the event should go to the dead
  // letter because now_ms has reached the horizon. A wait that would cross the horizon is cut
  // short so the last attempt happens at the horizon itself. The jitter is a pure function of
  // `seed` (e.g. the event's sequence number) and `attempts`, so tests and restarts agree.
  std::optional<int64_t> Next(uint32_t attempts, int64_t first_attempt_ms, int64_t now_ms,
                              uint64_t seed) const;

 private:
  Options options_;
};

}  // namespace gatilho
