#include "delivery/circuit_breaker.h"

#include <algorithm>
#include <limits>

namespace gatilho {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {  // b >= 0
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? kInt64Max : sum;
}

CircuitBreaker::Options Normalized(CircuitBreaker::Options o) {
  o.window_ms = std::max<int64_t>(o.window_ms, 1);
  o.min_calls = std::max<uint32_t>(o.min_calls, 1);
  o.open_ms = std::max<int64_t>(o.open_ms, 0);
  o.max_open_ms = std::max(o.max_open_ms, o.open_ms);
  o.successes_to_close = std::max<uint32_t>(o.successes_to_close, 1);
  return o;
}

}  // namespace

CircuitBreaker::CircuitBreaker(Options options)
    : options_(Normalized(options)), period_ms_(options_.open_ms) {
  constexpr auto kBuckets = static_cast<int64_t>(kWindowBuckets);
  bucket_ms_ = std::max<int64_t>((options_.window_ms + kBuckets - 1) / kBuckets, 1);
  window_buckets_ = std::clamp<int64_t>(options_.window_ms / bucket_ms_, 1, kBuckets);
}

bool CircuitBreaker::OpenPeriodOver(int64_t now_ms) const {
  // A reading before the opening is a clock step back: the period is taken as over.
  return now_ms >= open_until_ms_ || now_ms < opened_at_ms_;
}

CircuitBreaker::State CircuitBreaker::state(int64_t now_ms) const {
  switch (phase_) {
    case Phase::kClosed:
      return State::kClosed;
    case Phase::kOpen:
      return OpenPeriodOver(now_ms) ? State::kHalfOpen : State::kOpen;
    case Phase::kHalfOpen:
      return State::kHalfOpen;
  }
  return State::kClosed;
}

bool CircuitBreaker::TryStart(int64_t now_ms) {
  if (phase_ == Phase::kClosed) {
    ++in_flight_;
    return true;
  }
  if (phase_ == Phase::kOpen) {
    if (!OpenPeriodOver(now_ms)) return false;
    phase_ = Phase::kHalfOpen;
  }
  // Half-open: one probe, and only once every call started before the opening has ended, so
  // the next result is surely the probe's.
  if (probe_in_flight_ || in_flight_ > 0) return false;
  probe_in_flight_ = true;
  ++in_flight_;
  return true;
}

void CircuitBreaker::OnResult(int64_t now_ms, bool success) {
  if (in_flight_ > 0) --in_flight_;
  switch (phase_) {
    case Phase::kClosed:
      Record(now_ms, success);
      consecutive_ = success ? 0 : consecutive_ + 1;
      if (ShouldOpen(now_ms)) Open(now_ms);
      return;
    case Phase::kOpen:
      return;  // a call started before the opening: ignored
    case Phase::kHalfOpen:
      if (!probe_in_flight_) return;  // likewise
      probe_in_flight_ = false;
      if (success) {
        if (++probe_successes_ >= options_.successes_to_close) Close();
      } else {
        period_ms_ = period_ms_ > options_.max_open_ms / 2
                         ? options_.max_open_ms
                         : std::min(period_ms_ * 2, options_.max_open_ms);
        Open(now_ms);
      }
      return;
  }
}

void CircuitBreaker::OnNeutral() {
  if (in_flight_ > 0) --in_flight_;
  if (phase_ == Phase::kHalfOpen) probe_in_flight_ = false;
}

std::optional<int64_t> CircuitBreaker::NextStartMs(int64_t now_ms) const {
  if (phase_ == Phase::kClosed) return now_ms;
  if (in_flight_ > 0) return std::nullopt;  // the probe, or calls started before the opening
  if (phase_ == Phase::kOpen && !OpenPeriodOver(now_ms)) return open_until_ms_;
  return now_ms;
}

CircuitBreaker::WindowCounts CircuitBreaker::window(int64_t now_ms) const {
  WindowCounts counts;
  if (phase_ != Phase::kClosed) return counts;
  int64_t current = FloorDiv(now_ms, bucket_ms_);
  for (const Bucket& bucket : ring_) {
    // Buckets ahead of now_ms (the clock stepped back) are not counted.
    if (bucket.index <= current && bucket.index > current - window_buckets_) {
      counts.calls += bucket.calls;
      counts.failures += bucket.failures;
    }
  }
  return counts;
}

void CircuitBreaker::Record(int64_t now_ms, bool success) {
  int64_t index = FloorDiv(now_ms, bucket_ms_);
  constexpr auto kBuckets = static_cast<int64_t>(kWindowBuckets);
  Bucket& bucket = ring_[static_cast<size_t>(((index % kBuckets) + kBuckets) % kBuckets)];
  if (bucket.index != index) bucket = Bucket{.index = index};
  ++bucket.calls;
  if (!success) ++bucket.failures;
}

bool CircuitBreaker::ShouldOpen(int64_t now_ms) const {
  if (options_.consecutive_failures > 0 && consecutive_ >= options_.consecutive_failures) {
    return true;
  }
  WindowCounts counts = window(now_ms);
  if (counts.calls < options_.min_calls || counts.failures == 0) return false;
  // A quotient, not failures >= ratio * calls: 3 / 30 >= 0.1 holds, 3 >= 0.1 * 30 does not.
  return static_cast<double>(counts.failures) / counts.calls >= options_.failure_ratio;
}

void CircuitBreaker::Open(int64_t now_ms) {
  phase_ = Phase::kOpen;
  opened_at_ms_ = now_ms;
  open_until_ms_ = SaturatingAdd(now_ms, period_ms_);
  probe_in_flight_ = false;
  probe_successes_ = 0;
  consecutive_ = 0;  // the window is left as it is: unused until Close() clears it
  if (!trouble_since_ms_.has_value()) trouble_since_ms_ = now_ms;
}

void CircuitBreaker::Close() {
  phase_ = Phase::kClosed;
  period_ms_ = options_.open_ms;
  probe_in_flight_ = false;
  probe_successes_ = 0;
  consecutive_ = 0;
  ClearWindow();
  trouble_since_ms_.reset();
}

void CircuitBreaker::ShiftTimes(int64_t delta_ms) {
  opened_at_ms_ += delta_ms;
  open_until_ms_ += delta_ms;
  if (trouble_since_ms_) *trouble_since_ms_ += delta_ms;
  ClearWindow();
}

void CircuitBreaker::ClearWindow() {
  ring_.fill(Bucket{});
}

}  // namespace gatilho
