// CompletionModel: how long documents of one (company, document type) take to finish at the API,
// learned from what the poller saw.
//
// A completion is never seen exactly: the poller only knows the document was still processing
// at one poll and finished at the next, so each observation is an interval of ages
// (lower, upper]. The model is a histogram over log-spaced age buckets (100 ms to 7 days); an
// observation spreads its weight over the buckets its interval covers. Old observations decay
// (each new one multiplies the existing weights by a factor just under 1), so the model follows
// a SEFAZ that got slower. A prior, built from the API's documented timings for the type, weighs
// as a few observations, so the first schedule is sensible and one outlier moves little.
//
// Pure value type: no clock, no I/O. Copyable; Encode()/Decode() persist it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/document_type.h"

namespace gatilho {

class CompletionModel {
 public:
  static constexpr int kBuckets = 64;

  // The model before any observation: a log-normal prior for `type` (see the .cc for the
  // medians and spreads, taken from the API's documented timings).
  static CompletionModel Prior(DocType type);

  // A model with the given log-normal prior (median in ms, sigma of the natural log), weighing
  // as `prior_weight` observations.
  static CompletionModel LogNormalPrior(double median_ms, double sigma, double prior_weight);

  // Records that a document finished at an age in (lower_ms, upper_ms]. Ages are from the start
  // of the document's cycle. REQUIRES: 0 <= lower_ms < upper_ms.
  void Record(int64_t lower_ms, int64_t upper_ms);

  // The probability that a document has finished by `age_ms` (0 at age 0, non-decreasing, 1
  // beyond the last bucket).
  double Cdf(int64_t age_ms) const;

  // The smallest age by which a fraction `q` (0 < q < 1) of documents have finished.
  int64_t Quantile(double q) const;

  // Observations recorded (not counting the prior), for status output.
  uint64_t observations() const { return observations_; }

  // Stable bytes for the store, and back. Decode returns nullopt for bytes it cannot read.
  std::string Encode() const;
  static std::optional<CompletionModel> Decode(std::string_view bytes);

 private:
  CompletionModel() = default;

  std::array<double, kBuckets> weights_{};
  uint64_t observations_ = 0;
};

}  // namespace gatilho
