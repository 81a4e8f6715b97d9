#include "core/clock.h"

#include <time.h>

#include <chrono>
#include <cstdio>

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

std::string FormatRfc3339(int64_t wall_ms) {
  if (wall_ms < 0) wall_ms = 0;
  time_t seconds = static_cast<time_t>(wall_ms / 1000);
  tm parts{};
  gmtime_r(&seconds, &parts);
  // Sized for the widest values the int fields could hold, which -Wformat-truncation checks.
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(wall_ms % 1000));
  return text;
}

}  // namespace gatilho
