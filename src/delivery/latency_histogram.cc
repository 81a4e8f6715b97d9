#include "delivery/latency_histogram.h"

#include <algorithm>
#include <utility>

namespace gatilho {

const std::vector<double>& LatencyHistogram::DefaultBounds() {
  static const std::vector<double> kBounds = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                              5,    10,  30,   60,  300, 1800};
  return kBounds;
}

LatencyHistogram::LatencyHistogram(std::vector<double> bounds_seconds)
    : bounds_(std::move(bounds_seconds)), counts_(bounds_.size() + 1, 0) {}

void LatencyHistogram::Record(double seconds) {
  seconds = std::max(0.0, seconds);
  // Prometheus buckets are "less than or equal": a value on a bound belongs to that bound.
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) -
                                      bounds_.begin());
  ++counts_[bucket];
  sum_ += seconds;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.bounds_ != bounds_) return;
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  sum_ += other.sum_;
  count_ += other.count_;
}

}  // namespace gatilho
