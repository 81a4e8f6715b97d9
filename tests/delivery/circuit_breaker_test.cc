#include "delivery/circuit_breaker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <ostream>
#include <vector>

namespace gatilho {

void PrintTo(CircuitBreaker::State state, std::ostream* os) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      *os << "closed";
      return;
    case CircuitBreaker::State::kOpen:
      *os << "open";
      return;
    case CircuitBreaker::State::kHalfOpen:
      *os << "half-open";
      return;
  }
}

namespace {

using State = CircuitBreaker::State;
using Options = CircuitBreaker::Options;

constexpr int64_t kStart = 1'700'000'000'000;  // a whole second
constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

uint64_t Mix(uint64_t x) {  // splitmix64: a deterministic spread of values
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Only the ratio rule, so tests of it are not cut short by the consecutive rule.
Options RatioOnly() {
  Options options;
  options.consecutive_failures = 0;
  return options;
}

// Only the consecutive rule.
Options ConsecutiveOnly(uint32_t n) {
  Options options;
  options.consecutive_failures = n;
  options.min_calls = std::numeric_limits<uint32_t>::max();
  return options;
}

// One call that starts and ends at `t`; the breaker must let it start.
void Call(CircuitBreaker& breaker, int64_t t, bool success) {
  ASSERT_TRUE(breaker.TryStart(t)) << "at +" << (t - kStart) << " ms";
  breaker.OnResult(t, success);
}

// Opens a default breaker at `t` with five failures in a row.
void OpenIt(CircuitBreaker& breaker, int64_t t) {
  for (int i = 0; i < 5; ++i)
    Call(breaker, t, false);
  ASSERT_EQ(breaker.state(t), State::kOpen);
}

TEST(CircuitBreaker, StartsClosed) {
  CircuitBreaker breaker;
  EXPECT_EQ(breaker.state(kStart), State::kClosed);
  EXPECT_EQ(breaker.NextStartMs(kStart), kStart);
  EXPECT_EQ(breaker.trouble_since_ms(), std::nullopt);
  EXPECT_EQ(breaker.open_period_ms(), 30 * kSecond);
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(breaker.TryStart(kStart));  // no limit when closed
  EXPECT_EQ(breaker.in_flight(), 100u);
  EXPECT_EQ(breaker.state(kStart), State::kClosed);
}

TEST(CircuitBreaker, SuccessesKeepItClosed) {
  CircuitBreaker breaker;
  for (int64_t t = kStart; t < kStart + kHour; t += 100)
    Call(breaker, t, true);
  EXPECT_EQ(breaker.state(kStart + kHour), State::kClosed);
  EXPECT_EQ(breaker.in_flight(), 0u);
}

TEST(CircuitBreaker, OpensAtTheFailureRatio) {
  CircuitBreaker breaker(RatioOnly());  // min_calls 10, ratio 0.5
  int64_t t = kStart;
  // S F S F S F S F S: 9 results, 4 failures.
  for (int i = 0; i < 9; ++i)
    Call(breaker, t += kSecond, i % 2 == 0);
  ASSERT_EQ(breaker.window(t).failures, 4u);
  EXPECT_EQ(breaker.state(t), State::kClosed);
  // A tenth result, a failure: 10 results, 5 failures = 0.5, at the ratio.
  Call(breaker, t += kSecond, false);
  EXPECT_EQ(breaker.state(t), State::kOpen);
  EXPECT_EQ(breaker.trouble_since_ms(), t);
  EXPECT_EQ(breaker.NextStartMs(t), t + 30 * kSecond);
  EXPECT_FALSE(breaker.TryStart(t));
}

TEST(CircuitBreaker, BelowTheRatioStaysClosed) {
  CircuitBreaker breaker(RatioOnly());
  // 40% failures, forever: never opens.
  int64_t t = kStart;
  for (int i = 0; i < 5'000; ++i) {
    Call(breaker, t += 250, i % 5 < 3);  // S S S F F
    ASSERT_EQ(breaker.state(t), State::kClosed) << i;
  }
  CircuitBreaker::WindowCounts counts = breaker.window(t);
  // 4 a second over the 60 s window (the current second has only begun), 40% of them failed.
  EXPECT_EQ(counts.calls, 59u * 4 + 1);
  EXPECT_NEAR(static_cast<double>(counts.failures) / counts.calls, 0.4, 0.01);
}

TEST(CircuitBreaker, RatioIsJudgedAfterEveryResult) {
  // F S F S F S F S F: 9 results, 5 failures, too few to judge; the next result is a success,
  // but 5 of 10 have failed: the window is now large enough, and it opens.
  CircuitBreaker breaker(RatioOnly());
  int64_t t = kStart;
  for (int i = 0; i < 9; ++i)
    Call(breaker, t += kSecond, i % 2 == 1);
  ASSERT_EQ(breaker.window(t).failures, 5u);
  EXPECT_EQ(breaker.state(t), State::kClosed);
  Call(breaker, t += kSecond, true);
  EXPECT_EQ(breaker.state(t), State::kOpen);
}

TEST(CircuitBreaker, RatioComparisonIsExact) {
  // 3 failures in 30 results is exactly 10%: "at or above" opens it (3 >= 0.1 * 30 would not
  // hold in floating point).
  Options options = RatioOnly();
  options.min_calls = 30;
  options.failure_ratio = 0.1;
  CircuitBreaker breaker(options);
  int64_t t = kStart;
  for (int i = 0; i < 27; ++i)
    Call(breaker, t += 100, true);
  Call(breaker, t += 100, false);
  Call(breaker, t += 100, false);
  ASSERT_EQ(breaker.state(t), State::kClosed);
  Call(breaker, t += 100, false);
  EXPECT_EQ(breaker.state(t), State::kOpen);
}

TEST(CircuitBreaker, MinCalls) {
  CircuitBreaker breaker(RatioOnly());  // min_calls 10
  int64_t t = kStart;
  for (int i = 0; i < 9; ++i) {
    Call(breaker, t += kSecond, false);
    ASSERT_EQ(breaker.state(t), State::kClosed) << "only " << i + 1 << " results";
  }
  Call(breaker, t += kSecond, false);
  EXPECT_EQ(breaker.state(t), State::kOpen);

  Options one = RatioOnly();
  one.min_calls = 0;  // read as 1: a single failure is 100%
  CircuitBreaker eager(one);
  Call(eager, kStart, false);
  EXPECT_EQ(eager.state(kStart), State::kOpen);
}

TEST(CircuitBreaker, NoFailureNeverOpensEvenAtRatioZero) {
  Options options = RatioOnly();
  options.failure_ratio = 0;
  options.min_calls = 1;
  CircuitBreaker breaker(options);
  for (int i = 0; i < 100; ++i)
    Call(breaker, kStart + i, true);
  EXPECT_EQ(breaker.state(kStart + 100), State::kClosed);
  Call(breaker, kStart + 100, false);
  EXPECT_EQ(breaker.state(kStart + 100), State::kOpen);
}

TEST(CircuitBreaker, RatioAboveOneNeverOpensByRatio) {
  Options options = RatioOnly();
  options.failure_ratio = 1.5;
  CircuitBreaker breaker(options);
  for (int i = 0; i < 1000; ++i)
    Call(breaker, kStart + i, false);
  EXPECT_EQ(breaker.state(kStart + 1000), State::kClosed);
}

TEST(CircuitBreaker, ConsecutiveFailuresOpenIt) {
  CircuitBreaker breaker(ConsecutiveOnly(5));
  int64_t t = kStart;
  for (int i = 0; i < 4; ++i)
    Call(breaker, t += kSecond, false);
  EXPECT_EQ(breaker.consecutive_failures(), 4u);
  Call(breaker, t += kSecond, true);  // breaks the run
  EXPECT_EQ(breaker.consecutive_failures(), 0u);
  for (int i = 0; i < 4; ++i)
    Call(breaker, t += kSecond, false);
  EXPECT_EQ(breaker.state(t), State::kClosed);
  Call(breaker, t += kSecond, false);
  EXPECT_EQ(breaker.state(t), State::kOpen);
  EXPECT_EQ(breaker.trouble_since_ms(), t);
}

TEST(CircuitBreaker, ConsecutiveRuleIgnoresTheWindow) {
  // Failures ten minutes apart: the window never holds more than one, but they are in a row.
  CircuitBreaker breaker(ConsecutiveOnly(5));
  int64_t t = kStart;
  for (int i = 0; i < 4; ++i) {
    Call(breaker, t += 10 * kMinute, false);
    ASSERT_EQ(breaker.window(t).calls, 1u);
  }
  EXPECT_EQ(breaker.state(t), State::kClosed);
  Call(breaker, t += 10 * kMinute, false);
  EXPECT_EQ(breaker.state(t), State::kOpen);
}

TEST(CircuitBreaker, DefaultsUseBothRules) {
  CircuitBreaker consecutive;
  for (int i = 0; i < 5; ++i)
    Call(consecutive, kStart + i, false);
  EXPECT_EQ(consecutive.state(kStart + 5), State::kOpen);

  CircuitBreaker ratio;
  int64_t t = kStart;
  for (int i = 0; i < 9; ++i)
    Call(ratio, t += 100, i % 4 == 0);  // S F F F S F F F S
  EXPECT_EQ(ratio.state(t), State::kClosed);
  Call(ratio, t += 100, false);  // 7 of 10, never 5 in a row
  EXPECT_EQ(ratio.state(t), State::kOpen);
}

TEST(CircuitBreaker, ConsecutiveRuleZeroIsOff) {
  Options options = ConsecutiveOnly(0);
  CircuitBreaker breaker(options);
  for (int i = 0; i < 10'000; ++i)
    Call(breaker, kStart + i, false);
  EXPECT_EQ(breaker.state(kStart + 10'000), State::kClosed);
}

TEST(CircuitBreaker, OpenRefusesUntilThePeriodEnds) {
  CircuitBreaker breaker;
  OpenIt(breaker, kStart);
  for (int64_t t : {kStart, kStart + 1, kStart + 29'999}) {
    EXPECT_EQ(breaker.state(t), State::kOpen);
    EXPECT_FALSE(breaker.TryStart(t));
    EXPECT_EQ(breaker.NextStartMs(t), kStart + 30 * kSecond);
  }
  EXPECT_EQ(breaker.in_flight(), 0u);  // refusals are not counted
  EXPECT_EQ(breaker.state(kStart + 30 * kSecond), State::kHalfOpen);
  EXPECT_EQ(breaker.NextStartMs(kStart + 30 * kSecond), kStart + 30 * kSecond);
}

TEST(CircuitBreaker, HalfOpenLetsOneProbeAtATime) {
  CircuitBreaker breaker;
  OpenIt(breaker, kStart);
  const int64_t t = kStart + 30 * kSecond;
  EXPECT_TRUE(breaker.TryStart(t));
  EXPECT_EQ(breaker.in_flight(), 1u);
  EXPECT_EQ(breaker.state(t), State::kHalfOpen);
  EXPECT_EQ(breaker.NextStartMs(t), std::nullopt);
  for (int64_t later : {t, t + kSecond, t + kHour}) {
    EXPECT_FALSE(breaker.TryStart(later));
    EXPECT_EQ(breaker.NextStartMs(later), std::nullopt);
  }
  EXPECT_EQ(breaker.in_flight(), 1u);

  // The probe succeeds: one of two; another probe may go now, still one at a time.
  breaker.OnResult(t + kSecond, true);
  EXPECT_EQ(breaker.state(t + kSecond), State::kHalfOpen);
  EXPECT_EQ(breaker.NextStartMs(t + kSecond), t + kSecond);
  EXPECT_TRUE(breaker.TryStart(t + kSecond));
  EXPECT_FALSE(breaker.TryStart(t + kSecond));
  breaker.OnResult(t + 2 * kSecond, true);
  EXPECT_EQ(breaker.state(t + 2 * kSecond), State::kClosed);
}

TEST(CircuitBreaker, SuccessfulProbesCloseIt) {
  Options options;
  options.successes_to_close = 3;
  CircuitBreaker breaker(options);
  OpenIt(breaker, kStart);
  int64_t t = kStart + 30 * kSecond;
  for (int i = 0; i < 2; ++i) {
    Call(breaker, t += kSecond, true);
    ASSERT_EQ(breaker.state(t), State::kHalfOpen) << i;
    ASSERT_EQ(breaker.trouble_since_ms(), kStart);
  }
  Call(breaker, t += kSecond, true);
  EXPECT_EQ(breaker.state(t), State::kClosed);
  EXPECT_EQ(breaker.trouble_since_ms(), std::nullopt);
  EXPECT_EQ(breaker.NextStartMs(t), t);
  EXPECT_EQ(breaker.open_period_ms(), 30 * kSecond);
  // Closed again: as many calls as wanted.
  EXPECT_TRUE(breaker.TryStart(t));
  EXPECT_TRUE(breaker.TryStart(t));
}

TEST(CircuitBreaker, SuccessesToCloseZeroIsOne) {
  Options options;
  options.successes_to_close = 0;
  CircuitBreaker breaker(options);
  OpenIt(breaker, kStart);
  Call(breaker, kStart + 30 * kSecond, true);
  EXPECT_EQ(breaker.state(kStart + 30 * kSecond), State::kClosed);
}

TEST(CircuitBreaker, ClosingStartsAFreshWindow) {
  // The failures that opened it do not count against it once closed.
  CircuitBreaker breaker(RatioOnly());
  int64_t t = kStart;
  for (int i = 0; i < 10; ++i)
    Call(breaker, t += 100, false);
  ASSERT_EQ(breaker.state(t), State::kOpen);
  t += 30 * kSecond;
  Call(breaker, t, true);
  Call(breaker, t, true);
  ASSERT_EQ(breaker.state(t), State::kClosed);
  EXPECT_EQ(breaker.window(t).calls, 0u);
  for (int i = 0; i < 9; ++i)
    Call(breaker, t += 100, false);
  EXPECT_EQ(breaker.state(t), State::kClosed);  // 9 results: too few again
}

TEST(CircuitBreaker, FailedProbeReopensWithADoubledPeriodUpToTheCap) {
  CircuitBreaker breaker;  // 30 s, doubling, at most 600 s
  OpenIt(breaker, kStart);
  int64_t t = kStart;
  std::vector<int64_t> periods;
  for (int i = 0; i < 8; ++i) {
    std::optional<int64_t> reopen = breaker.NextStartMs(t);
    ASSERT_TRUE(reopen.has_value());
    periods.push_back(*reopen - t);
    EXPECT_EQ(breaker.open_period_ms(), *reopen - t);
    t = *reopen;
    Call(breaker, t, false);  // the probe fails
    ASSERT_EQ(breaker.state(t), State::kOpen);
  }
  std::vector<int64_t> expected = {30, 60, 120, 240, 480, 600, 600, 600};
  for (int64_t& p : expected)
    p *= kSecond;
  EXPECT_EQ(periods, expected);
  EXPECT_EQ(breaker.trouble_since_ms(), kStart);
}

TEST(CircuitBreaker, ProbeResultsArriveLate) {
  // The open period is counted from the failed probe's answer, not from its start.
  CircuitBreaker breaker;
  OpenIt(breaker, kStart);
  const int64_t probe_at = kStart + 30 * kSecond;
  ASSERT_TRUE(breaker.TryStart(probe_at));
  breaker.OnResult(probe_at + 12 * kSecond, false);
  EXPECT_EQ(breaker.NextStartMs(probe_at + 12 * kSecond), probe_at + 12 * kSecond + kMinute);
}

TEST(CircuitBreaker, DoublingCapEdgeCases) {
  Options options;
  options.open_ms = 100 * kSecond;
  options.max_open_ms = 50 * kSecond;  // smaller than the first period: read as open_ms
  CircuitBreaker breaker(options);
  OpenIt(breaker, kStart);
  EXPECT_EQ(breaker.NextStartMs(kStart), kStart + 100 * kSecond);
  Call(breaker, kStart + 100 * kSecond, false);
  EXPECT_EQ(breaker.open_period_ms(), 100 * kSecond);

  Options huge;
  huge.open_ms = std::numeric_limits<int64_t>::max() / 4 * 3;  // doubling would overflow
  huge.max_open_ms = std::numeric_limits<int64_t>::max();
  CircuitBreaker big(huge);
  OpenIt(big, 0);
  Call(big, huge.open_ms, false);
  EXPECT_EQ(big.open_period_ms(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(big.NextStartMs(huge.open_ms), std::numeric_limits<int64_t>::max());  // saturated
}

TEST(CircuitBreaker, ZeroOpenPeriodGoesStraightToHalfOpen) {
  Options options;
  options.open_ms = 0;
  options.max_open_ms = 0;
  CircuitBreaker breaker(options);
  for (int i = 0; i < 5; ++i)
    Call(breaker, kStart, false);
  EXPECT_EQ(breaker.state(kStart), State::kHalfOpen);
  EXPECT_EQ(breaker.trouble_since_ms(), kStart);
  EXPECT_EQ(breaker.NextStartMs(kStart), kStart);
  Call(breaker, kStart, false);  // a failed probe: half-open again at once
  EXPECT_EQ(breaker.state(kStart), State::kHalfOpen);
  Call(breaker, kStart + 1, true);
  Call(breaker, kStart + 2, true);
  EXPECT_EQ(breaker.state(kStart + 2), State::kClosed);
}

TEST(CircuitBreaker, AFailureAfterSomeProbeSuccessesStartsTheCountAgain) {
  Options options;
  options.successes_to_close = 2;
  CircuitBreaker breaker(options);
  OpenIt(breaker, kStart);
  int64_t t = kStart + 30 * kSecond;
  Call(breaker, t, true);  // 1 of 2
  Call(breaker, t, false);
  ASSERT_EQ(breaker.state(t), State::kOpen);
  t += kMinute;
  Call(breaker, t, true);  // 1 of 2, not 2 of 2
  EXPECT_EQ(breaker.state(t), State::kHalfOpen);
  Call(breaker, t, true);
  EXPECT_EQ(breaker.state(t), State::kClosed);
}

TEST(CircuitBreaker, TroubleSinceSpansTheWholeEpisode) {
  CircuitBreaker breaker;
  EXPECT_EQ(breaker.trouble_since_ms(), std::nullopt);
  OpenIt(breaker, kStart);
  EXPECT_EQ(breaker.trouble_since_ms(), kStart);

  // open -> half-open -> open, twice: still the first opening.
  Call(breaker, kStart + 30 * kSecond, false);
  EXPECT_EQ(breaker.trouble_since_ms(), kStart);
  Call(breaker, kStart + 90 * kSecond, true);
  Call(breaker, kStart + 90 * kSecond, false);
  EXPECT_EQ(breaker.trouble_since_ms(), kStart);
  EXPECT_EQ(breaker.state(kStart + 90 * kSecond), State::kOpen);

  // Closed: gone. The next episode has its own start.
  int64_t t = kStart + 90 * kSecond + 2 * kMinute;
  Call(breaker, t, true);
  Call(breaker, t, true);
  ASSERT_EQ(breaker.state(t), State::kClosed);
  EXPECT_EQ(breaker.trouble_since_ms(), std::nullopt);
  OpenIt(breaker, t + kHour);
  EXPECT_EQ(breaker.trouble_since_ms(), t + kHour);
  EXPECT_EQ(breaker.open_period_ms(), 30 * kSecond);  // the doubling started over too
}

TEST(CircuitBreaker, ResultsOfCallsStartedBeforeItOpenedAreIgnored) {
  CircuitBreaker breaker;
  // Three slow calls start, then five quick ones fail and open it.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(breaker.TryStart(kStart));
  OpenIt(breaker, kStart + kSecond);
  EXPECT_EQ(breaker.in_flight(), 3u);

  // Their results arrive while open: no effect, whatever they are.
  breaker.OnResult(kStart + 2 * kSecond, true);
  breaker.OnResult(kStart + 3 * kSecond, true);
  breaker.OnResult(kStart + 4 * kSecond, false);
  EXPECT_EQ(breaker.state(kStart + 4 * kSecond), State::kOpen);
  EXPECT_EQ(breaker.NextStartMs(kStart + 4 * kSecond), kStart + 31 * kSecond);
  EXPECT_EQ(breaker.open_period_ms(), 30 * kSecond);
  EXPECT_EQ(breaker.in_flight(), 0u);

  // And the probe goes out on time.
  EXPECT_TRUE(breaker.TryStart(kStart + 31 * kSecond));
}

TEST(CircuitBreaker, TheProbeWaitsForCallsStartedBeforeItOpened) {
  // A result seen in half-open must be the probe's: while an older call is still out, no probe.
  CircuitBreaker breaker;
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(breaker.TryStart(kStart));
  OpenIt(breaker, kStart);
  // Open, with calls out: no time alone unblocks it.
  EXPECT_EQ(breaker.NextStartMs(kStart + kSecond), std::nullopt);
  const int64_t t = kStart + 40 * kSecond;
  EXPECT_EQ(breaker.state(t), State::kHalfOpen);
  EXPECT_FALSE(breaker.TryStart(t));
  EXPECT_EQ(breaker.NextStartMs(t), std::nullopt);

  breaker.OnResult(t + kSecond, true);  // an old call: ignored
  EXPECT_EQ(breaker.state(t + kSecond), State::kHalfOpen);
  EXPECT_EQ(breaker.NextStartMs(t + kSecond), std::nullopt);
  breaker.OnNeutral();  // the other old call ends without a verdict
  EXPECT_EQ(breaker.NextStartMs(t + kSecond), t + kSecond);

  ASSERT_TRUE(breaker.TryStart(t + kSecond));  // the probe
  breaker.OnResult(t + 2 * kSecond, false);
  EXPECT_EQ(breaker.state(t + 2 * kSecond), State::kOpen);
  EXPECT_EQ(breaker.NextStartMs(t + 2 * kSecond), t + 2 * kSecond + kMinute);
}

TEST(CircuitBreaker, OldCallsEndingBeforeTheOpenPeriodLeaveTheReopenTime) {
  CircuitBreaker breaker;
  ASSERT_TRUE(breaker.TryStart(kStart));
  OpenIt(breaker, kStart);
  EXPECT_EQ(breaker.NextStartMs(kStart + kSecond), std::nullopt);
  breaker.OnResult(kStart + 5 * kSecond, false);
  EXPECT_EQ(breaker.NextStartMs(kStart + 5 * kSecond), kStart + 30 * kSecond);
}

TEST(CircuitBreaker, ANeutralEndFreesTheProbe) {
  CircuitBreaker breaker;
  OpenIt(breaker, kStart);
  const int64_t t = kStart + 30 * kSecond;
  ASSERT_TRUE(breaker.TryStart(t));
  breaker.OnNeutral();  // e.g. the endpoint answered 429
  EXPECT_EQ(breaker.state(t), State::kHalfOpen);
  EXPECT_EQ(breaker.in_flight(), 0u);
  EXPECT_EQ(breaker.NextStartMs(t), t);
  // It counted for nothing: two successes are still needed.
  Call(breaker, t, true);
  EXPECT_EQ(breaker.state(t), State::kHalfOpen);
  Call(breaker, t, true);
  EXPECT_EQ(breaker.state(t), State::kClosed);
}

TEST(CircuitBreaker, NeutralEndsWhileClosedJudgeNothing) {
  CircuitBreaker breaker(ConsecutiveOnly(3));
  Call(breaker, kStart, false);
  Call(breaker, kStart, false);
  ASSERT_TRUE(breaker.TryStart(kStart));
  breaker.OnNeutral();  // neither breaks the run nor extends it
  EXPECT_EQ(breaker.consecutive_failures(), 2u);
  EXPECT_EQ(breaker.window(kStart).calls, 2u);
  Call(breaker, kStart, false);
  EXPECT_EQ(breaker.state(kStart), State::kOpen);
}

TEST(CircuitBreaker, UnmatchedResultsDoNotUnderflow) {
  // A result without a start (a caller's bug) is judged while closed, and never makes the
  // in-flight count wrap around.
  CircuitBreaker breaker;
  breaker.OnResult(kStart, true);
  breaker.OnNeutral();
  EXPECT_EQ(breaker.in_flight(), 0u);
  EXPECT_EQ(breaker.window(kStart).calls, 1u);
  EXPECT_TRUE(breaker.TryStart(kStart));
}

TEST(CircuitBreaker, WindowForgetsOldFailures) {
  CircuitBreaker breaker(RatioOnly());
  for (int i = 0; i < 9; ++i)
    Call(breaker, kStart, false);
  EXPECT_EQ(breaker.window(kStart + 59'999).calls, 9u);
  EXPECT_EQ(breaker.window(kStart + 60'000).calls, 0u);  // per-second buckets, 60 of them

  // A tenth failure 30 s later is judged with the nine: open.
  CircuitBreaker recent = breaker;
  Call(recent, kStart + 30 * kSecond, false);
  EXPECT_EQ(recent.state(kStart + 30 * kSecond), State::kOpen);

  // A tenth failure a minute later is alone in the window: closed.
  Call(breaker, kStart + kMinute, false);
  EXPECT_EQ(breaker.state(kStart + kMinute), State::kClosed);
  EXPECT_EQ(breaker.window(kStart + kMinute).calls, 1u);
}

TEST(CircuitBreaker, WindowSlidesSecondBySecond) {
  CircuitBreaker breaker(RatioOnly());
  // One success per second for two minutes; the window always holds the last 60.
  for (int64_t s = 0; s < 120; ++s) {
    Call(breaker, kStart + s * kSecond + 500, true);
    ASSERT_EQ(breaker.window(kStart + s * kSecond + 500).calls, std::min<int64_t>(s + 1, 60));
  }
}

TEST(CircuitBreaker, WindowMatchesABruteForceCount) {
  // Random results over twenty minutes: the window holds exactly the results of the last 60
  // per-second buckets, and so every result younger than 59 s and none older than 60 s.
  Options options = RatioOnly();
  options.failure_ratio = 2;  // never opens: only the counting is tested
  CircuitBreaker breaker(options);
  struct Result {
    int64_t t;
    bool failed;
  };
  std::vector<Result> results;
  int64_t t = kStart;
  for (uint64_t i = 0; i < 20'000; ++i) {
    t += static_cast<int64_t>(Mix(i) % 120);
    bool failed = Mix(i + 1'000'000) % 3 == 0;
    Call(breaker, t, !failed);
    results.push_back({t, failed});
    if (i % 97 != 0) continue;
    uint32_t calls = 0, failures = 0;
    for (const Result& r : results) {
      if (r.t / kSecond > t / kSecond - 60) {
        ++calls;
        failures += r.failed ? 1 : 0;
        EXPECT_LE(t - r.t, 60 * kSecond);
      } else {
        EXPECT_GT(t - r.t, 59 * kSecond);
      }
    }
    CircuitBreaker::WindowCounts counts = breaker.window(t);
    ASSERT_EQ(counts.calls, calls) << i;
    ASSERT_EQ(counts.failures, failures) << i;
  }
}

TEST(CircuitBreaker, OtherWindowLengths) {
  // 10 s: 60 buckets of 167 ms. A result is counted for at most 10 s and at least 10 s minus
  // two buckets.
  Options options = RatioOnly();
  options.window_ms = 10 * kSecond;
  CircuitBreaker breaker(options);
  constexpr int64_t kBucketMs = 167;
  const int64_t t = kStart + 1234;
  Call(breaker, t, true);
  EXPECT_EQ(breaker.window(t + 10 * kSecond - 2 * kBucketMs).calls, 1u);
  EXPECT_EQ(breaker.window(t + 10 * kSecond).calls, 0u);

  // 1 h: 60 buckets of a minute.
  options.window_ms = kHour;
  CircuitBreaker hourly(options);
  for (int i = 0; i < 9; ++i)
    Call(hourly, kStart + i * (5 * kMinute), false);
  Call(hourly, kStart + 50 * kMinute, false);
  EXPECT_EQ(hourly.state(kStart + 50 * kMinute), State::kOpen);  // 10 in the last hour

  // Tiny windows are fine too (1 ms buckets).
  options.window_ms = 10;
  CircuitBreaker tiny(options);
  Call(tiny, kStart, false);
  EXPECT_EQ(tiny.window(kStart + 9).calls, 1u);
  EXPECT_EQ(tiny.window(kStart + 10).calls, 0u);
  options.window_ms = 0;  // read as 1 ms
  CircuitBreaker zero(options);
  Call(zero, kStart, false);
  EXPECT_EQ(zero.window(kStart).calls, 1u);
  EXPECT_EQ(zero.window(kStart + 1).calls, 0u);
}

TEST(CircuitBreaker, WindowIsBoundedWhateverTheTraffic) {
  // A million results in one minute: counted exactly, in the same fixed ring.
  Options options = RatioOnly();
  options.failure_ratio = 2;
  CircuitBreaker breaker(options);
  for (int i = 0; i < 1'000'000; ++i)
    Call(breaker, kStart + i / 20'000, i % 2 == 0);
  EXPECT_EQ(breaker.window(kStart + 49).calls, 1'000'000u);
  EXPECT_EQ(breaker.window(kStart + 49).failures, 500'000u);
  static_assert(sizeof(CircuitBreaker) < 2048, "the window is a fixed ring");
}

TEST(CircuitBreaker, ClockSteppingBackEndsTheOpenPeriod) {
  CircuitBreaker breaker;
  OpenIt(breaker, kStart);
  // The wall clock steps back an hour: the breaker does not stay open for an hour and a half.
  const int64_t back = kStart - kHour;
  EXPECT_EQ(breaker.state(back), State::kHalfOpen);
  EXPECT_EQ(breaker.NextStartMs(back), back);
  ASSERT_TRUE(breaker.TryStart(back));  // one probe
  EXPECT_FALSE(breaker.TryStart(back));
  breaker.OnResult(back + kSecond, false);
  // Reopened from the new reading, for the doubled period.
  EXPECT_EQ(breaker.state(back + kSecond), State::kOpen);
  EXPECT_EQ(breaker.NextStartMs(back + kSecond), back + kSecond + kMinute);
}

TEST(CircuitBreaker, ClockSteppingBackDoesNotCountFutureBuckets) {
  CircuitBreaker breaker(RatioOnly());
  for (int i = 0; i < 9; ++i)
    Call(breaker, kStart + 30 * kSecond, false);
  // Back 30 s: those results are "in the future" and not counted; new ones are judged alone.
  EXPECT_EQ(breaker.window(kStart).calls, 0u);
  Call(breaker, kStart, false);
  EXPECT_EQ(breaker.state(kStart), State::kClosed);
  EXPECT_EQ(breaker.window(kStart).calls, 1u);
  // Time catches up: both are in the window again.
  EXPECT_EQ(breaker.window(kStart + 30 * kSecond).calls, 10u);
}

TEST(CircuitBreaker, VirtualOutage) {
  // An endpoint down for ten minutes, hammered by a caller that starts a call whenever it may
  // and gets each answer 100 ms later; then it comes back.
  CircuitBreaker breaker;
  const int64_t outage_end = kStart + 10 * kMinute;
  std::deque<int64_t> in_flight;  // start times
  int64_t attempts_during_outage = 0;
  std::optional<int64_t> closed_again;
  for (int64_t t = kStart; t < kStart + 30 * kMinute; t += 10) {
    while (!in_flight.empty() && in_flight.front() + 100 <= t) {
      breaker.OnResult(t, in_flight.front() >= outage_end);
      in_flight.pop_front();
    }
    if (in_flight.size() < 4 && breaker.TryStart(t)) {
      in_flight.push_back(t);
      if (t < outage_end) ++attempts_during_outage;
    }
    if (t >= outage_end && !closed_again && breaker.state(t) == State::kClosed) closed_again = t;
  }
  // 5 failures open it, then probes at 30, 60, 120, 240 s...: a handful of attempts, not 24000.
  EXPECT_LT(attempts_during_outage, 20);
  ASSERT_TRUE(closed_again.has_value());
  // Closed again within one capped open period (plus the probes) of the end of the outage.
  EXPECT_LE(*closed_again - outage_end, 600 * kSecond + kSecond);
  EXPECT_EQ(breaker.trouble_since_ms(), std::nullopt);
}

}  // namespace
}  // namespace gatilho
