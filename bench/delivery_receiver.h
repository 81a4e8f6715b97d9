// BenchReceiver: an ERP webhook endpoint on 127.0.0.1 for the delivery benchmark.
//
// It accepts any number of HTTP/1.1 keep-alive connections and answers every request with one
// status, at once or after a fixed delay; the delay can be kept to the paths under one prefix,
// so that one receiver stands for an ERP host with a slow endpoint beside a fast one. A delayed
// answer waits on a timer, so one slow endpoint can hold hundreds of answers without holding a
// thread each. For every request it records when the request had been read in full (steady
// clock, the same clock the benchmark reads on its own thread), its webhook-id and whether it
// was delayed, and it counts how many answers it held back at once.
//
// Threads: the server runs on one thread of its own; every accessor is thread-safe. Lifetime:
// the destructor stops the thread and closes every connection, answered or not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace gatilho::bench {

class BenchReceiver {
 public:
  struct Options {
    int status = 204;
    int delay_ms = 0;  // how long each delayed answer is held
    // Only requests whose target starts with this are delayed; the rest are answered at once.
    // Empty delays every request.
    std::string delayed_path;
  };

  struct Arrival {
    std::string webhook_id;
    int64_t steady_ns = 0;  // std::chrono::steady_clock, nanoseconds since its epoch
    bool delayed = false;   // answered only after the delay
  };

  // Listens on an ephemeral port of 127.0.0.1 and starts serving.
  static Result<std::unique_ptr<BenchReceiver>> Start(const Options& options);

  ~BenchReceiver();
  BenchReceiver(const BenchReceiver&) = delete;
  BenchReceiver& operator=(const BenchReceiver&) = delete;

  // "http://127.0.0.1:PORT" + path.
  std::string Url(const std::string& path) const;

  // The arrivals recorded so far, in arrival order, and forgets them.
  std::vector<Arrival> TakeArrivals();

  // The most delayed answers held back at once since the start, and connections accepted.
  size_t max_held() const;
  size_t connections() const;

  struct Impl;  // the server's state, shared with its sessions in the .cc

 private:
  explicit BenchReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatilho::bench
