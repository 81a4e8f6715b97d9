// PolicyReport: the policy benchmark's results: the table, the targets' verdicts, the JSON and
// the data the plot is drawn from.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "policy_metrics.h"
#include "policy_world.h"

namespace gatilho::bench {

struct ScenarioResult {
  ScenarioSpec spec;
  int64_t documents = 0;
  double oracle_cost_ms = 0;
  // The simple ones, then "gatilho", "oracle" and the variant "gatilho-pt".
  std::vector<StrategyMetrics> strategies;

  const StrategyMetrics* Find(const std::string& name) const;
};

struct TargetVerdict {
  std::string id;
  std::string description;
  bool met = false;
  std::string detail;
};

class PolicyReport {
 public:
  void Add(ScenarioResult result) { scenarios_.push_back(std::move(result)); }
  const std::vector<ScenarioResult>& scenarios() const { return scenarios_; }

  // Judges the targets on the scenarios added so far.
  std::vector<TargetVerdict> Evaluate() const;

  void PrintTable(std::ostream& out) const;
  static void PrintVerdicts(std::ostream& out, const std::vector<TargetVerdict>& verdicts);

  // Writes the JSON (scenario -> strategy -> metrics, the verdicts, the machine) to `path`.
  bool WriteJson(const std::string& path, const std::vector<TargetVerdict>& verdicts,
                 double total_seconds) const;
  // Writes one line per (scenario, strategy): index, scenario, strategy, credits/doc, p95 s.
  bool WritePlotData(const std::string& path) const;

 private:
  std::vector<ScenarioResult> scenarios_;
};

}  // namespace gatilho::bench
