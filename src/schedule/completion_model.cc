#include "schedule/completion_model.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>

namespace gatilho {
namespace {

constexpr double kFirstEdgeMs = 100.0;
constexpr double kLastEdgeMs = 7.0 * 24 * 3600 * 1000;

// Each observation shrinks the older ones by this factor, so the model's memory is about
// 1 / (1 - kDecay) = 200 observations: enough to smooth noise, short enough that a SEFAZ that
// slowed down last week is what the schedule reflects this week.
constexpr double kDecay = 0.995;

// The prior counts as this many observations: a handful of real completions outweigh it, one
// outlier does not.
constexpr double kPriorWeight = 3.0;

constexpr uint8_t kEncodingVersion = 1;

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kMinuteMs = 60 * kSecondMs;

double LogStep() {
  return std::log(kLastEdgeMs / kFirstEdgeMs) / CompletionModel::kBuckets;
}

// The lower edge of bucket i (i in [0, kBuckets]); bucket i covers (Edge(i), Edge(i + 1)].
double Edge(int i) {
  return kFirstEdgeMs * std::exp(LogStep() * i);
}

// Where `age_ms` falls on the bucket axis: i + fraction, clamped to [0, kBuckets].
double Position(double age_ms) {
  if (age_ms <= kFirstEdgeMs) return 0;
  return std::clamp(std::log(age_ms / kFirstEdgeMs) / LogStep(), 0.0,
                    static_cast<double>(CompletionModel::kBuckets));
}

double NormalCdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

void PutU64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetU64(std::string_view bytes, size_t at) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

}  // namespace

// Medians and spreads read from the API's documented timings (focus-api.md section 2): SEFAZ
// types answer "within a few seconds" yet "several minutes" is normal, hence a median of 4 s
// with a wide spread (the 99th percentile lands near four minutes); NFC-e is synchronous, so
// the document is final about as soon as it is watched; municipal NFS-e depends on the city
// hall and can take hours ("query again after a few minutes"); NFS-e Nacional is one national
// service described as taking "a few minutes" at worst.
CompletionModel CompletionModel::Prior(DocType type) {
  switch (type) {
    case DocType::kNfce:
      return LogNormalPrior(1 * kSecondMs, 0.8, kPriorWeight);
    case DocType::kNfse:
      return LogNormalPrior(3 * kMinuteMs, 2.0, kPriorWeight);
    case DocType::kNfsen:
      return LogNormalPrior(45 * kSecondMs, 1.5, kPriorWeight);
    case DocType::kNfe:
    case DocType::kCte:
    case DocType::kMdfe:
    case DocType::kNfcom:
      break;
  }
  return LogNormalPrior(4 * kSecondMs, 1.7, kPriorWeight);
}

CompletionModel CompletionModel::LogNormalPrior(double median_ms, double sigma,
                                                double prior_weight) {
  CompletionModel model;
  const double mu = std::log(std::max(median_ms, 1.0));
  sigma = std::max(sigma, 1e-3);
  // The first and last buckets absorb the tails, so the prior's whole weight is on the axis.
  double below = 0;
  for (int i = 0; i < kBuckets; ++i) {
    const double upper = i + 1 == kBuckets ? 1.0 : NormalCdf((std::log(Edge(i + 1)) - mu) / sigma);
    model.weights_[i] = std::max(prior_weight * (upper - below), 0.0);
    below = upper;
  }
  return model;
}

void CompletionModel::Record(int64_t lower_ms, int64_t upper_ms) {
  for (double& weight : weights_)
    weight *= kDecay;
  ++observations_;

  const double from = Position(static_cast<double>(std::max<int64_t>(lower_ms, 0)));
  const double to = Position(static_cast<double>(std::max(upper_ms, lower_ms)));
  if (to - from < 1e-9) {
    // The whole interval sits inside one bucket, or outside the axis where it clamps.
    weights_[std::min(static_cast<int>(from), kBuckets - 1)] += 1.0;
    return;
  }
  // Spreading in log-age rather than linear age matches the buckets' own spacing: an interval
  // (2 s, 60 s] says as much about 2..4 s as about 30..60 s.
  const double span = to - from;
  for (int i = static_cast<int>(from); i < kBuckets && i < to; ++i) {
    const double overlap = std::min<double>(i + 1, to) - std::max<double>(i, from);
    if (overlap > 0) weights_[i] += overlap / span;
  }
}

double CompletionModel::Cdf(int64_t age_ms) const {
  if (age_ms <= 0) return 0;
  double total = 0;
  for (double weight : weights_)
    total += weight;
  if (total <= 0) return 0;
  const double position = Position(static_cast<double>(age_ms));
  const int whole = static_cast<int>(position);
  double below = 0;
  for (int i = 0; i < whole && i < kBuckets; ++i)
    below += weights_[i];
  if (whole < kBuckets) below += weights_[whole] * (position - whole);
  return std::clamp(below / total, 0.0, 1.0);
}

int64_t CompletionModel::Quantile(double q) const {
  double total = 0;
  for (double weight : weights_)
    total += weight;
  const double target = std::clamp(q, 0.0, 1.0) * total;
  double below = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (weights_[i] > 0 && below + weights_[i] >= target) {
      const double fraction = std::clamp((target - below) / weights_[i], 0.0, 1.0);
      return static_cast<int64_t>(std::ceil(kFirstEdgeMs * std::exp(LogStep() * (i + fraction))));
    }
    below += weights_[i];
  }
  return static_cast<int64_t>(kLastEdgeMs);
}

std::string CompletionModel::Encode() const {
  std::string out;
  out.reserve(1 + 8 + 8 * kBuckets);
  out.push_back(static_cast<char>(kEncodingVersion));
  PutU64(out, observations_);
  for (double weight : weights_)
    PutU64(out, std::bit_cast<uint64_t>(weight));
  return out;
}

std::optional<CompletionModel> CompletionModel::Decode(std::string_view bytes) {
  if (bytes.size() != 1 + 8 + 8 * static_cast<size_t>(kBuckets)) return std::nullopt;
  if (static_cast<uint8_t>(bytes[0]) != kEncodingVersion) return std::nullopt;
  CompletionModel model;
  model.observations_ = GetU64(bytes, 1);
  double total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    const double weight = std::bit_cast<double>(GetU64(bytes, 9 + 8 * static_cast<size_t>(i)));
    if (!std::isfinite(weight) || weight < 0) return std::nullopt;
    model.weights_[i] = weight;
    total += weight;
  }
  // A model with no weight has no distribution; the caller is better served by its prior.
  if (!(total > 0) || !std::isfinite(total)) return std::nullopt;
  return model;
}

}  // namespace gatilho
