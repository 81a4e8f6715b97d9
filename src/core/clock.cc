#include "core/clock.h"

#include <chrono>

namespace gatilho {

int64_t SystemClock::WallMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

int64_t VirtualClock::WallMs() const {
  std::lock_guard lock(mu_);
  return wall_ms_;
}

int64_t VirtualClock::MonotonicMs() const {
  std::lock_guard lock(mu_);
  return mono_ms_;
}

void VirtualClock::Advance(int64_t ms) {
  if (ms <= 0) return;
  std::lock_guard lock(mu_);
  wall_ms_ += ms;
  mono_ms_ += ms;
}

void VirtualClock::JumpWall(int64_t delta_ms) {
  std::lock_guard lock(mu_);
  wall_ms_ += delta_ms;
}

}  // namespace gatilho
