// Subprocess: a child process started from a test, with its stdout readable line by line.
//
// The child inherits stderr (so its complaints show in the test log) and the test's environment
// plus any extra variables. Lines are read with a timeout. Once the test has read what it needs,
// it should call Drain(): the rest of stdout is then read on a background thread, so a chatty child
// never blocks on a full pipe. The destructor kills (SIGKILL) and reaps a child still running.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gatilho::testing {

class Subprocess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Starts `binary` with `args` (argv[1..]). Returns nullptr, with the reason in `error` when
  // given, if the process cannot be started.
  static std::unique_ptr<Subprocess> Start(const std::string& binary,
                                           const std::vector<std::string>& args,
                                           const Env& extra_env = {}, std::string* error = nullptr);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // The next stdout line without its newline, or nullopt on timeout or end of output.
  // REQUIRES: Drain() has not been called.
  std::optional<std::string> ReadLine(int timeout_ms);

  enum class DrainMode { kDiscard, kCollect };
  // Reads the rest of stdout on a background thread, keeping the lines when kCollect.
  void Drain(DrainMode mode);
  // The lines kept by Drain(kCollect) so far.
  std::vector<std::string> CollectedLines() const;

  // Sends `signal` to the child. No effect once it has been reaped.
  void Signal(int signal);
  // Waits for the child to end and returns its exit status, or 128 + the signal that killed it.
  int Wait();

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;
  std::optional<int> exit_status_;
  std::string pending_;  // bytes read past the last returned line
  std::thread drainer_;
  mutable std::mutex collected_mu_;
  std::vector<std::string> collected_;  // GUARDED_BY(collected_mu_)
};

// Reads lines until one is `listening on http://127.0.0.1:PORT` and returns PORT, or -1 when no
// such line arrives within `timeout_ms`.
int WaitForListeningPort(Subprocess& process, int timeout_ms);

}  // namespace gatilho::testing
