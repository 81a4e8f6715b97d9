// Benchmark 1, the polling policy in virtual time: replays a simulated day of documents on
// three API tokens through gatilho's scheduling classes, simple strategies and an oracle, and
// prints what each spent and how late each saw the documents finish. See bench/run_policy.sh.
//
//   policy_bench [--json PATH] [--plot-data PATH] [--only SCENARIO] [--intake-hours H]
//                [--seed N] [--poll-cost-ms MS]
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "policy_metrics.h"
#include "policy_planned.h"
#include "policy_report.h"
#include "policy_simple.h"
#include "policy_simulation.h"
#include "policy_world.h"
#include "schedule/poll_policy.h"

namespace gatilho::bench {
namespace {

constexpr double kShare = 0.8;
constexpr int64_t kLimit = 100;
constexpr int64_t kWindowMs = 60'000;
constexpr int64_t kShareCap = 80;  // floor(kShare * kLimit)

struct Args {
  std::string json = "bench/results/policy.json";
  std::string plot_data = "bench/results/policy.dat";
  std::string only;
  double intake_hours = 24;
  uint64_t seed = 20'240'601;
  double poll_cost_ms = Learner::Options{}.poll_cost_ms;
};

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (value == nullptr) {
      std::cerr << "missing value after " << flag << "\n";
      std::exit(2);
    }
    if (flag == "--json") {
      args.json = value;
    } else if (flag == "--plot-data") {
      args.plot_data = value;
    } else if (flag == "--only") {
      args.only = value;
    } else if (flag == "--intake-hours") {
      args.intake_hours = std::atof(value);
    } else if (flag == "--seed") {
      args.seed = std::strtoull(value, nullptr, 10);
    } else if (flag == "--poll-cost-ms") {
      args.poll_cost_ms = std::atof(value);
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      std::exit(2);
    }
    ++i;
  }
  return args;
}

// The submission rate per token at which the default schedules would want `load` times the
// bridge's share (80 polls a minute): the yardstick of "light" and "overload".
double RateForLoad(const std::vector<CompanySpec>& companies, int tokens, double load) {
  const PollPolicy policy = PollPolicy::Defaults();
  double polls = 0;
  for (int token = 0; token < tokens; ++token)
    polls += PolicyWorld::MeanPolls(companies, token, policy);
  polls /= tokens;
  return load * static_cast<double>(kShareCap) / polls;
}

std::vector<ScenarioSpec> Scenarios(const Args& args, const std::vector<CompanySpec>& companies) {
  const int64_t intake = static_cast<int64_t>(args.intake_hours * kHourMs);
  const double light = RateForLoad(companies, 3, 0.3);
  const double heavy = RateForLoad(companies, 3, 3.0);
  std::vector<ScenarioSpec> scenarios;
  scenarios.push_back({"light",
                       "demand 30% of the share on the default schedules, ERP at 10% of the limit",
                       args.seed, intake, light, 10});
  scenarios.push_back({"erp60",
                       "light demand, the ERP spending 60% of the limit itself (3x its reserve)",
                       args.seed, intake, light, 60});
  scenarios.push_back({"overload", "demand 3x the share on the default schedules, ERP at 10%",
                       args.seed, intake, heavy, 10});
  ScenarioSpec outage{
      "outage",  "light demand; every NF-e submitted 10:00-10:30 is stuck until 10:30",
      args.seed, intake,
      light,     10};
  outage.outage_start_ms = std::min<int64_t>(10 * kHourMs, intake / 2);
  outage.outage_end_ms = outage.outage_start_ms + 30 * kMinuteMs;
  scenarios.push_back(outage);
  return scenarios;
}

StrategyMetrics RunOne(const PolicyWorld& world, PolicyStrategy& strategy, double* seconds_out) {
  PolicySimulation::Options options;
  options.limit = kLimit;
  options.window_ms = kWindowMs;
  options.erp_reserve = kLimit - kShareCap;
  PolicySimulation simulation(world, options);
  const auto start = std::chrono::steady_clock::now();
  RunRecord record = simulation.Run(strategy);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  StrategyMetrics metrics = Summarize(world, record, strategy.Name(), kShareCap, kWindowMs);
  metrics.seconds = seconds;
  if (seconds_out != nullptr) *seconds_out = seconds;
  return metrics;
}

// The poll cost at which the oracle's optimal schedules spend `target` polls per document on
// this world, by bisection on log(cost) (expected polls fall as the cost rises).
double OracleCostFor(const PolicyWorld& world, double target) {
  double lo = std::log(1.0);
  double hi = std::log(1e9);
  for (int i = 0; i < 40; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (PlannedStrategy::OracleExpectedPolls(world, std::exp(mid)) > target) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return std::exp(0.5 * (lo + hi));
}

ScenarioResult RunScenario(const ScenarioSpec& spec, const std::vector<CompanySpec>& companies,
                           const Args& args) {
  const PolicyWorld world = PolicyWorld::Generate(spec, companies);
  const PollPolicy limits = PollPolicy::Defaults();
  ScenarioResult result;
  result.spec = spec;
  result.documents = static_cast<int64_t>(world.documents().size());

  std::vector<SimpleStrategy::Options> simple = {
      SimpleStrategy::Fixed(2'000),  SimpleStrategy::Fixed(5'000),
      SimpleStrategy::Fixed(10'000), SimpleStrategy::Fixed(30'000),
      SimpleStrategy::Fixed(60'000), SimpleStrategy::Backoff(1'000, 5 * kMinuteMs)};
  for (SimpleStrategy::Options& options : simple) {
    options.cap_per_window = kShareCap;
    options.window_ms = kWindowMs;
    SimpleStrategy strategy(world, limits, options);
    result.strategies.push_back(RunOne(world, strategy, nullptr));
    std::cerr << "  " << spec.name << "/" << options.name << " " << result.strategies.back().seconds
              << " s\n";
  }

  PlannedStrategy::Options gatilho_options;
  gatilho_options.name = "gatilho";
  gatilho_options.budget_share = kShare;
  gatilho_options.learner.poll_cost_ms = args.poll_cost_ms;
  PlannedStrategy gatilho(world, gatilho_options);
  StrategyMetrics g = RunOne(world, gatilho, nullptr);
  g.max_pressure = gatilho.max_pressure();
  std::cerr << "  " << spec.name << "/gatilho " << g.seconds << " s\n";
  result.strategies.push_back(g);

  // The same with the due watches read per token: not the daemon as it is, but what changes
  // if one token's backlog can no longer hide the other tokens' due polls from the planner.
  PlannedStrategy::Options per_token_options = gatilho_options;
  per_token_options.name = "gatilho-pt";
  per_token_options.batch_per_token = true;
  PlannedStrategy per_token(world, per_token_options);
  StrategyMetrics pt = RunOne(world, per_token, nullptr);
  pt.max_pressure = per_token.max_pressure();
  std::cerr << "  " << spec.name << "/gatilho-pt " << pt.seconds << " s\n";

  // The oracle spends what gatilho spent: its cost is set so that its optimal schedules expect
  // gatilho's credits per document, then corrected on what it really spent (the budget and the
  // outage make the simulation differ from the expectation).
  const double target = g.all.credits_per_doc;
  double aim = target;
  StrategyMetrics best;
  double best_cost = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    PlannedStrategy::Options oracle_options;
    oracle_options.name = "oracle";
    oracle_options.budget_share = kShare;
    oracle_options.oracle_cost_ms = OracleCostFor(world, aim);
    PlannedStrategy oracle(world, oracle_options);
    StrategyMetrics o = RunOne(world, oracle, nullptr);
    std::cerr << "  " << spec.name << "/oracle cost " << oracle_options.oracle_cost_ms
              << " ms: " << o.all.credits_per_doc << " credits/doc for " << target << ", "
              << o.seconds << " s\n";
    if (attempt == 0 ||
        std::abs(o.all.credits_per_doc - target) < std::abs(best.all.credits_per_doc - target)) {
      best = o;
      best_cost = oracle_options.oracle_cost_ms;
    }
    if (std::abs(o.all.credits_per_doc - target) <= 0.03 * target) break;
    aim *= target / std::max(o.all.credits_per_doc, 1e-3);
  }
  result.oracle_cost_ms = best_cost;
  result.strategies.push_back(best);
  result.strategies.push_back(pt);
  return result;
}

}  // namespace
}  // namespace gatilho::bench

int main(int argc, char** argv) {
  using namespace gatilho::bench;
  const Args args = Parse(argc, argv);
  const std::vector<CompanySpec> companies = PolicyWorld::StandardCompanies();
  const auto start = std::chrono::steady_clock::now();
  PolicyReport report;
  for (const ScenarioSpec& spec : Scenarios(args, companies)) {
    if (!args.only.empty() && spec.name != args.only) continue;
    report.Add(RunScenario(spec, companies, args));
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.PrintTable(std::cout);
  const std::vector<TargetVerdict> verdicts = report.Evaluate();
  PolicyReport::PrintVerdicts(std::cout, verdicts);
  std::cout << "\nsimulated in " << total << " s\n";
  if (!args.json.empty() && !report.WriteJson(args.json, verdicts, total)) {
    std::cerr << "cannot write " << args.json << "\n";
    return 1;
  }
  if (!args.plot_data.empty() && !report.WritePlotData(args.plot_data)) {
    std::cerr << "cannot write " << args.plot_data << "\n";
    return 1;
  }
  return 0;
}
