// PolicyWorld: the workload the policy benchmark replays: API tokens, the companies polling
// with them, the documents they submit (with the true moment each finishes at the API) and the
// ERP's own requests on each token.
//
// Everything is drawn up front from one seed, so every strategy of a scenario faces exactly the
// same documents and the same ERP traffic, and a run is reproducible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/document_type.h"
#include "schedule/poll_policy.h"

namespace gatilho::bench {

inline constexpr int64_t kSecondMs = 1000;
inline constexpr int64_t kMinuteMs = 60 * kSecondMs;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// How long documents of one type take at one company: a log-normal body and, for a fraction of
// documents, an extra uniform delay (a SEFAZ or city-hall outage that holds them).
struct CompletionLaw {
  double median_ms = 4'000;
  double sigma = 0.8;
  double tail_chance = 0;   // fraction of documents that also get the extra delay
  int64_t tail_min_ms = 0;  // extra delay ~ U(tail_min_ms, tail_max_ms)
  int64_t tail_max_ms = 0;

  // P(a document has finished by age_ms), exact up to numeric integration of the tail.
  double Cdf(int64_t age_ms) const;
};

struct TypeShare {
  DocType type = DocType::kNfe;
  double weight = 0;  // relative to the company's other types
  CompletionLaw law;
};

struct CompanySpec {
  std::string id;
  int token = 0;      // index into the world's tokens
  double weight = 1;  // share of its token's documents
  std::vector<TypeShare> types;
};

struct ScenarioSpec {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  int64_t intake_ms = kDayMs;         // documents are submitted during [0, intake_ms)
  double docs_per_min_per_token = 1;  // Poisson rate of submissions on each token
  double erp_per_min_per_token = 10;  // Poisson rate of the ERP's own requests on each token
  // Every NF-e submitted in [outage_start_ms, outage_end_ms) finishes only at outage_end_ms.
  int64_t outage_start_ms = 0;
  int64_t outage_end_ms = 0;
};

struct Document {
  int company = 0;  // index into the world's companies
  int token = 0;
  DocType type = DocType::kNfe;
  int64_t submit_ms = 0;
  int64_t done_ms = 0;  // the true moment it finishes at the API
};

class PolicyWorld {
 public:
  // The companies and tokens every scenario uses: three tokens, two companies sharing the first.
  static std::vector<CompanySpec> StandardCompanies();

  // Draws the documents and the ERP's requests of `scenario` for `companies`.
  static PolicyWorld Generate(const ScenarioSpec& scenario, std::vector<CompanySpec> companies);

  // The mean number of polls a document submitted on `token` takes under `policy`'s processing
  // schedules (no budget, no outage): the yardstick that sizes a scenario's load in polls.
  static double MeanPolls(const std::vector<CompanySpec>& companies, int token,
                          const PollPolicy& policy);

  const ScenarioSpec& scenario() const { return scenario_; }
  const std::vector<CompanySpec>& companies() const { return companies_; }
  int token_count() const { return token_count_; }
  const std::vector<Document>& documents() const { return documents_; }  // by submit_ms
  // The ERP's requests on `token`, ascending; they continue past the intake, as far as any
  // strategy could still be polling.
  const std::vector<int64_t>& erp_requests(int token) const { return erp_requests_[token]; }
  // The completion law of (company, type).
  const CompletionLaw& Law(int company, DocType type) const;

 private:
  ScenarioSpec scenario_;
  std::vector<CompanySpec> companies_;
  int token_count_ = 0;
  std::vector<Document> documents_;
  std::vector<std::vector<int64_t>> erp_requests_;
};

}  // namespace gatilho::bench
