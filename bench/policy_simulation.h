// PolicySimulation: replays one PolicyWorld through one strategy in virtual time.
//
// Event-driven: the next event is the earliest of a submission, an ERP request, a poll's answer
// arriving and the time the strategy asked to be woken, so a simulated day of idle minutes costs
// nothing. The truth (when each document finishes) lives here; the strategy sees only answers.
#pragma once

#include <cstdint>
#include <vector>

#include "policy_api.h"
#include "policy_strategy.h"
#include "policy_world.h"

namespace gatilho::bench {

struct RunRecord {
  std::vector<int64_t> polls;        // per document: requests sent for it, 429s included
  std::vector<int64_t> detected_ms;  // per document: first accepted poll at or after done; -1
  ApiRateLimit::Counters api[2];     // before the split time and from it on
  int64_t split_ms = 0;
  int64_t end_ms = 0;           // time of the last event
  int64_t polls_in_intake = 0;  // requests sent while documents were still submitted
  int64_t spins = 0;            // wake-ups that sent nothing and asked again at once
};

class PolicySimulation {
 public:
  struct Options {
    int64_t limit = 100;  // credits per window per token
    int64_t window_ms = 60'000;
    int64_t erp_reserve = 20;         // the ERP's part of the limit, for counting its refusals
    int64_t split_ms = kHourMs;       // the first hour is reported apart
    int64_t min_latency_ms = 150;     // an answer arrives this much after its poll, plus up to
    int64_t latency_spread_ms = 300;  // this much, drawn per poll from a fixed hash
  };

  PolicySimulation(const PolicyWorld& world, Options options);

  RunRecord Run(PolicyStrategy& strategy);

 private:
  const PolicyWorld& world_;
  Options options_;
};

}  // namespace gatilho::bench
