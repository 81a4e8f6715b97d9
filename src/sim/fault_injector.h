// FaultInjector: decides, per request, whether the simulated API misbehaves the way real gateways
// do (5xx, truncated JSON, an HTML error page, a dropped or reset connection, an answer cut off
// before its Content-Length, an answer held past the client's patience, a 429) and how much
// latency to add. It also runs 429 storms: windows in which every request is refused.
// Settings can be replaced while requests are served; the injected faults are counted by kind.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace gatilho::sim {

struct FaultSettings {
  // Probabilities in [0, 1]; they are exclusive per request, tried in this order.
  double fault_5xx = 0;
  double fault_malformed = 0;
  double fault_html = 0;
  double fault_drop = 0;
  double fault_timeout = 0;
  double fault_truncated = 0;
  double fault_reset = 0;
  double fault_429 = 0;
  int latency_ms = 0;  // added to every answer, faulty or not
  // How long a timeout fault holds its answer: beyond the daemon's 20 s poll timeout.
  int timeout_ms = 30'000;
  // 429 storms. With storm_every_ms > 0, a storm of storm_ms begins every storm_every_ms, the
  // first one period after the settings took effect; with storm_every_ms == 0 and storm_ms > 0,
  // one storm begins at once. During a storm every API request is answered 429.
  int storm_ms = 0;
  int storm_every_ms = 0;
};

enum class Fault {
  kNone,
  kServerError,
  kMalformed,
  kHtml,
  kDrop,
  kTimeout,
  kTruncated,
  kReset,
  kTooManyRequests,  // a lone 429
  kStorm,            // a 429 inside a storm
};
inline constexpr std::size_t kFaultKinds = static_cast<std::size_t>(Fault::kStorm) + 1;

// The name of a fault kind in /__sim/stats ("5xx", "timeout", "storm_429", ...).
std::string_view FaultName(Fault fault);

struct FaultDraw {
  Fault fault = Fault::kNone;
  // For 429s: the seconds the client should wait (the storm's rest, at least 1).
  int retry_after_s = 0;
};

class FaultInjector {
 public:
  // `now_ms` is a monotonic reading; the storm schedule starts from it.
  FaultInjector(const FaultSettings& settings, int64_t now_ms);

  // Replaces every setting at once; the storm schedule restarts from now_ms.
  void Set(const FaultSettings& settings, int64_t now_ms);
  FaultSettings Get() const;

  // Draws the fault for one request at monotonic time now_ms and counts it if there is one.
  FaultDraw Draw(int64_t now_ms);

  // Faults injected since start: in all, of one kind, and the storms that refused a request.
  int64_t injected() const { return injected_.load(); }
  int64_t injected(Fault fault) const { return by_kind_[static_cast<std::size_t>(fault)].load(); }
  int64_t storms() const { return storms_.load(); }

 private:
  // The storm window now_ms falls in (its number and its end), or nothing. REQUIRES: mu_ held.
  bool InStorm(int64_t now_ms, int64_t* index, int64_t* ends_ms) const;

  mutable std::mutex mu_;
  FaultSettings settings_;           // GUARDED_BY(mu_)
  int64_t set_at_ms_ = 0;            // GUARDED_BY(mu_)
  int64_t last_storm_counted_ = -1;  // GUARDED_BY(mu_)
  std::atomic<int64_t> injected_{0};
  std::array<std::atomic<int64_t>, kFaultKinds> by_kind_{};
  std::atomic<int64_t> storms_{0};
};

}  // namespace gatilho::sim
