#include "core/progress_meter.h"

namespace gatilho {

ProgressMeter::ProgressMeter(const Clock& clock, std::string verb, int64_t total,
                             int64_t min_interval_ms)
    : clock_(clock), verb_(std::move(verb)), total_(total), min_interval_ms_(min_interval_ms) {}

std::string ProgressMeter::Format(const std::string& verb, int64_t done, int64_t total) {
  return verb + " " + std::to_string(done) + " of " + std::to_string(total) + " refs";
}

std::optional<std::string> ProgressMeter::Update(int64_t done) {
  if (finished_) return std::nullopt;
  int64_t now = clock_.MonotonicMs();
  if (done >= total_) {
    finished_ = true;
    return "\r" + Format(verb_, done, total_) + "\n";
  }
  // A terminal redrawn more often than this only flickers, and the writes cost time.
  if (last_shown_ms_ && now - *last_shown_ms_ < min_interval_ms_) return std::nullopt;
  last_shown_ms_ = now;
  return "\r" + Format(verb_, done, total_);
}

}  // namespace gatilho
