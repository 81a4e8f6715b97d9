#include "delivery/endpoint_gate.h"

#include <algorithm>

namespace gatilho {
namespace {

EndpointGate::Options Normalized(EndpointGate::Options o) {
  o.max_in_flight = std::max<size_t>(o.max_in_flight, 1);
  if (!(o.burst > 0)) o.burst = std::max(1.0, o.rate_per_second);  // also replaces NaN
  return o;
}

}  // namespace

EndpointGate::EndpointGate(Options options)
    : options_(Normalized(options)),
      bucket_(options_.rate_per_second, options_.burst),
      breaker_(options_.breaker) {}

bool EndpointGate::paused(int64_t now_ms) const {
  // A reading before the answer that asked for the pause is a clock step back: not paused.
  return now_ms < paused_until_ms_ && now_ms >= paused_since_ms_;
}

bool EndpointGate::TryStart(int64_t now_ms) {
  // The refusals that cost nothing come first; the token and the breaker's call (a probe, when
  // half-open) are taken only once every check has passed.
  if (disabled_ || paused(now_ms) || in_flight_ >= options_.max_in_flight) return false;
  std::optional<int64_t> breaker_next = breaker_.NextStartMs(now_ms);
  if (!breaker_next.has_value() || *breaker_next > now_ms) return false;
  if (bucket_.NextTokenMs(now_ms) > now_ms) return false;

  bool took = bucket_.TryTake(now_ms);
  bool started = breaker_.TryStart(now_ms);
  (void)took;  // both hold: their Next*Ms said so just above
  (void)started;
  ++in_flight_;
  return true;
}

std::optional<int64_t> EndpointGate::NextStartMs(int64_t now_ms) const {
  if (disabled_ || in_flight_ >= options_.max_in_flight) return std::nullopt;
  std::optional<int64_t> breaker_next = breaker_.NextStartMs(now_ms);
  if (!breaker_next.has_value()) return std::nullopt;
  // Each condition, once met, stays met until something else happens, so the latest is exact.
  int64_t next_ms = std::max(now_ms, *breaker_next);
  if (paused(now_ms)) next_ms = std::max(next_ms, paused_until_ms_);
  return std::max(next_ms, bucket_.NextTokenMs(now_ms));
}

void EndpointGate::OnAnswer(int64_t now_ms, const DeliveryAnswer& answer) {
  if (in_flight_ > 0) --in_flight_;
  switch (answer.kind) {
    case DeliveryAnswer::Kind::kDelivered:
      breaker_.OnResult(now_ms, true);
      return;
    case DeliveryAnswer::Kind::kFailed:
      breaker_.OnResult(now_ms, false);
      return;
    case DeliveryAnswer::Kind::kThrottled:
      breaker_.OnNeutral();
      // Answers may arrive out of order; a shorter wait does not cut a running pause short.
      if (!paused(now_ms) || answer.retry_at_ms > paused_until_ms_) {
        paused_until_ms_ = answer.retry_at_ms;
        paused_since_ms_ = now_ms;
      }
      return;
    case DeliveryAnswer::Kind::kGone:
      breaker_.OnNeutral();
      disabled_ = true;
      return;
  }
}

void EndpointGate::OnAbandoned() {
  if (in_flight_ > 0) --in_flight_;
  breaker_.OnNeutral();
}

void EndpointGate::ShiftTimes(int64_t delta_ms) {
  if (paused_until_ms_ != 0) paused_until_ms_ += delta_ms;
  if (paused_since_ms_ != 0) paused_since_ms_ += delta_ms;
  breaker_.ShiftTimes(delta_ms);
}

}  // namespace gatilho
