#include "daemon/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>
#include <thread>

namespace gatilho {

Result<std::unique_ptr<RunLock>> RunLock::Acquire(const std::string& data_dir, int wait_ms) {
  std::string path = data_dir + "/run.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("cannot open " + path + ": " + std::system_category().message(errno) +
                           "; check the permissions of data_dir");
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return std::unique_ptr<RunLock>(new RunLock(fd));
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) break;
    // flock has no timed wait; a short sleep keeps this simple and the wait bounded.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  close(fd);
  return Status::Unavailable("another gatilho run is using " + data_dir + " (it holds " + path +
                             "); stop it first, or give each instance its own data_dir");
}

RunLock::~RunLock() {
  close(fd_);
}

}  // namespace gatilho
