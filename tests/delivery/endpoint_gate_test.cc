#include "delivery/endpoint_gate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>

namespace gatilho {
namespace {

using Kind = DeliveryAnswer::Kind;
using State = CircuitBreaker::State;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

const DeliveryAnswer kDelivered{.kind = Kind::kDelivered};
const DeliveryAnswer kFailed{.kind = Kind::kFailed};
const DeliveryAnswer kGone{.kind = Kind::kGone};
DeliveryAnswer Throttled(int64_t until_ms) {
  return DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = until_ms};
}

uint64_t Mix(uint64_t x) {  // splitmix64: a deterministic spread of values
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

EndpointGate::Options Unlimited() {
  EndpointGate::Options options;
  options.max_in_flight = 1'000'000;
  return options;
}

// One delivery that starts and is answered at `t`; the gate must let it start.
void Deliver(EndpointGate& gate, int64_t t, const DeliveryAnswer& answer) {
  ASSERT_TRUE(gate.TryStart(t)) << "at +" << (t - kStart) << " ms";
  gate.OnAnswer(t, answer);
}

// Checks NextStartMs() against TryStart() on copies of `gate`: TryStart succeeds at the time it
// names and not a millisecond before; nullopt means no time alone helps.
void ExpectNextStartIsExact(const EndpointGate& gate, int64_t now, const std::string& where) {
  std::optional<int64_t> next = gate.NextStartMs(now);
  if (!next.has_value()) {
    for (int64_t later : {now, now + kSecond, now + kHour, now + 1000 * kHour}) {
      EndpointGate copy = gate;
      ASSERT_FALSE(copy.TryStart(later))
          << where << ": nullopt, yet it starts at +" << (later - now);
    }
    return;
  }
  ASSERT_GE(*next, now) << where;
  EndpointGate at_next = gate;
  ASSERT_TRUE(at_next.TryStart(*next)) << where << ": refused at the time it named";
  if (*next > now) {
    EndpointGate before = gate;
    ASSERT_FALSE(before.TryStart(*next - 1)) << where << ": starts before the time it named";
  }
}

TEST(EndpointGate, DefaultsLetDeliveriesStart) {
  EndpointGate gate;
  EXPECT_EQ(gate.NextStartMs(kStart), kStart);
  EXPECT_TRUE(gate.TryStart(kStart));
  EXPECT_EQ(gate.in_flight(), 1u);
  EXPECT_FALSE(gate.disabled());
  EXPECT_EQ(gate.paused_until_ms(), 0);
  EXPECT_EQ(gate.breaker().state(kStart), State::kClosed);
  EXPECT_TRUE(gate.bucket().unlimited());
  gate.OnAnswer(kStart, kDelivered);
  EXPECT_EQ(gate.in_flight(), 0u);
}

TEST(EndpointGate, InFlightCap) {
  EndpointGate::Options options;
  options.max_in_flight = 3;
  EndpointGate gate(options);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gate.TryStart(kStart));
  EXPECT_FALSE(gate.TryStart(kStart));
  EXPECT_FALSE(gate.TryStart(kStart + kHour));
  EXPECT_EQ(gate.in_flight(), 3u);
  EXPECT_EQ(gate.NextStartMs(kStart), std::nullopt);  // only an answer helps
  ExpectNextStartIsExact(gate, kStart, "at the cap");

  gate.OnAnswer(kStart + kSecond, kDelivered);
  EXPECT_EQ(gate.NextStartMs(kStart + kSecond), kStart + kSecond);
  EXPECT_TRUE(gate.TryStart(kStart + kSecond));
  EXPECT_FALSE(gate.TryStart(kStart + kSecond));

  // Every kind of end frees a place, abandonment included.
  gate.OnAbandoned();
  EXPECT_EQ(gate.in_flight(), 2u);
  gate.OnAnswer(kStart + kSecond, kFailed);
  gate.OnAnswer(kStart + kSecond, Throttled(0));
  EXPECT_EQ(gate.in_flight(), 0u);
}

TEST(EndpointGate, InFlightCapZeroIsOne) {
  EndpointGate::Options options;
  options.max_in_flight = 0;
  EndpointGate gate(options);
  EXPECT_TRUE(gate.TryStart(kStart));
  EXPECT_FALSE(gate.TryStart(kStart));
}

TEST(EndpointGate, RateLimit) {
  EndpointGate::Options options = Unlimited();
  options.rate_per_second = 2;  // burst 0: max(1, 2) = 2
  EndpointGate gate(options);
  EXPECT_FALSE(gate.bucket().unlimited());
  EXPECT_TRUE(gate.TryStart(kStart));
  EXPECT_TRUE(gate.TryStart(kStart));
  EXPECT_FALSE(gate.TryStart(kStart));
  EXPECT_EQ(gate.NextStartMs(kStart), kStart + 500);
  ExpectNextStartIsExact(gate, kStart, "out of tokens");
  EXPECT_FALSE(gate.TryStart(kStart + 499));
  EXPECT_TRUE(gate.TryStart(kStart + 500));

  // Over a minute of eager starts: the burst plus two a second.
  EndpointGate eager(options);
  int starts = 0;
  for (int64_t t = kStart; t <= kStart + kMinute; t += 10) {
    while (eager.TryStart(t)) {
      ASSERT_LE(++starts, 1000) << "the rate is not held";
      eager.OnAnswer(t, kDelivered);
    }
  }
  EXPECT_EQ(starts, 2 + 120);
}

TEST(EndpointGate, BurstDefaultsToTheRateButAtLeastOne) {
  EndpointGate::Options options = Unlimited();
  options.rate_per_second = 0.5;
  EndpointGate slow(options);
  EXPECT_TRUE(slow.TryStart(kStart));
  EXPECT_FALSE(slow.TryStart(kStart));
  EXPECT_EQ(slow.NextStartMs(kStart), kStart + 2 * kSecond);

  options.rate_per_second = 5;
  EndpointGate fast(options);
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(fast.TryStart(kStart)) << i;
  EXPECT_FALSE(fast.TryStart(kStart));

  options.burst = 1;  // explicit
  EndpointGate strict(options);
  EXPECT_TRUE(strict.TryStart(kStart));
  EXPECT_FALSE(strict.TryStart(kStart));
  EXPECT_EQ(strict.NextStartMs(kStart), kStart + 200);
}

TEST(EndpointGate, RetryAfterPausesTheWholeEndpoint) {
  EndpointGate gate;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gate.TryStart(kStart));
  gate.OnAnswer(kStart + kSecond, Throttled(kStart + 31 * kSecond));
  EXPECT_EQ(gate.paused_until_ms(), kStart + 31 * kSecond);
  EXPECT_TRUE(gate.paused(kStart + kSecond));
  for (int64_t t : {kStart + kSecond, kStart + 20 * kSecond, kStart + 31 * kSecond - 1}) {
    EXPECT_FALSE(gate.TryStart(t));
    EXPECT_EQ(gate.NextStartMs(t), kStart + 31 * kSecond);
    ExpectNextStartIsExact(gate, t, "paused");
  }
  // The other two deliveries still in flight end normally.
  gate.OnAnswer(kStart + 2 * kSecond, kDelivered);
  gate.OnAnswer(kStart + 3 * kSecond, kDelivered);
  EXPECT_FALSE(gate.TryStart(kStart + 3 * kSecond));
  EXPECT_FALSE(gate.paused(kStart + 31 * kSecond));
  EXPECT_TRUE(gate.TryStart(kStart + 31 * kSecond));
}

TEST(EndpointGate, ThrottlingIsNeitherSuccessNorFailureForTheBreaker) {
  EndpointGate::Options options;
  options.breaker.consecutive_failures = 3;
  EndpointGate gate(options);
  int64_t t = kStart;
  // Many throttled answers do not open the breaker...
  for (int i = 0; i < 50; ++i) {
    Deliver(gate, t, Throttled(t + kSecond));
    t += kSecond;
  }
  EXPECT_EQ(gate.breaker().state(t), State::kClosed);
  EXPECT_EQ(gate.breaker().window(t).calls, 0u);
  // ...nor break a run of failures.
  Deliver(gate, t, kFailed);
  Deliver(gate, t, kFailed);
  Deliver(gate, t, Throttled(t + kSecond));
  t += kSecond;
  EXPECT_EQ(gate.breaker().consecutive_failures(), 2u);
  Deliver(gate, t, kFailed);
  EXPECT_EQ(gate.breaker().state(t), State::kOpen);
}

TEST(EndpointGate, ALongerPauseIsKept) {
  EndpointGate gate;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gate.TryStart(kStart));
  gate.OnAnswer(kStart, Throttled(kStart + 10 * kSecond));
  // An answer asking for less does not cut the pause short.
  gate.OnAnswer(kStart + kSecond, Throttled(kStart + 2 * kSecond));
  EXPECT_EQ(gate.paused_until_ms(), kStart + 10 * kSecond);
  EXPECT_FALSE(gate.TryStart(kStart + 5 * kSecond));
  // One asking for more extends it.
  gate.OnAnswer(kStart + 2 * kSecond, Throttled(kStart + 20 * kSecond));
  EXPECT_EQ(gate.paused_until_ms(), kStart + 20 * kSecond);
  EXPECT_EQ(gate.NextStartMs(kStart + 2 * kSecond), kStart + 20 * kSecond);

  // Once a pause is over, the next one stands on its own, however short.
  ASSERT_TRUE(gate.TryStart(kStart + 20 * kSecond));
  gate.OnAnswer(kStart + 21 * kSecond, Throttled(kStart + 22 * kSecond));
  EXPECT_EQ(gate.paused_until_ms(), kStart + 22 * kSecond);
  EXPECT_EQ(gate.NextStartMs(kStart + 21 * kSecond), kStart + 22 * kSecond);
}

TEST(EndpointGate, ThrottledIntoThePastPausesNothing) {
  EndpointGate gate;
  Deliver(gate, kStart, Throttled(kStart - kSecond));
  EXPECT_FALSE(gate.paused(kStart));
  EXPECT_TRUE(gate.TryStart(kStart));
}

TEST(EndpointGate, GoneDisablesTheEndpoint) {
  EndpointGate gate;
  ASSERT_TRUE(gate.TryStart(kStart));
  ASSERT_TRUE(gate.TryStart(kStart));
  gate.OnAnswer(kStart, kGone);
  EXPECT_TRUE(gate.disabled());
  EXPECT_EQ(gate.in_flight(), 1u);
  for (int64_t t : {kStart, kStart + kHour, kStart + 1000 * kHour}) {
    EXPECT_FALSE(gate.TryStart(t));
    EXPECT_EQ(gate.NextStartMs(t), std::nullopt);
  }
  ExpectNextStartIsExact(gate, kStart, "gone");
  // Not a failure: the breaker is untouched.
  EXPECT_EQ(gate.breaker().state(kStart), State::kClosed);
  EXPECT_EQ(gate.breaker().consecutive_failures(), 0u);
  // The last delivery still ends normally.
  gate.OnAnswer(kStart, kDelivered);
  EXPECT_EQ(gate.in_flight(), 0u);
  EXPECT_FALSE(gate.TryStart(kStart));

  gate.Enable();
  EXPECT_FALSE(gate.disabled());
  EXPECT_EQ(gate.NextStartMs(kStart), kStart);
  EXPECT_TRUE(gate.TryStart(kStart));
}

TEST(EndpointGate, DisableAndEnable) {
  EndpointGate gate;
  gate.Disable();
  EXPECT_TRUE(gate.disabled());
  EXPECT_FALSE(gate.TryStart(kStart));
  EXPECT_EQ(gate.NextStartMs(kStart), std::nullopt);
  gate.Enable();
  EXPECT_TRUE(gate.TryStart(kStart));
  gate.Enable();  // twice is fine
  EXPECT_FALSE(gate.disabled());
}

TEST(EndpointGate, EnableDoesNotLiftAPauseOrAnOpenBreaker) {
  EndpointGate gate;
  Deliver(gate, kStart, Throttled(kStart + kMinute));
  gate.Disable();
  gate.Enable();
  EXPECT_FALSE(gate.TryStart(kStart));
  EXPECT_EQ(gate.NextStartMs(kStart), kStart + kMinute);

  EndpointGate broken;
  for (int i = 0; i < 5; ++i)
    Deliver(broken, kStart, kFailed);
  broken.Disable();
  broken.Enable();
  EXPECT_FALSE(broken.TryStart(kStart));
  EXPECT_EQ(broken.NextStartMs(kStart), kStart + 30 * kSecond);
}

TEST(EndpointGate, FailuresOpenTheBreakerAndProbesCloseIt) {
  EndpointGate gate;  // breaker: 5 failures in a row, 30 s, 2 probes to close
  int64_t t = kStart;
  for (int i = 0; i < 5; ++i)
    Deliver(gate, t, kFailed);
  EXPECT_EQ(gate.breaker().state(t), State::kOpen);
  EXPECT_EQ(gate.breaker().trouble_since_ms(), kStart);
  EXPECT_FALSE(gate.TryStart(t));
  EXPECT_EQ(gate.NextStartMs(t), t + 30 * kSecond);
  ExpectNextStartIsExact(gate, t, "breaker open");

  // Half-open: one probe, even though the cap would allow 8.
  t += 30 * kSecond;
  EXPECT_TRUE(gate.TryStart(t));
  EXPECT_FALSE(gate.TryStart(t));
  EXPECT_EQ(gate.NextStartMs(t), std::nullopt);
  ExpectNextStartIsExact(gate, t, "probe in flight");
  gate.OnAnswer(t + kSecond, kDelivered);
  EXPECT_EQ(gate.NextStartMs(t + kSecond), t + kSecond);
  Deliver(gate, t + kSecond, kDelivered);
  EXPECT_EQ(gate.breaker().state(t + kSecond), State::kClosed);
  EXPECT_EQ(gate.breaker().trouble_since_ms(), std::nullopt);
  // Closed: the full cap again.
  for (int i = 0; i < 8; ++i)
    EXPECT_TRUE(gate.TryStart(t + kSecond)) << i;
  EXPECT_FALSE(gate.TryStart(t + kSecond));
}

TEST(EndpointGate, AFailedProbeReopensForLonger) {
  EndpointGate gate;
  for (int i = 0; i < 5; ++i)
    Deliver(gate, kStart, kFailed);
  Deliver(gate, kStart + 30 * kSecond, kFailed);
  EXPECT_EQ(gate.NextStartMs(kStart + 30 * kSecond), kStart + 90 * kSecond);
  EXPECT_EQ(gate.breaker().trouble_since_ms(), kStart);
}

TEST(EndpointGate, AThrottledOrAbandonedProbeFreesTheProbe) {
  EndpointGate gate;
  for (int i = 0; i < 5; ++i)
    Deliver(gate, kStart, kFailed);
  int64_t t = kStart + 30 * kSecond;
  ASSERT_TRUE(gate.TryStart(t));
  gate.OnAnswer(t, Throttled(t + 10 * kSecond));
  EXPECT_EQ(gate.breaker().state(t), State::kHalfOpen);
  // The pause, not the probe, now holds it back.
  EXPECT_EQ(gate.NextStartMs(t), t + 10 * kSecond);
  ExpectNextStartIsExact(gate, t, "half-open and paused");
  t += 10 * kSecond;
  ASSERT_TRUE(gate.TryStart(t));
  EXPECT_EQ(gate.NextStartMs(t), std::nullopt);
  gate.OnAbandoned();
  EXPECT_EQ(gate.in_flight(), 0u);
  EXPECT_EQ(gate.NextStartMs(t), t);
  // Neither counted as a success: two are still needed.
  Deliver(gate, t, kDelivered);
  EXPECT_EQ(gate.breaker().state(t), State::kHalfOpen);
  Deliver(gate, t, kDelivered);
  EXPECT_EQ(gate.breaker().state(t), State::kClosed);
}

TEST(EndpointGate, AnswersOfDeliveriesStartedBeforeTheBreakerOpened) {
  EndpointGate gate;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gate.TryStart(kStart));  // slow ones
  for (int i = 0; i < 5; ++i)
    Deliver(gate, kStart + kSecond, kFailed);
  ASSERT_EQ(gate.breaker().state(kStart + kSecond), State::kOpen);
  // While they are out, no time alone lets a probe go.
  EXPECT_EQ(gate.NextStartMs(kStart + kSecond), std::nullopt);
  ExpectNextStartIsExact(gate, kStart + kSecond, "open with old deliveries out");
  gate.OnAnswer(kStart + 2 * kSecond, kDelivered);  // ignored by the breaker
  gate.OnAnswer(kStart + 2 * kSecond, kFailed);     // likewise
  EXPECT_EQ(gate.NextStartMs(kStart + 2 * kSecond), std::nullopt);
  gate.OnAbandoned();
  EXPECT_EQ(gate.NextStartMs(kStart + 2 * kSecond), kStart + 31 * kSecond);
  EXPECT_EQ(gate.breaker().state(kStart + 2 * kSecond), State::kOpen);
  EXPECT_EQ(gate.breaker().open_period_ms(), 30 * kSecond);
}

TEST(EndpointGate, RefusalsConsumeNoToken) {
  EndpointGate::Options options;
  options.max_in_flight = 1;
  options.rate_per_second = 1;
  options.burst = 2;
  EndpointGate gate(options);
  ASSERT_TRUE(gate.TryStart(kStart));
  ASSERT_DOUBLE_EQ(gate.bucket().Available(kStart), 1.0);

  // Refused by the cap, many times: the last token stays.
  for (int i = 0; i < 10; ++i)
    ASSERT_FALSE(gate.TryStart(kStart));
  EXPECT_DOUBLE_EQ(gate.bucket().Available(kStart), 1.0);
  gate.OnAnswer(kStart, kDelivered);

  // Refused while disabled.
  gate.Disable();
  for (int i = 0; i < 10; ++i)
    ASSERT_FALSE(gate.TryStart(kStart));
  EXPECT_DOUBLE_EQ(gate.bucket().Available(kStart), 1.0);
  gate.Enable();

  // Refused while paused.
  ASSERT_TRUE(gate.TryStart(kStart));
  gate.OnAnswer(kStart, Throttled(kStart + 5 * kSecond));
  ASSERT_NEAR(gate.bucket().Available(kStart), 0.0, 1e-9);
  for (int64_t t = kStart; t < kStart + 5 * kSecond; t += 100)
    ASSERT_FALSE(gate.TryStart(t));
  EXPECT_DOUBLE_EQ(gate.bucket().Available(kStart + 5 * kSecond), 2.0);  // refilled, untouched
  EXPECT_TRUE(gate.TryStart(kStart + 5 * kSecond));
}

TEST(EndpointGate, RefusalsByTheOpenBreakerConsumeNoToken) {
  EndpointGate::Options options = Unlimited();
  options.rate_per_second = 1;
  options.burst = 10;
  options.breaker.consecutive_failures = 2;
  EndpointGate gate(options);
  Deliver(gate, kStart, kFailed);
  Deliver(gate, kStart, kFailed);
  ASSERT_EQ(gate.breaker().state(kStart), State::kOpen);
  ASSERT_DOUBLE_EQ(gate.bucket().Available(kStart), 8.0);
  for (int i = 0; i < 100; ++i)
    ASSERT_FALSE(gate.TryStart(kStart + i));
  EXPECT_DOUBLE_EQ(gate.bucket().Available(kStart), 8.0);
}

TEST(EndpointGate, ARefusalForWantOfATokenConsumesNoProbe) {
  EndpointGate::Options options;
  options.rate_per_second = 0.5;  // a token every 2 s, burst 1
  options.breaker.consecutive_failures = 1;
  options.breaker.open_ms = kSecond;
  EndpointGate gate(options);
  Deliver(gate, kStart, kFailed);  // the token is spent, the breaker opens for 1 s
  ASSERT_EQ(gate.breaker().state(kStart + kSecond), State::kHalfOpen);
  // The breaker would let a probe go at +1 s, but there is no token until +2 s.
  EXPECT_FALSE(gate.TryStart(kStart + kSecond));
  EXPECT_EQ(gate.breaker().in_flight(), 0u);
  EXPECT_EQ(gate.breaker().NextStartMs(kStart + kSecond), kStart + kSecond);  // probe unspent
  EXPECT_EQ(gate.NextStartMs(kStart + kSecond), kStart + 2 * kSecond);
  ExpectNextStartIsExact(gate, kStart + kSecond, "half-open, no token");
  EXPECT_TRUE(gate.TryStart(kStart + 2 * kSecond));
  EXPECT_EQ(gate.breaker().in_flight(), 1u);
}

TEST(EndpointGate, NextStartIsTheLatestOfWhatHoldsItBack) {
  EndpointGate::Options options = Unlimited();
  options.rate_per_second = 0.1;  // a token every 10 s
  options.burst = 1;
  options.breaker.consecutive_failures = 1;
  options.breaker.open_ms = 30 * kSecond;

  {  // pause beyond the token
    EndpointGate gate(options);
    Deliver(gate, kStart, Throttled(kStart + 25 * kSecond));
    EXPECT_EQ(gate.NextStartMs(kStart), kStart + 25 * kSecond);
    ExpectNextStartIsExact(gate, kStart, "pause > token");
  }
  {  // token beyond the pause
    EndpointGate gate(options);
    Deliver(gate, kStart, Throttled(kStart + 3 * kSecond));
    EXPECT_EQ(gate.NextStartMs(kStart), kStart + 10 * kSecond);
    ExpectNextStartIsExact(gate, kStart, "token > pause");
  }
  {  // open breaker beyond the token
    EndpointGate gate(options);
    Deliver(gate, kStart, kFailed);
    EXPECT_EQ(gate.NextStartMs(kStart), kStart + 30 * kSecond);
    ExpectNextStartIsExact(gate, kStart, "breaker > token");
  }
  {  // pause beyond the open breaker
    EndpointGate gate(options);
    gate.OnAnswer(kStart, kFailed);  // opens it (an unmatched answer still counts when closed)
    ASSERT_TRUE(gate.breaker().state(kStart) == State::kOpen);
    gate.OnAnswer(kStart, Throttled(kStart + 45 * kSecond));
    EXPECT_EQ(gate.NextStartMs(kStart), kStart + 45 * kSecond);
    ExpectNextStartIsExact(gate, kStart, "pause > breaker");
  }
  {  // nothing: now
    EndpointGate gate(options);
    EXPECT_EQ(gate.NextStartMs(kStart), kStart);
    ExpectNextStartIsExact(gate, kStart, "free");
  }
  {  // disabled beats every time
    EndpointGate gate(options);
    Deliver(gate, kStart, Throttled(kStart + 3 * kSecond));
    gate.Disable();
    EXPECT_EQ(gate.NextStartMs(kStart), std::nullopt);
  }
}

TEST(EndpointGate, NextStartMsIsExactInRandomTraffic) {
  // A random mix of starts, answers of every kind, abandonments and time steps; after each step
  // NextStartMs() must match what TryStart() does.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EndpointGate::Options options;
    options.max_in_flight = 1 + Mix(seed) % 4;
    options.rate_per_second = (Mix(seed + 100) % 3 == 0) ? 0 : 0.5 + (Mix(seed + 200) % 40) / 4.0;
    options.breaker.consecutive_failures = 1 + static_cast<uint32_t>(Mix(seed + 300) % 4);
    options.breaker.min_calls = 4;
    options.breaker.open_ms = 2 * kSecond;
    options.breaker.max_open_ms = 20 * kSecond;
    EndpointGate gate(options);
    int64_t t = kStart;
    size_t started = 0;
    for (uint64_t i = 0; i < 3'000; ++i) {
      uint64_t r = Mix(seed * 1'000'003 + i);
      switch (r % 8) {
        case 0:
        case 1:
        case 2:
          if (gate.TryStart(t)) ++started;
          break;
        case 3:
          if (gate.in_flight() > 0) gate.OnAnswer(t, (r >> 8) % 3 ? kFailed : kDelivered);
          break;
        case 4:
          if (gate.in_flight() > 0) gate.OnAnswer(t, kDelivered);
          break;
        case 5:
          if (gate.in_flight() > 0) {
            if ((r >> 8) % 10 == 0) {
              gate.OnAnswer(t, Throttled(t + static_cast<int64_t>((r >> 16) % 5'000)));
            } else if ((r >> 8) % 10 == 1) {
              gate.OnAbandoned();
            } else if ((r >> 8) % 50 == 2) {
              gate.OnAnswer(t, kGone);
            } else {
              gate.OnAnswer(t, kDelivered);
            }
          }
          break;
        case 6:
          if (gate.disabled() && (r >> 8) % 4 == 0) gate.Enable();
          break;
        case 7:
          t += static_cast<int64_t>((r >> 8) % 3'000);
          break;
      }
      ExpectNextStartIsExact(gate, t,
                             "seed " + std::to_string(seed) + " step " + std::to_string(i));
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(started, 50u) << "seed " << seed;
  }
}

TEST(EndpointGate, VirtualDayAgainstAFlakyEndpoint) {
  // A dispatcher loop in virtual time against an endpoint that is down for an hour, then
  // throttles for an hour, then answers 410: the gate keeps every promise along the way.
  EndpointGate::Options options;
  options.max_in_flight = 4;
  options.rate_per_second = 5;
  EndpointGate gate(options);
  const int64_t down_until = kStart + kHour;
  const int64_t throttled_until = kStart + 2 * kHour;
  std::deque<int64_t> in_flight;  // answer times
  int64_t t = kStart;
  int starts_while_down = 0, starts_while_throttled = 0, starts_after_gone = 0;
  bool gone_answered = false;
  int64_t last_start = std::numeric_limits<int64_t>::min();
  while (t < kStart + 3 * kHour) {
    while (!in_flight.empty() && in_flight.front() <= t) {
      in_flight.pop_front();
      if (t < down_until) {
        gate.OnAnswer(t, kFailed);
      } else if (t < throttled_until) {
        gate.OnAnswer(t, Throttled(t + 20 * kSecond));
      } else {
        gate.OnAnswer(t, kGone);
        gone_answered = true;
      }
    }
    while (gate.TryStart(t)) {
      ASSERT_LE(gate.in_flight(), 4u);
      in_flight.push_back(t + 200);
      if (gone_answered) ++starts_after_gone;
      if (t < down_until)
        ++starts_while_down;
      else if (t < throttled_until)
        ++starts_while_throttled;
      last_start = t;
    }
    // Sleep until the gate's next time or the next answer, whichever is first.
    std::optional<int64_t> next = gate.NextStartMs(t);
    int64_t wake = next.value_or(std::numeric_limits<int64_t>::max());
    if (!in_flight.empty()) wake = std::min(wake, in_flight.front());
    if (wake == std::numeric_limits<int64_t>::max()) break;  // disabled and idle
    ASSERT_GT(wake, t);
    t = wake;
  }
  // Down: the breaker kept it to a trickle (5 + ~8 probes), not 5/s for an hour.
  EXPECT_LT(starts_while_down, 40);
  // Throttled: about one delivery per 20 s pause (plus the probes that closed the breaker).
  EXPECT_LE(starts_while_throttled, 3600 / 20 + 10);
  EXPECT_GE(starts_while_throttled, 3600 / 20 / 2);
  EXPECT_EQ(starts_after_gone, 0);
  EXPECT_TRUE(gate.disabled());
  EXPECT_EQ(gate.in_flight(), 0u);
  EXPECT_LT(last_start, throttled_until + kMinute);
}

TEST(EndpointGate, ClockSteppingBackEndsAPause) {
  EndpointGate gate;
  Deliver(gate, kStart, Throttled(kStart + kHour));
  ASSERT_FALSE(gate.TryStart(kStart + kMinute));
  // Back before the answer that asked for the pause: not paused (the endpoint will say again).
  EXPECT_FALSE(gate.paused(kStart - kMinute));
  EXPECT_EQ(gate.NextStartMs(kStart - kMinute), kStart - kMinute);
  EXPECT_TRUE(gate.TryStart(kStart - kMinute));
  gate.OnAnswer(kStart - kMinute, Throttled(kStart - kMinute + 10 * kSecond));
  EXPECT_EQ(gate.NextStartMs(kStart - kMinute), kStart - kMinute + 10 * kSecond);
}

TEST(EndpointGate, ClockSteppingBackDoesNotStallTheRate) {
  EndpointGate::Options options = Unlimited();
  options.rate_per_second = 1;
  options.burst = 1;
  EndpointGate gate(options);
  Deliver(gate, kStart, kDelivered);
  const int64_t back = kStart - kHour;
  EXPECT_EQ(gate.NextStartMs(back), back + kSecond);
  EXPECT_FALSE(gate.TryStart(back));
  EXPECT_TRUE(gate.TryStart(back + kSecond));
}

}  // namespace
}  // namespace gatilho
