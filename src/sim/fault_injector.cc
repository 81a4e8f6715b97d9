#include "sim/fault_injector.h"

#include <algorithm>
#include <random>
#include <utility>

namespace gatilho::sim {

std::string_view FaultName(Fault fault) {
  switch (fault) {
    case Fault::kServerError:
      return "5xx";
    case Fault::kMalformed:
      return "malformed";
    case Fault::kHtml:
      return "html";
    case Fault::kDrop:
      return "drop";
    case Fault::kTimeout:
      return "timeout";
    case Fault::kTruncated:
      return "truncated";
    case Fault::kReset:
      return "reset";
    case Fault::kTooManyRequests:
      return "429";
    case Fault::kStorm:
      return "storm_429";
    case Fault::kNone:
      break;
  }
  return "none";
}

FaultInjector::FaultInjector(const FaultSettings& settings, int64_t now_ms)
    : settings_(settings), set_at_ms_(now_ms) {}

void FaultInjector::Set(const FaultSettings& settings, int64_t now_ms) {
  std::lock_guard lock(mu_);
  settings_ = settings;
  set_at_ms_ = now_ms;
  last_storm_counted_ = -1;
}

FaultSettings FaultInjector::Get() const {
  std::lock_guard lock(mu_);
  return settings_;
}

bool FaultInjector::InStorm(int64_t now_ms, int64_t* index, int64_t* ends_ms) const {
  if (settings_.storm_ms <= 0) return false;
  const int64_t since = now_ms - set_at_ms_;
  if (since < 0) return false;
  if (settings_.storm_every_ms <= 0) {
    *index = 0;
    *ends_ms = set_at_ms_ + settings_.storm_ms;
    return since < settings_.storm_ms;
  }
  // The first period is calm, so whoever switched storms on gets going before the first one.
  const int64_t period = since / settings_.storm_every_ms;
  const int64_t into = since % settings_.storm_every_ms;
  if (period == 0 || into >= settings_.storm_ms) return false;
  *index = period;
  *ends_ms = now_ms - into + settings_.storm_ms;
  return true;
}

FaultDraw FaultInjector::Draw(int64_t now_ms) {
  FaultSettings settings;
  FaultDraw draw;
  {
    std::lock_guard lock(mu_);
    settings = settings_;
    int64_t index = 0;
    int64_t ends_ms = 0;
    if (InStorm(now_ms, &index, &ends_ms)) {
      if (index > last_storm_counted_) {
        last_storm_counted_ = index;
        ++storms_;
      }
      draw.fault = Fault::kStorm;
      draw.retry_after_s = static_cast<int>(std::max<int64_t>(1, (ends_ms - now_ms + 999) / 1000));
    }
  }
  if (draw.fault == Fault::kNone) {
    // Faults need no reproducibility, only independence; a generator per thread avoids a shared
    // lock on the hot path.
    thread_local std::minstd_rand rng(std::random_device{}());
    double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    for (const auto& [probability, fault] : {std::pair{settings.fault_5xx, Fault::kServerError},
                                             {settings.fault_malformed, Fault::kMalformed},
                                             {settings.fault_html, Fault::kHtml},
                                             {settings.fault_drop, Fault::kDrop},
                                             {settings.fault_timeout, Fault::kTimeout},
                                             {settings.fault_truncated, Fault::kTruncated},
                                             {settings.fault_reset, Fault::kReset},
                                             {settings.fault_429, Fault::kTooManyRequests}}) {
      if ((roll -= probability) < 0) {
        draw.fault = fault;
        break;
      }
    }
    if (draw.fault == Fault::kTooManyRequests) draw.retry_after_s = 1;
  }
  if (draw.fault != Fault::kNone) {
    ++injected_;
    ++by_kind_[static_cast<std::size_t>(draw.fault)];
  }
  return draw;
}

}  // namespace gatilho::sim
