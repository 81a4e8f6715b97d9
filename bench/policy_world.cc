#include "policy_world.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace gatilho::bench {
namespace {

double LogNormalCdf(double median_ms, double sigma, double age_ms) {
  if (age_ms <= 0) return 0;
  return 0.5 * std::erfc(-(std::log(age_ms) - std::log(median_ms)) / (sigma * std::sqrt(2.0)));
}

// Each token gets its own streams, so adding a token or a document on one leaves the others'
// draws as they were.
uint64_t StreamSeed(uint64_t seed, uint64_t token, uint64_t stream) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + token * 0xBF58476D1CE4E5B9ull + stream;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 29);
}

CompletionLaw Sefaz(double median_s) {
  // Most NF-e are authorised in seconds; one in a hundred is caught by a SEFAZ outage.
  return CompletionLaw{median_s * 1000, 0.8, 0.01, 10 * kMinuteMs, 40 * kMinuteMs};
}

CompletionLaw CityHall(double median_min) {
  return CompletionLaw{median_min * kMinuteMs, 1.3, 0, 0, 0};
}

CompletionLaw Synchronous() {
  // NFC-e is authorised inside the ERP's POST: done about a second after submission.
  return CompletionLaw{1'000, 0.3, 0, 0, 0};
}

}  // namespace

double CompletionLaw::Cdf(int64_t age_ms) const {
  const double body = LogNormalCdf(median_ms, sigma, static_cast<double>(age_ms));
  if (tail_chance <= 0 || tail_max_ms <= tail_min_ms) return body;
  if (age_ms <= tail_min_ms) return (1 - tail_chance) * body;
  // The delayed documents finish at (body + extra), extra uniform: average the body's CDF over
  // the extra delay by the midpoint rule, fine enough for a tail of tens of minutes.
  constexpr int kSteps = 96;
  const double width = static_cast<double>(tail_max_ms - tail_min_ms);
  double sum = 0;
  for (int i = 0; i < kSteps; ++i) {
    const double extra = tail_min_ms + (i + 0.5) * width / kSteps;
    sum += LogNormalCdf(median_ms, sigma, static_cast<double>(age_ms) - extra);
  }
  return (1 - tail_chance) * body + tail_chance * sum / kSteps;
}

std::vector<CompanySpec> PolicyWorld::StandardCompanies() {
  // Four companies with different habits, so that learning per company matters: a retailer and
  // a services firm with a slow city hall share token 0; a shop with a fast city hall has token
  // 1; a carrier in a state whose SEFAZ is slower has token 2.
  return {
      CompanySpec{"acme",
                  0,
                  0.6,
                  {{DocType::kNfe, 60, Sefaz(4)},
                   {DocType::kNfce, 10, Synchronous()},
                   {DocType::kNfse, 20, CityHall(3)},
                   {DocType::kCte, 10, Sefaz(4)}}},
      CompanySpec{
          "beta", 0, 0.4, {{DocType::kNfe, 20, Sefaz(4)}, {DocType::kNfse, 80, CityHall(8)}}},
      CompanySpec{"gama",
                  1,
                  1.0,
                  {{DocType::kNfe, 40, Sefaz(3)},
                   {DocType::kNfce, 40, Synchronous()},
                   {DocType::kNfse, 20, CityHall(1.5)}}},
      CompanySpec{"delta",
                  2,
                  1.0,
                  {{DocType::kCte, 60, Sefaz(8)},
                   {DocType::kNfe, 30, Sefaz(8)},
                   {DocType::kNfse, 10, CityHall(3)}}},
  };
}

double PolicyWorld::MeanPolls(const std::vector<CompanySpec>& companies, int token,
                              const PollPolicy& policy) {
  double total_weight = 0;
  double total = 0;
  for (const CompanySpec& company : companies) {
    if (company.token != token) continue;
    double type_weights = 0;
    for (const TypeShare& share : company.types)
      type_weights += share.weight;
    for (const TypeShare& share : company.types) {
      // A document is polled at each slot up to the first one at or after it finishes:
      // E[polls] = sum over slots of P(still processing at the previous slot).
      const int64_t max_age = policy.For(share.type).max_age_ms;
      double polls = 0;
      int64_t previous = 0;
      for (uint32_t count = 0; previous < max_age; ++count) {
        polls += 1 - share.law.Cdf(previous);
        previous = policy.NextProcessingPoll(share.type, 0, count, previous);
      }
      const double weight = company.weight * share.weight / type_weights;
      total += weight * polls;
      total_weight += weight;
    }
  }
  return total_weight > 0 ? total / total_weight : 0;
}

PolicyWorld PolicyWorld::Generate(const ScenarioSpec& scenario,
                                  std::vector<CompanySpec> companies) {
  PolicyWorld world;
  world.scenario_ = scenario;
  world.companies_ = std::move(companies);
  for (const CompanySpec& company : world.companies_)
    world.token_count_ = std::max(world.token_count_, company.token + 1);

  // The ERP keeps working as long as a strategy may still poll: the intake plus the longest
  // maximum age of any type (3 days for NFS-e) and some slack.
  const int64_t horizon_ms = scenario.intake_ms + 3 * kDayMs + kHourMs;
  world.erp_requests_.resize(world.token_count_);

  for (int token = 0; token < world.token_count_; ++token) {
    std::vector<int> members;
    std::vector<double> member_weights;
    for (int c = 0; c < static_cast<int>(world.companies_.size()); ++c) {
      if (world.companies_[c].token != token) continue;
      members.push_back(c);
      member_weights.push_back(world.companies_[c].weight);
    }
    if (members.empty()) continue;

    std::mt19937_64 docs_rng(StreamSeed(scenario.seed, token, 1));
    std::exponential_distribution<double> gap(scenario.docs_per_min_per_token / kMinuteMs);
    std::discrete_distribution<int> pick_member(member_weights.begin(), member_weights.end());
    std::normal_distribution<double> normal(0, 1);
    std::uniform_real_distribution<double> unit(0, 1);
    double t = gap(docs_rng);
    while (t < scenario.intake_ms) {
      Document doc;
      doc.company = members[pick_member(docs_rng)];
      doc.token = token;
      doc.submit_ms = static_cast<int64_t>(t);
      const CompanySpec& company = world.companies_[doc.company];
      std::vector<double> type_weights;
      for (const TypeShare& share : company.types)
        type_weights.push_back(share.weight);
      std::discrete_distribution<int> pick_type(type_weights.begin(), type_weights.end());
      const TypeShare& share = company.types[pick_type(docs_rng)];
      doc.type = share.type;
      // Every draw is made whatever the branch, so one document's tail never shifts the next
      // document's numbers.
      const double z = normal(docs_rng);
      const double tail_roll = unit(docs_rng);
      const double tail_pos = unit(docs_rng);
      double duration = share.law.median_ms * std::exp(share.law.sigma * z);
      if (tail_roll < share.law.tail_chance) {
        duration +=
            share.law.tail_min_ms + tail_pos * (share.law.tail_max_ms - share.law.tail_min_ms);
      }
      doc.done_ms = doc.submit_ms + std::max<int64_t>(1, static_cast<int64_t>(duration));
      if (doc.type == DocType::kNfe && doc.submit_ms >= scenario.outage_start_ms &&
          doc.submit_ms < scenario.outage_end_ms) {
        doc.done_ms = std::max(doc.done_ms, scenario.outage_end_ms);
      }
      world.documents_.push_back(doc);
      t += gap(docs_rng);
    }

    std::mt19937_64 erp_rng(StreamSeed(scenario.seed, token, 2));
    if (scenario.erp_per_min_per_token > 0) {
      std::exponential_distribution<double> erp_gap(scenario.erp_per_min_per_token / kMinuteMs);
      for (double e = erp_gap(erp_rng); e < horizon_ms; e += erp_gap(erp_rng)) {
        world.erp_requests_[token].push_back(static_cast<int64_t>(e));
      }
    }
  }
  std::stable_sort(world.documents_.begin(), world.documents_.end(),
                   [](const Document& a, const Document& b) { return a.submit_ms < b.submit_ms; });
  return world;
}

const CompletionLaw& PolicyWorld::Law(int company, DocType type) const {
  for (const TypeShare& share : companies_.at(company).types) {
    if (share.type == type) return share.law;
  }
  throw std::out_of_range("no such type at this company");
}

}  // namespace gatilho::bench
