#include "sim/fault_injector.h"

#include <random>

namespace gatilho::sim {

void FaultInjector::Set(const FaultSettings& settings) {
  std::lock_guard lock(mu_);
  settings_ = settings;
}

FaultSettings FaultInjector::Get() const {
  std::lock_guard lock(mu_);
  return settings_;
}

Fault FaultInjector::Draw() {
  const FaultSettings settings = Get();
  // Faults need no reproducibility, only independence; a generator per thread avoids a shared
  // lock on the hot path.
  thread_local std::minstd_rand rng(std::random_device{}());
  double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  Fault fault = Fault::kNone;
  if ((roll -= settings.fault_5xx) < 0) {
    fault = Fault::kServerError;
  } else if ((roll -= settings.fault_malformed) < 0) {
    fault = Fault::kMalformed;
  } else if ((roll -= settings.fault_html) < 0) {
    fault = Fault::kHtml;
  } else if ((roll -= settings.fault_drop) < 0) {
    fault = Fault::kDrop;
  }
  if (fault != Fault::kNone) ++injected_;
  return fault;
}

}  // namespace gatilho::sim
