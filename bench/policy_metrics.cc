#include "policy_metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace gatilho::bench {
namespace {

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void FillDelays(PeriodMetrics& period, std::vector<double>& delays, int64_t polls) {
  std::sort(delays.begin(), delays.end());
  period.detected = static_cast<int64_t>(delays.size());
  period.credits_per_doc = period.docs > 0 ? static_cast<double>(polls) / period.docs : 0;
  double sum = 0;
  for (double d : delays)
    sum += d;
  period.mean_s = delays.empty() ? 0 : sum / static_cast<double>(delays.size());
  period.p50_s = Percentile(delays, 0.50);
  period.p95_s = Percentile(delays, 0.95);
  period.p99_s = Percentile(delays, 0.99);
  period.max_s = delays.empty() ? 0 : delays.back();
}

void FillApi(PeriodMetrics& period, const ApiRateLimit::Counters& api, double capacity) {
  period.requests = api.poll_requests;
  period.caused_429 = api.polls_refused;
  period.erp_requests = api.erp_requests;
  period.erp_refused = api.erp_refused;
  period.erp_refused_within_reserve = api.erp_refused_within_reserve;
  period.budget_used = capacity > 0 ? static_cast<double>(api.poll_requests) / capacity : 0;
}

ApiRateLimit::Counters Sum(const ApiRateLimit::Counters& a, const ApiRateLimit::Counters& b) {
  return {a.poll_requests + b.poll_requests, a.polls_refused + b.polls_refused,
          a.erp_requests + b.erp_requests, a.erp_refused + b.erp_refused,
          a.erp_refused_within_reserve + b.erp_refused_within_reserve};
}

}  // namespace

StrategyMetrics Summarize(const PolicyWorld& world, const RunRecord& record,
                          const std::string& name, int64_t share_cap, int64_t window_ms) {
  StrategyMetrics metrics;
  metrics.name = name;
  metrics.spins = record.spins;
  std::vector<double> delays[3];
  int64_t polls[3] = {0, 0, 0};
  PeriodMetrics* periods[3] = {&metrics.all, &metrics.first_hour, &metrics.rest};
  const std::vector<Document>& docs = world.documents();
  for (size_t i = 0; i < docs.size(); ++i) {
    const int part = docs[i].submit_ms < record.split_ms ? 1 : 2;
    for (int p : {0, part}) {
      ++periods[p]->docs;
      polls[p] += record.polls[i];
      if (record.detected_ms[i] >= 0) {
        delays[p].push_back(static_cast<double>(record.detected_ms[i] - docs[i].done_ms) / 1000);
      } else {
        ++periods[p]->timeouts;
      }
    }
  }
  for (int p = 0; p < 3; ++p)
    FillDelays(*periods[p], delays[p], polls[p]);

  // The share of the budget used is measured over the intake, while documents keep coming: the
  // drain after it (a few slow documents) would dilute it to nothing.
  const double per_ms = static_cast<double>(share_cap) * world.token_count() / window_ms;
  const int64_t intake = world.scenario().intake_ms;
  FillApi(metrics.all, Sum(record.api[0], record.api[1]), 0);
  FillApi(metrics.first_hour, record.api[0], 0);
  FillApi(metrics.rest, record.api[1], 0);
  metrics.all.budget_used =
      static_cast<double>(record.polls_in_intake) / (per_ms * static_cast<double>(intake));
  metrics.first_hour.budget_used = static_cast<double>(record.api[0].poll_requests) /
                                   (per_ms * static_cast<double>(record.split_ms));
  metrics.rest.budget_used =
      static_cast<double>(record.polls_in_intake - record.api[0].poll_requests) /
      (per_ms * static_cast<double>(std::max<int64_t>(1, intake - record.split_ms)));
  return metrics;
}

}  // namespace gatilho::bench
