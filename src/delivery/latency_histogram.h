// LatencyHistogram: how long events waited from their creation to their delivery, counted in
// fixed buckets (the shape of a Prometheus histogram) so that it stays small however many events
// go out. Pure; not thread-safe (the dispatcher's loop thread records, the daemon reads).
#pragma once

#include <cstdint>
#include <vector>

namespace gatilho {

class LatencyHistogram {
 public:
  // Upper bounds in seconds: 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800.
  static const std::vector<double>& DefaultBounds();

  LatencyHistogram() : LatencyHistogram(DefaultBounds()) {}
  // `bounds_seconds` ascending; a value above the last falls in the implicit +Inf bucket.
  explicit LatencyHistogram(std::vector<double> bounds_seconds);

  // Counts one latency; a negative one (the wall clock stepped back) counts as 0.
  void Record(double seconds);
  // Adds `other`'s counts, which must have the same bounds (a reload replaced the dispatcher).
  void Merge(const LatencyHistogram& other);

  const std::vector<double>& bounds_seconds() const { return bounds_; }
  // Per bucket, not cumulative: bounds_seconds().size() + 1 of them, the last for +Inf.
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum_seconds() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace gatilho
