// PolicyMetrics: what one strategy achieved on one scenario, from a RunRecord.
#pragma once

#include <cstdint>
#include <string>

#include "policy_simulation.h"
#include "policy_world.h"

namespace gatilho::bench {

struct PeriodMetrics {
  int64_t docs = 0;
  int64_t detected = 0;
  int64_t timeouts = 0;        // still processing at the type's maximum age (or abandoned)
  double credits_per_doc = 0;  // requests sent for these documents, 429s included
  double mean_s = 0;           // detection delay, seconds
  double p50_s = 0;
  double p95_s = 0;
  double p99_s = 0;
  double max_s = 0;
  int64_t requests = 0;  // sent in the period (by time), 429s included
  int64_t caused_429 = 0;
  int64_t erp_requests = 0;
  int64_t erp_refused = 0;
  int64_t erp_refused_within_reserve = 0;
  // Requests sent during the intake (or the part of it in the period) / what the share allows
  // then (80 per minute per token).
  double budget_used = 0;
};

struct StrategyMetrics {
  std::string name;
  PeriodMetrics all;
  PeriodMetrics first_hour;  // documents submitted, and requests sent, in the first hour
  PeriodMetrics rest;
  double max_pressure = 1;  // gatilho only
  int64_t spins = 0;
  double seconds = 0;  // wall time the simulation took
};

// `share_cap`: credits per window the bridge may use on one token (80 of 100).
StrategyMetrics Summarize(const PolicyWorld& world, const RunRecord& record,
                          const std::string& name, int64_t share_cap, int64_t window_ms);

}  // namespace gatilho::bench
