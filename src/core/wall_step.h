// WallStepWatch: notices when the wall clock is stepped (an operator sets the time, NTP corrects
// a large error, a VM resumes), as opposed to the slow slewing NTP does all the time.
//
// The store keeps schedules as wall times, so that they survive a restart; a step would then
// stall them (wall moved back) or bring them all due at once (wall moved forward). Whoever owns
// such a schedule polls Take() once per turn and shifts its pending times by the step, so each
// keeps the wait it had on the monotonic clock. Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <optional>

#include "core/clock.h"

namespace gatilho {

class WallStepWatch {
 public:
  // Smaller changes of (wall - monotonic) are slewing or scheduling noise, never a step.
  static constexpr int64_t kMinStepMs = 5'000;

  // `clock` must outlive the watch; the reading at construction is the reference.
  explicit WallStepWatch(const Clock& clock);

  // How far the wall clock jumped (positive: forward) relative to the monotonic clock since the
  // previous call, when at least kMinStepMs either way; nullopt otherwise. Each step is
  // reported once; smaller drifts are absorbed so they never add up to a step.
  std::optional<int64_t> Take();

 private:
  const Clock& clock_;
  int64_t offset_ms_;  // wall - monotonic at the last call
};

}  // namespace gatilho
