// ProgressMeter: the throttled progress line of a long command ("registered 12000 of 50000
// refs"), for a terminal's standard error.
//
// Pure: it decides what to show and when from the Clock it is given; the caller writes the text
// (a '\r' at the start of each line overwrites the previous one). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"

namespace gatilho {

class ProgressMeter {
 public:
  // `clock` must outlive the meter; lines are at least min_interval_ms apart (10 a second by
  // default), except the last one.
  ProgressMeter(const Clock& clock, std::string verb, int64_t total, int64_t min_interval_ms = 100);

  // The line to show now that `done` items are finished, with a leading '\r' and no newline;
  // nullopt when the previous line went out less than min_interval_ms ago. The line for
  // done == total is always returned, once, ending in '\n'.
  std::optional<std::string> Update(int64_t done);

  // "registered 12000 of 50000 refs" for verb "registered".
  static std::string Format(const std::string& verb, int64_t done, int64_t total);

 private:
  const Clock& clock_;
  std::string verb_;
  int64_t total_;
  int64_t min_interval_ms_;
  std::optional<int64_t> last_shown_ms_;
  bool finished_ = false;
};

}  // namespace gatilho
