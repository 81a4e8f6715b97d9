#include "delivery/token_bucket.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace gatilho {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kSecond = 1000;
constexpr int64_t kHour = 3600 * kSecond;

uint64_t Mix(uint64_t x) {  // splitmix64: a deterministic spread of values
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Takes greedily at every millisecond of [from, to]; returns how many succeeded.
int64_t TakeEveryMs(TokenBucket& bucket, int64_t from, int64_t to) {
  int64_t taken = 0;
  for (int64_t t = from; t <= to; ++t) {
    while (bucket.TryTake(t))
      ++taken;
  }
  return taken;
}

TEST(TokenBucket, NonPositiveRateIsUnlimited) {
  for (double rate : {0.0, -1.0, -1e9, std::nan("")}) {
    TokenBucket bucket(rate, 1);
    EXPECT_TRUE(bucket.unlimited()) << rate;
    for (int i = 0; i < 10'000; ++i)
      ASSERT_TRUE(bucket.TryTake(kStart)) << rate;
    EXPECT_EQ(bucket.NextTokenMs(kStart), kStart);
    EXPECT_EQ(bucket.NextTokenMs(kStart - kHour), kStart - kHour);  // any reading at all
    EXPECT_TRUE(std::isinf(bucket.Available(kStart)));
  }
  EXPECT_FALSE(TokenBucket(0.001, 1).unlimited());
  EXPECT_FALSE(TokenBucket(1e-12, 1).unlimited());  // tiny, but a limit
}

TEST(TokenBucket, StartsFullWithTheBurst) {
  TokenBucket bucket(1, 5);
  EXPECT_DOUBLE_EQ(bucket.Available(kStart), 5.0);
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(bucket.TryTake(kStart)) << i;
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart + kSecond);
}

TEST(TokenBucket, BurstIsAtLeastOne) {
  for (double burst : {1.0, 0.9, 0.2, 0.0, -3.0, std::nan("")}) {
    TokenBucket bucket(10, burst);
    EXPECT_TRUE(bucket.TryTake(kStart)) << burst;
    EXPECT_FALSE(bucket.TryTake(kStart)) << burst;
  }
}

TEST(TokenBucket, FractionalBurstKeepsItsFraction) {
  TokenBucket bucket(1, 2.5);  // 2 tokens at once, then the half token refills in 500 ms
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart + 500);
  // And the bucket never holds more than 2.5: a long rest then gives two tokens, not three.
  EXPECT_DOUBLE_EQ(bucket.Available(kStart + kHour), 2.5);
  EXPECT_TRUE(bucket.TryTake(kStart + kHour));
  EXPECT_TRUE(bucket.TryTake(kStart + kHour));
  EXPECT_FALSE(bucket.TryTake(kStart + kHour));
}

TEST(TokenBucket, RateIsRespectedOverALongRun) {
  // 10/s with a burst of 5, taken greedily at every millisecond for 100 s: exactly 1000 + 5,
  // and at every moment no more than the burst plus what the rate has earned.
  TokenBucket bucket(10, 5);
  int64_t taken = 0;
  for (int64_t t = 0; t <= 100 * kSecond; ++t) {
    while (bucket.TryTake(kStart + t))
      ++taken;
    ASSERT_EQ(taken, 5 + t * 10 / kSecond) << "at " << t << " ms";
  }
  EXPECT_EQ(taken, 1005);
}

TEST(TokenBucket, NoDriftOverManyHours) {
  // 3/s is no whole number of milliseconds per token; after 10 hours it is still exact.
  TokenBucket bucket(3, 1);
  int64_t taken = TakeEveryMs(bucket, kStart, kStart + 10 * kHour);
  EXPECT_EQ(taken, 1 + 3 * 36'000);
}

TEST(TokenBucket, FractionalRates) {
  {
    TokenBucket bucket(2.5, 1);
    EXPECT_EQ(TakeEveryMs(bucket, kStart, kStart + 100 * kSecond), 1 + 250);
  }
  {
    TokenBucket bucket(0.5, 1);  // one every two seconds
    EXPECT_EQ(TakeEveryMs(bucket, kStart, kStart + 60 * kSecond), 1 + 30);
  }
  {
    TokenBucket bucket(1.0 / 3, 2);  // rounded to 0.333333/s: never more than a third a second
    int64_t taken = TakeEveryMs(bucket, kStart, kStart + 3000 * kSecond);
    EXPECT_LE(taken, 2 + 1000);
    EXPECT_GE(taken, 2 + 999);
  }
}

TEST(TokenBucket, HighRates) {
  TokenBucket per_ms(1000, 1);  // one a millisecond
  EXPECT_EQ(TakeEveryMs(per_ms, kStart, kStart + 10 * kSecond), 1 + 10'000);
  TokenBucket fast(5000, 1);  // five a millisecond, but never more than the burst at once
  EXPECT_TRUE(fast.TryTake(kStart));
  EXPECT_FALSE(fast.TryTake(kStart));
  EXPECT_EQ(fast.NextTokenMs(kStart), kStart + 1);
  TokenBucket huge(1e300, 3);  // capped at 1e12/s: refills within a millisecond
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(huge.TryTake(kStart));
  EXPECT_FALSE(huge.TryTake(kStart));
  EXPECT_EQ(huge.NextTokenMs(kStart), kStart + 1);
  EXPECT_DOUBLE_EQ(huge.Available(kStart + 1), 3.0);
}

TEST(TokenBucket, TinyRatesAreNotRoundedToUnlimitedOrToNothing) {
  TokenBucket bucket(1e-12, 1);  // read as one millionth of a token per second
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart + int64_t{1'000'000'000});
}

TEST(TokenBucket, NoWindowHoldsMoreThanBurstPlusRate) {
  // Irregular callers: whatever the pattern, any span [a, b] holds at most
  // burst + (b - a + 1 ms) * rate takes (the bucket keeps up to a millisecond's refill).
  for (double rate : {1.0, 3.0, 7.5, 40.0}) {
    for (double burst : {1.0, 4.0}) {
      TokenBucket bucket(rate, burst);
      std::vector<int64_t> takes;
      int64_t t = kStart;
      for (uint64_t i = 0; i < 3'000; ++i) {
        t += static_cast<int64_t>(Mix(i) % 400);
        if (bucket.TryTake(t)) takes.push_back(t);
      }
      ASSERT_GT(takes.size(), 100u);
      for (size_t a = 0; a < takes.size(); ++a) {
        for (size_t b = a; b < takes.size(); ++b) {
          double allowed = burst + static_cast<double>(takes[b] - takes[a] + 1) * rate / 1000;
          ASSERT_LE(static_cast<double>(b - a + 1), allowed + 1e-9)
              << "rate " << rate << " burst " << burst << " takes " << a << ".." << b;
        }
      }
    }
  }
}

TEST(TokenBucket, NextTokenMsIsExact) {
  TokenBucket bucket(10, 1);
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart);  // full
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart + 100);
  EXPECT_EQ(bucket.NextTokenMs(kStart + 40), kStart + 100);
  EXPECT_FALSE(bucket.TryTake(kStart + 99));
  EXPECT_TRUE(bucket.TryTake(kStart + 100));
  EXPECT_EQ(bucket.NextTokenMs(kStart + 100), kStart + 200);
  // Late callers: a token is there at once.
  EXPECT_EQ(bucket.NextTokenMs(kStart + 250), kStart + 250);
}

TEST(TokenBucket, NextTokenMsRoundsUpToTheMillisecond) {
  // 3/s: tokens come at 333.3.., 666.6.., 1000 ms.
  TokenBucket bucket(3, 1);
  ASSERT_TRUE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextTokenMs(kStart), kStart + 334);
  EXPECT_FALSE(bucket.TryTake(kStart + 333));
  EXPECT_TRUE(bucket.TryTake(kStart + 334));
  EXPECT_EQ(bucket.NextTokenMs(kStart + 334), kStart + 667);
  EXPECT_TRUE(bucket.TryTake(kStart + 667));
  EXPECT_EQ(bucket.NextTokenMs(kStart + 667), kStart + 1000);
  EXPECT_FALSE(bucket.TryTake(kStart + 999));
  EXPECT_TRUE(bucket.TryTake(kStart + 1000));
}

TEST(TokenBucket, NextTokenMsIsTheFirstMomentTryTakeSucceeds) {
  for (double rate : {0.7, 1.0, 3.0, 7.0, 33.3, 999.0, 2500.0}) {
    for (double burst : {1.0, 2.0, 3.7}) {
      TokenBucket bucket(rate, burst);
      int64_t t = kStart;
      for (uint64_t i = 0; i < 2'000; ++i) {
        t += static_cast<int64_t>(Mix(i * 7 + 1) % 50);
        if (Mix(i) % 3 != 0) bucket.TryTake(t);
        int64_t next = bucket.NextTokenMs(t);
        ASSERT_GE(next, t);
        EXPECT_EQ(bucket.NextTokenMs(t), next) << "asking again changes nothing";
        TokenBucket at_next = bucket;
        ASSERT_TRUE(at_next.TryTake(next)) << "rate " << rate << " burst " << burst;
        if (next > t) {
          TokenBucket just_before = bucket;
          ASSERT_FALSE(just_before.TryTake(next - 1)) << "rate " << rate << " burst " << burst;
        } else {
          TokenBucket now = bucket;
          ASSERT_TRUE(now.TryTake(t));
        }
      }
    }
  }
}

// A caller that sleeps until NextTokenMs() and takes then, on whole milliseconds.
int64_t TakeWhenTold(TokenBucket& bucket, int64_t from, int64_t to) {
  int64_t taken = 0;
  for (int64_t t = from; t <= to; t = bucket.NextTokenMs(t)) {
    if (bucket.TryTake(t)) ++taken;
  }
  return taken;
}

TEST(TokenBucket, CallersOnWholeMillisecondsGetTheFullRate) {
  // 1000 / rate is no whole number of milliseconds, and a burst of 1 leaves no slack: a bucket
  // that dropped the refill of the millisecond it is late by would give 250/s here.
  for (double rate : {300.0, 7.0, 3.0, 0.7}) {
    TokenBucket bucket(rate, 1);
    int64_t span_ms = 1000 * kSecond;
    int64_t taken = TakeWhenTold(bucket, kStart, kStart + span_ms);
    EXPECT_EQ(taken,
              1 + static_cast<int64_t>(std::floor(rate * static_cast<double>(span_ms) / 1000)))
        << rate;
  }
}

TEST(TokenBucket, NeverMoreThanTheBurstAtOnce) {
  // However long it rests, and whatever it keeps of a millisecond's refill.
  struct Case {
    double rate;
    double burst;
    int at_once;
  };
  for (Case c : {Case{1000, 1, 1}, Case{1e6, 1, 1}, Case{1e12, 1, 1}, Case{1000, 2.9995, 2},
                 Case{999, 3, 3}, Case{0.5, 1.5, 1}}) {
    TokenBucket bucket(c.rate, c.burst);
    for (int64_t rest : {int64_t{0}, kHour, 2 * kHour + 1, 3 * kHour + 7}) {
      int64_t t = kStart + rest;
      int taken = 0;
      while (taken <= c.at_once && bucket.TryTake(t))
        ++taken;
      EXPECT_EQ(taken, c.at_once) << c.rate << "/s burst " << c.burst << " after " << rest;
      EXPECT_LE(bucket.Available(t), c.burst);
    }
  }
}

TEST(TokenBucket, FailedTakesCostNothing) {
  TokenBucket bucket(1, 1);
  ASSERT_TRUE(bucket.TryTake(kStart));
  for (int64_t t = kStart; t < kStart + kSecond; ++t)
    ASSERT_FALSE(bucket.TryTake(t));
  EXPECT_TRUE(bucket.TryTake(kStart + kSecond));
}

TEST(TokenBucket, ClockSteppingBackGrantsNoBurst) {
  TokenBucket bucket(1, 5);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(bucket.TryTake(kStart));
  // The wall clock steps back an hour: the bucket does not read that as an hour of refill...
  const int64_t back = kStart - kHour;
  EXPECT_FALSE(bucket.TryTake(back));
  EXPECT_NEAR(bucket.Available(back), 0.0, 1e-9);
  // ...nor wait for the clock to catch up: one second after the step, a token.
  EXPECT_EQ(bucket.NextTokenMs(back), back + kSecond);
  EXPECT_FALSE(bucket.TryTake(back + kSecond - 1));
  EXPECT_TRUE(bucket.TryTake(back + kSecond));
  // And from there on the rate holds as before.
  EXPECT_EQ(TakeEveryMs(bucket, back + kSecond, back + 101 * kSecond), 100);
}

TEST(TokenBucket, NextTokenMsHoldsRightAfterAStepBack) {
  // No TryTake between the step and the question: the answer must still hold.
  TokenBucket bucket(1, 1);
  ASSERT_TRUE(bucket.TryTake(kStart));
  const int64_t back = kStart - 10 * kHour;
  int64_t next = bucket.NextTokenMs(back);
  EXPECT_EQ(next, back + kSecond);
  TokenBucket before = bucket;
  EXPECT_FALSE(before.TryTake(next - 1));
  EXPECT_TRUE(bucket.TryTake(next));
}

TEST(TokenBucket, StepBackKeepsWhatWasEarned) {
  TokenBucket bucket(1, 1);
  ASSERT_TRUE(bucket.TryTake(kStart));
  ASSERT_FALSE(bucket.TryTake(kStart + 600));  // 0.6 of a token earned
  const int64_t back = kStart + 100;           // 500 ms back
  EXPECT_NEAR(bucket.Available(back), 0.6, 1e-9);
  EXPECT_EQ(bucket.NextTokenMs(back), back + 400);
  EXPECT_TRUE(bucket.TryTake(back + 400));
}

TEST(TokenBucket, JitteringClockNeverGivesMoreThanItsForwardProgress) {
  // A clock that keeps stepping back a little: the takes stay within what the time the bucket
  // saw pass (the sum of the forward steps) earns.
  TokenBucket bucket(10, 2);
  int64_t t = kStart;
  int64_t forward = 0;
  int64_t taken = 0;
  for (uint64_t i = 0; i < 20'000; ++i) {
    int64_t step = static_cast<int64_t>(Mix(i) % 40) - 15;  // -15..24 ms
    if (step > 0) forward += step;
    t += step;
    while (bucket.TryTake(t))
      ++taken;
    ASSERT_LE(taken, 2 + forward * 10 / kSecond) << i;
  }
  EXPECT_GT(taken, 1'000);  // and it did not stall
}

TEST(TokenBucket, ExtremeReadingsDoNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  TokenBucket bucket(1, 3);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(bucket.TryTake(kMin));
  EXPECT_FALSE(bucket.TryTake(kMin));
  EXPECT_EQ(bucket.NextTokenMs(kMin), kMin + kSecond);
  // The longest possible forward jump fills the bucket, and only to the burst.
  EXPECT_DOUBLE_EQ(bucket.Available(kMax), 3.0);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(bucket.TryTake(kMax));
  EXPECT_FALSE(bucket.TryTake(kMax));
  // The longest possible step back.
  EXPECT_FALSE(bucket.TryTake(kMin));
  EXPECT_EQ(bucket.NextTokenMs(kMin), kMin + kSecond);
}

TEST(TokenBucket, HugeBurstIsCapped) {
  TokenBucket bucket(1, 1e300);
  EXPECT_DOUBLE_EQ(bucket.Available(kStart), 1e9);
}

}  // namespace
}  // namespace gatilho
