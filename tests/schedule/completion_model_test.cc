#include "schedule/completion_model.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "core/document_type.h"

namespace gatilho {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

TEST(CompletionModel, PriorMedianMatchesTheType) {
  const int64_t nfe = CompletionModel::Prior(DocType::kNfe).Quantile(0.5);
  EXPECT_NEAR(static_cast<double>(nfe), 4 * kSecond, 0.1 * 4 * kSecond);
  EXPECT_EQ(CompletionModel::Prior(DocType::kCte).Quantile(0.5), nfe);
  EXPECT_EQ(CompletionModel::Prior(DocType::kMdfe).Quantile(0.5), nfe);
  EXPECT_EQ(CompletionModel::Prior(DocType::kNfcom).Quantile(0.5), nfe);
  // SEFAZ types have a heavy tail: a few percent still processing after a minute.
  EXPECT_LT(CompletionModel::Prior(DocType::kNfe).Cdf(kMinute), 0.97);

  EXPECT_NEAR(static_cast<double>(CompletionModel::Prior(DocType::kNfce).Quantile(0.5)),
              1 * kSecond, 0.1 * kSecond);

  const CompletionModel nfse = CompletionModel::Prior(DocType::kNfse);
  EXPECT_GE(nfse.Quantile(0.5), 1 * kMinute);
  EXPECT_LE(nfse.Quantile(0.5), 10 * kMinute);
  EXPECT_GE(nfse.Quantile(0.95), 60 * kMinute);  // the tail is hours

  const int64_t nfsen = CompletionModel::Prior(DocType::kNfsen).Quantile(0.5);
  EXPECT_GE(nfsen, 30 * kSecond);
  EXPECT_LE(nfsen, 5 * kMinute);

  EXPECT_EQ(CompletionModel::Prior(DocType::kNfe).observations(), 0u);
}

TEST(CompletionModel, CdfIsAProperDistribution) {
  const CompletionModel model = CompletionModel::Prior(DocType::kNfe);
  EXPECT_EQ(model.Cdf(0), 0.0);
  double previous = 0;
  for (int64_t age = 50; age < 8LL * 24 * 60 * kMinute; age = age * 3 / 2) {
    const double value = model.Cdf(age);
    EXPECT_GE(value, previous) << age;
    previous = value;
  }
  EXPECT_EQ(model.Cdf(8LL * 24 * 60 * kMinute), 1.0);
}

TEST(CompletionModel, RecordedCompletionsMoveTheModel) {
  CompletionModel model = CompletionModel::Prior(DocType::kNfe);
  for (int i = 0; i < 30; ++i)
    model.Record(20 * kSecond, 30 * kSecond);
  EXPECT_EQ(model.observations(), 30u);
  EXPECT_GT(model.Quantile(0.5), 20 * kSecond);
  EXPECT_LE(model.Quantile(0.5), 30 * kSecond);
  // The interval's weight stays inside it, to the buckets' resolution (about 28% of the age):
  // next to nothing finishes between 8 and 16 s.
  EXPECT_LT(model.Cdf(16 * kSecond) - model.Cdf(8 * kSecond), 0.05);
}

TEST(CompletionModel, OneOutlierBarelyMovesIt) {
  CompletionModel model = CompletionModel::Prior(DocType::kNfe);
  for (int i = 0; i < 20; ++i)
    model.Record(2 * kSecond, 3 * kSecond);
  const int64_t median = model.Quantile(0.5);
  const double by_five_seconds = model.Cdf(5 * kSecond);
  model.Record(50 * kMinute, 60 * kMinute);
  EXPECT_NEAR(static_cast<double>(model.Quantile(0.5)), static_cast<double>(median),
              0.1 * static_cast<double>(median));
  EXPECT_LT(by_five_seconds - model.Cdf(5 * kSecond), 0.06);
  EXPECT_GT(by_five_seconds - model.Cdf(5 * kSecond), 0.0);  // it did count
}

TEST(CompletionModel, OldObservationsDecay) {
  CompletionModel model = CompletionModel::LogNormalPrior(4 * kSecond, 1.0, 3);
  for (int i = 0; i < 200; ++i)
    model.Record(1 * kSecond, 2 * kSecond);
  // The SEFAZ slowed down: the same number of newer, slower completions outweigh the old ones.
  for (int i = 0; i < 200; ++i)
    model.Record(20 * kSecond, 40 * kSecond);
  EXPECT_GT(model.Quantile(0.5), 20 * kSecond);
  EXPECT_LT(model.Cdf(2 * kSecond), 0.35);
}

TEST(CompletionModel, EncodeDecodeRoundTrips) {
  CompletionModel model = CompletionModel::Prior(DocType::kNfse);
  model.Record(3 * kMinute, 5 * kMinute);
  model.Record(0, 400);
  const std::string bytes = model.Encode();
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 1u);  // the version byte comes first
  const std::optional<CompletionModel> decoded = CompletionModel::Decode(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->observations(), 2u);
  EXPECT_EQ(decoded->Encode(), bytes);
  for (int64_t age : std::initializer_list<int64_t>{100, 5'000, 4 * kMinute, 3'000 * kMinute})
    EXPECT_EQ(decoded->Cdf(age), model.Cdf(age)) << age;
}

TEST(CompletionModel, DecodeRejectsGarbage) {
  const std::string good = CompletionModel::Prior(DocType::kNfe).Encode();
  EXPECT_FALSE(CompletionModel::Decode("").has_value());
  EXPECT_FALSE(CompletionModel::Decode("hello").has_value());
  EXPECT_FALSE(CompletionModel::Decode(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(CompletionModel::Decode(good + "x").has_value());

  std::string wrong_version = good;
  wrong_version[0] = 9;
  EXPECT_FALSE(CompletionModel::Decode(wrong_version).has_value());

  std::string negative_weight = good;
  negative_weight[9 + 7] = static_cast<char>(0xbf);  // sign bit of the first weight: -x
  EXPECT_FALSE(CompletionModel::Decode(negative_weight).has_value());

  std::string no_weight(good.size(), '\0');
  no_weight[0] = 1;
  EXPECT_FALSE(CompletionModel::Decode(no_weight).has_value());

  EXPECT_TRUE(CompletionModel::Decode(good).has_value());
}

}  // namespace
}  // namespace gatilho
