// The delivery benchmark's figures: what each try measured, and the report that prints every try
// as it ends, then the medians as a table, and writes everything as one JSON object.
//
// Threads: the benchmark's main thread only. Lifetime: one Report per run.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gatilho::bench {

struct Settings {
  std::string work;
  std::string out;
  size_t events = 20'000;              // A, B and B2: fast's backlog
  size_t slow_events = 2'000;          // B and B2: slow's backlog (0 skips both)
  int slow_delay_ms = 5'000;           // B and B2: how long slow holds each answer
  size_t default_cap = 8;              // B's slow and C's max_in_flight: the gate's default
  size_t same_host_slow_cap = 16;      // B2's slow max_in_flight
  std::vector<size_t> caps = {8, 32};  // fast's max_in_flight
  int repeats = 3;
  double rate = 200;          // C: events committed per second
  double seconds = 10;        // C: for this long
  int poll_concurrency = 16;  // sizes the HttpClient as `gatilho run` would
  std::string log_level = "info";
  std::string load;  // `uptime` before the run, as given
  std::string note;  // what else ran on the machine, as given
};

// Where company "slow" is in a try of A, B or B2: absent (A), behind a host of its own (B), or
// behind another path of fast's host and port (B2), where libcurl's per-host limit counts both
// endpoints together.
enum class SlowPlace { kNone, kOwnHost, kSameHost };

// Whether every event was delivered exactly once.
struct DeliveryCheck {
  size_t expected = 0;
  size_t delivered_in_store = 0;  // in state delivered at the end
  size_t retried = 0;             // delivered, but not at the first attempt
  size_t arrivals = 0;            // requests the receiver read
  size_t duplicates = 0;          // arrivals whose webhook-id had arrived before
  size_t never_arrived = 0;       // events whose webhook-id the receiver never saw

  bool Clean() const {
    return delivered_in_store == expected && retried == 0 && duplicates == 0 && never_arrived == 0;
  }
};

// One try of A (alone), B or B2 (beside slow).
struct FastTry {
  double seed_seconds = 0;
  double seconds = 0;  // first Pump() to the last fast delivery recorded in the store
  double events_per_second = 0;
  double loop_cpu_ms_per_1000 = 0;     // the dispatcher's thread: what the daemon spends
  double process_cpu_ms_per_1000 = 0;  // with the receivers' threads
  double loop_cpu_share = 0;           // CPU seconds of the loop thread per wall second
  uint64_t fast_failed_answers = 0;
  size_t fast_max_in_flight = 0;
  size_t fast_connections = 0;  // TCP connections the fast receiver accepted (B2: slow's too)
  DeliveryCheck fast_check;
  // B and B2 only.
  uint64_t slow_completed = 0;    // slow deliveries recorded by the time fast was done
  size_t slow_max_in_flight = 0;  // seen by the HttpClient: started, not yet answered
  size_t slow_max_held = 0;       // seen by the slow receiver: delayed, not yet answered
  size_t slow_connections = 0;    // B only: B2's receiver cannot tell whose a connection is
};

struct Percentiles {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
};

// Nearest-rank percentiles of `values` (which it sorts).
Percentiles Summarise(std::vector<double>& values);

// One try of C.
struct DelayTry {
  size_t events = 0;
  double achieved_rate = 0;  // commits per second, first to last
  Percentiles delay;         // ms from the commit to the receiver's arrival
  DeliveryCheck check;
};

class Report {
 public:
  explicit Report(const Settings& settings) : settings_(settings) {}

  void Start(const std::string& machine_line, boost::json::object machine);
  void Alone(size_t cap, int attempt, const FastTry& result);
  void WithSlow(size_t cap, int attempt, const FastTry& result);
  void SameHost(size_t cap, int attempt, const FastTry& result);
  void Delay(int attempt, const DelayTry& result);
  // Prints the medians and writes the JSON file.
  void Finish();

 private:
  const Settings& settings_;
  boost::json::object root_;
  std::map<size_t, std::vector<FastTry>> alone_;
  std::map<size_t, std::vector<FastTry>> with_slow_;
  std::map<size_t, std::vector<FastTry>> same_host_;
  std::vector<DelayTry> delay_;
};

}  // namespace gatilho::bench
