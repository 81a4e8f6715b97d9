#include "core/wall_step.h"

namespace gatilho {

WallStepWatch::WallStepWatch(const Clock& clock)
    : clock_(clock), offset_ms_(clock.WallMs() - clock.MonotonicMs()) {}

std::optional<int64_t> WallStepWatch::Take() {
  const int64_t offset = clock_.WallMs() - clock_.MonotonicMs();
  const int64_t step = offset - offset_ms_;
  offset_ms_ = offset;
  if (step >= kMinStepMs || step <= -kMinStepMs) return step;
  return std::nullopt;
}

}  // namespace gatilho
