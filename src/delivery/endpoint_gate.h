// EndpointGate: whether one more delivery to ONE endpoint URL may start now.
//
// It combines everything that holds deliveries to an endpoint back:
//   - disabled: the endpoint answered 410 Gone (or the operator disabled it), until Enable();
//   - paused: the endpoint asked us to wait (429, or 503 with Retry-After) until a wall time;
//   - the circuit breaker (circuit_breaker.h), fed with the delivered / failed answers;
//   - at most max_in_flight deliveries at once;
//   - a token bucket of rate_per_second starts per second, burst at once.
//
// The dispatcher asks TryStart() before each POST and reports its end with exactly one
// OnAnswer() or OnAbandoned(); NextStartMs() tells it when to look again. Times are wall-clock
// milliseconds (Retry-After dates are wall times).
//
// Clock steps backwards: a reading earlier than the answer that set a pause ends the pause
// (the endpoint may then get one more request, and will say again if it wants us to wait), so a
// step back never stalls the endpoint for its length; the breaker and the bucket tolerate steps
// back the same way (see their headers).
//
// Pure: no I/O. Threads: not thread-safe; one thread drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "delivery/circuit_breaker.h"
#include "delivery/delivery_answer.h"
#include "delivery/token_bucket.h"

namespace gatilho {

class EndpointGate {
 public:
  struct Options {
    size_t max_in_flight = 8;    // 0 is read as 1
    double rate_per_second = 0;  // <= 0: unlimited
    double burst = 0;            // 0 -> max(1, rate_per_second)
    CircuitBreaker::Options breaker;
  };

  EndpointGate() : EndpointGate(Options{}) {}
  explicit EndpointGate(Options options);

  // False when disabled, paused by Retry-After, the breaker refuses, the in-flight cap is
  // reached or no rate token is available. True counts the start: in flight +1, a token taken,
  // the breaker's call (or probe) counted. A refusal consumes nothing: no token, no probe.
  bool TryStart(int64_t now_ms);

  // The earliest time >= now_ms at which TryStart() succeeds if nothing else happens (now_ms
  // when it would now); nullopt when no time alone will do: only the end of a delivery in flight
  // (in-flight cap reached; the breaker's probe, or deliveries started before it opened, still
  // out) or Enable() can unblock it. Ask again after each answer.
  std::optional<int64_t> NextStartMs(int64_t now_ms) const;

  // The answer to a delivery TryStart() let start: in flight -1, and
  //   kDelivered: a success for the breaker;   kFailed: a failure for the breaker;
  //   kThrottled: pauses the whole endpoint until retry_at_ms (a pause already running longer
  //               is kept); neither success nor failure for the breaker;
  //   kGone:      disables the endpoint; nothing for the breaker.
  void OnAnswer(int64_t now_ms, const DeliveryAnswer& answer);

  // A delivery TryStart() let start produced no answer at all (e.g. the daemon is stopping):
  // in flight -1 only (the breaker is told the call ended, without a verdict).
  void OnAbandoned();

  // Disable() stops every start until Enable(). Enable() clears only that: a pause or an open
  // breaker still holds.
  void Disable() { disabled_ = true; }
  void Enable() { disabled_ = false; }
  bool disabled() const { return disabled_; }

  // The wall clock was stepped by delta_ms: a Retry-After pause and the breaker keep the time
  // they had left.
  void ShiftTimes(int64_t delta_ms);

  size_t in_flight() const { return in_flight_; }
  // The end of the current Retry-After pause; 0 when none was ever asked for. The endpoint is
  // paused at now_ms while now_ms < paused_until_ms() (see paused()).
  int64_t paused_until_ms() const { return paused_until_ms_; }
  bool paused(int64_t now_ms) const;
  const CircuitBreaker& breaker() const { return breaker_; }
  const TokenBucket& bucket() const { return bucket_; }
  const Options& options() const { return options_; }

 private:
  Options options_;
  TokenBucket bucket_;
  CircuitBreaker breaker_;
  size_t in_flight_ = 0;
  bool disabled_ = false;
  int64_t paused_until_ms_ = 0;
  int64_t paused_since_ms_ = 0;  // now_ms of the answer that set paused_until_ms_
};

}  // namespace gatilho
