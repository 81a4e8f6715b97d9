#include "support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace gatilho::testing {

std::unique_ptr<Subprocess> Subprocess::Start(const std::string& binary,
                                              const std::vector<std::string>& args,
                                              const Env& extra_env, std::string* error) {
  auto fail = [error](const std::string& what, int code) -> std::unique_ptr<Subprocess> {
    if (error != nullptr) *error = what + ": " + std::strerror(code);
    return nullptr;
  };
  int pipe_fds[2];
  // Close-on-exec on both ends: dup2 onto the child's stdout clears it there, and no other child
  // started concurrently by the test inherits this pipe and holds it open.
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return fail("pipe2", errno);

  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry)
    env_storage.emplace_back(*entry);
  for (const auto& [name, value] : extra_env)
    env_storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_storage)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return fail("posix_spawn " + binary, rc);
  }
  return std::unique_ptr<Subprocess>(new Subprocess(pid, pipe_fds[0]));
}

Subprocess::~Subprocess() {
  if (!exit_status_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  // The child is gone, so its end of the pipe is closed and the drainer sees end of file.
  if (drainer_.joinable()) drainer_.join();
  close(stdout_fd_);
}

std::optional<std::string> Subprocess::ReadLine(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const std::size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{stdout_fd_, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buffer[4096];
    const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

void Subprocess::Drain(DrainMode mode) {
  if (drainer_.joinable()) return;
  drainer_ = std::thread([this, mode, pending = std::move(pending_)]() mutable {
    char buffer[4096];
    for (;;) {
      const std::size_t newline = pending.find('\n');
      if (newline != std::string::npos) {
        if (mode == DrainMode::kCollect) {
          std::lock_guard lock(collected_mu_);
          collected_.push_back(pending.substr(0, newline));
        }
        pending.erase(0, newline + 1);
        continue;
      }
      const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      pending.append(buffer, static_cast<std::size_t>(n));
    }
  });
  pending_.clear();
}

std::vector<std::string> Subprocess::CollectedLines() const {
  std::lock_guard lock(collected_mu_);
  return collected_;
}

void Subprocess::Signal(int signal) {
  if (!exit_status_) kill(pid_, signal);
}

int Subprocess::Wait() {
  if (exit_status_) return *exit_status_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      exit_status_ = -1;
      return -1;
    }
  }
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return *exit_status_;
}

int WaitForListeningPort(Subprocess& process, int timeout_ms) {
  constexpr std::string_view kPrefix = "listening on http://127.0.0.1:";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    const std::optional<std::string> line = process.ReadLine(static_cast<int>(left.count()));
    if (!line) return -1;
    if (line->rfind(kPrefix, 0) != 0) continue;
    try {
      return std::stoi(line->substr(kPrefix.size()));
    } catch (const std::exception&) {
      return -1;
    }
  }
}

}  // namespace gatilho::testing
