// Clock: the one source of time for everything that makes a decision.
//
// Two readings are offered. WallMs() is Unix time in milliseconds: it is what the store persists
// (a schedule must survive a restart) and what payload timestamps show. MonotonicMs() never goes
// backwards and is what in-process intervals (rate-limit windows, timeouts) are measured with.
// Policy code takes a Clock& so tests drive it with a VirtualClock and run in virtual time.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace gatilho {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t WallMs() const = 0;
  // Milliseconds since an arbitrary fixed point; never decreases.
  virtual int64_t MonotonicMs() const = 0;
};

// The operating system's clocks.
class SystemClock final : public Clock {
 public:
  int64_t WallMs() const override;
  int64_t MonotonicMs() const override;

  // A process-wide instance.
  static SystemClock& Instance();
};

// A clock that moves only when told to. Thread-safe.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(int64_t wall_start_ms = 1'700'000'000'000) : wall_ms_(wall_start_ms) {}

  int64_t WallMs() const override;
  int64_t MonotonicMs() const override;

  // Moves both readings forward by `ms` (ignored when negative).
  void Advance(int64_t ms);
  // Moves only the wall reading, as an operator changing the system time would.
  void JumpWall(int64_t delta_ms);

 private:
  mutable std::mutex mu_;
  int64_t wall_ms_;
  int64_t mono_ms_ = 0;
};

// `wall_ms` as RFC 3339 UTC with milliseconds, e.g. "2026-12-04T01:02:03.456Z": the form of
// payload timestamps. Times before 1970 are shown as 1970-01-01T00:00:00.000Z.
std::string FormatRfc3339(int64_t wall_ms);

}  // namespace gatilho
