// BenchReceiver: an ERP webhook endpoint on 127.0.0.1 for the delivery benchmark.
//
// It accepts any number of HTTP/1.1 keep-alive connections and answers every request with one
// status, at once or after a fixed delay; a delayed answer waits on a timer, so one slow
// endpoint can hold hundreds of answers without holding a thread each. For every request it
// records when the request had been read in full (steady clock, the same clock the benchmark
// reads on its own thread) and its webhook-id, and it counts how many requests it held
// unanswered at once.
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
    int delay_ms = 0;  // how long each answer is held
  };

  struct Arrival {
    std::string webhook_id;
    int64_t steady_ns = 0;  // std::chrono::steady_clock, nanoseconds since its epoch
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

  // The most requests held unanswered at once since the start, and connections accepted.
  size_t max_held() const;
  size_t connections() const;

  struct Impl;  // the server's state, shared with its sessions in the .cc

 private:
  explicit BenchReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatilho::bench
