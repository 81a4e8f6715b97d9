#include "sim/processing_model.h"

#include <cmath>
#include <random>

namespace gatilho::sim {
namespace {

// FNV-1a rather than std::hash so that a seed gives the same run on every build.
uint64_t Mix(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  // A separator keeps ("ab","c") and ("a","bc") apart.
  hash ^= 0xff;
  return hash * 0x100000001b3ULL;
}

}  // namespace

ProcessingModel::Decision ProcessingModel::Decide(const std::string& token, DocType type,
                                                  const std::string& ref, int attempt) const {
  uint64_t hash = 0xcbf29ce484222325ULL ^ settings_.seed;
  hash = Mix(hash, token);
  hash = Mix(hash, DocTypeName(type));
  hash = Mix(hash, ref);
  hash = Mix(hash, std::to_string(attempt));
  std::mt19937_64 rng(hash);

  Decision decision;
  if (!IsSynchronous(type)) {
    const double median = settings_.median_ms[static_cast<int>(type)];
    std::lognormal_distribution<double> duration(std::log(median), settings_.sigma);
    decision.duration_ms = std::llround(duration(rng) / settings_.time_scale);
  }
  const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (roll < settings_.reject_rate) {
    decision.outcome = DocStatus::kErroAutorizacao;
  } else if (CanBeDenied(type) && roll < settings_.reject_rate + settings_.deny_rate) {
    decision.outcome = DocStatus::kDenegado;
  }
  decision.rejection = static_cast<int>(rng() % 1000);
  return decision;
}

}  // namespace gatilho::sim
