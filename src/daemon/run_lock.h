// RunLock: at most one `gatilho run` works on a data directory at a time.
//
// Two daemons (or a daemon and a cron `--once`, or two overlapping cron runs) on the same store
// would poll every document twice and race on deliveries. The lock is an flock() on a file in
// the data directory: the kernel releases it when the process dies, so a crash never leaves a
// stale lock behind. `gatilho watch` and `gatilho status` do not take it.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace gatilho {

class RunLock {
 public:
  // Takes the lock, waiting up to wait_ms for a holder to finish. Fails with kUnavailable when
  // another process still holds it, with a message saying which file and what to do.
  static Result<std::unique_ptr<RunLock>> Acquire(const std::string& data_dir, int wait_ms);

  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace gatilho
