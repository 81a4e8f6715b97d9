// ProcessingModel: how long the simulated authorities take and what they decide.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "sim/document.h"

namespace gatilho::sim {

struct ProcessingSettings {
  // Median processing time per type, indexed by DocType; ignored for synchronous types.
  std::array<double, 8> median_ms = {4000, 0, 60000, 20000, 4000, 0, 4000, 4000};
  double sigma = 0.8;       // of the log-normal distribution
  double time_scale = 1.0;  // every duration is divided by this
  double reject_rate = 0.1;
  double deny_rate = 0.02;  // only for types that can be denied; applies after reject_rate
  uint64_t seed = 0;
};

class ProcessingModel {
 public:
  explicit ProcessingModel(const ProcessingSettings& settings) : settings_(settings) {}

  struct Decision {
    int64_t duration_ms = 0;
    DocStatus outcome = DocStatus::kAutorizado;
    int rejection = 0;  // non-negative; selects the rejection message
  };

  // The fate of one emission attempt. The same (seed, token, type, ref, attempt) always gives the
  // same decision, whatever order requests arrive in. Synchronous types take no time.
  Decision Decide(const std::string& token, DocType type, const std::string& ref,
                  int attempt) const;

 private:
  ProcessingSettings settings_;
};

}  // namespace gatilho::sim
