#include "delivery/latency_histogram.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(LatencyHistogram, ValueOnABoundCountsInThatBucketAndAboveTheLastInInf) {
  LatencyHistogram histogram({0.5, 1, 5});
  histogram.Record(0.5);
  histogram.Record(0.7);
  histogram.Record(5);
  histogram.Record(60);
  histogram.Record(-2);  // a wall clock stepped back

  EXPECT_EQ(histogram.counts(), (std::vector<uint64_t>{2, 1, 1, 1}));
  EXPECT_EQ(histogram.count(), 5u);
  EXPECT_DOUBLE_EQ(histogram.sum_seconds(), 0.5 + 0.7 + 5 + 60);
}

TEST(LatencyHistogram, MergeAddsCountsOfTheSameBounds) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.Record(0.01);
  b.Record(0.01);
  b.Record(3000);
  a.Merge(b);

  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.counts().front(), 2u);
  EXPECT_EQ(a.counts().back(), 1u);
  EXPECT_EQ(a.bounds_seconds().size(), 12u);
}

}  // namespace
}  // namespace gatilho
