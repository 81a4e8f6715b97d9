// FaultInjector: decides, per request, whether the simulated API misbehaves the way real gateways
// do (5xx, truncated JSON, an HTML error page, a dropped connection) and how much latency to add.
// Settings can be replaced while requests are served. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace gatilho::sim {

struct FaultSettings {
  // Probabilities in [0, 1]; they are exclusive per request, tried in this order.
  double fault_5xx = 0;
  double fault_malformed = 0;
  double fault_html = 0;
  double fault_drop = 0;
  int latency_ms = 0;  // added to every answer, faulty or not
};

enum class Fault { kNone, kServerError, kMalformed, kHtml, kDrop };

class FaultInjector {
 public:
  explicit FaultInjector(const FaultSettings& settings) : settings_(settings) {}

  // Replaces every setting at once.
  void Set(const FaultSettings& settings);
  FaultSettings Get() const;

  // Draws the fault for one request and counts it if there is one.
  Fault Draw();
  int64_t injected() const { return injected_.load(); }

 private:
  mutable std::mutex mu_;
  FaultSettings settings_;  // GUARDED_BY(mu_)
  std::atomic<int64_t> injected_{0};
};

}  // namespace gatilho::sim
