// ChangeNotifier: how a `gatilho watch` in another process wakes a running daemon at once.
//
// The CLI commits its watches to the store and then calls Notify(), which rewrites a small file
// named "wake" in the data directory. The daemon holds an inotify handle on that directory and
// waits on it together with its sockets, so a new watch is noticed within milliseconds without
// the daemon reading LMDB in a loop. If the notification is lost (the file could not be
// written) nothing breaks: the daemon still re-reads the schedule at least once a minute.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace gatilho {

class ChangeNotifier {
 public:
  // Starts listening for notifications in `data_dir`.
  static Result<std::unique_ptr<ChangeNotifier>> Listen(const std::string& data_dir);

  // Tells a daemon listening on `data_dir` that the store changed. Best effort.
  static Status Notify(const std::string& data_dir);

  ~ChangeNotifier();
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // The descriptor that becomes readable on a notification.
  int fd() const { return fd_; }

  // Consumes pending notifications; returns whether any was a "wake".
  bool Drain();

 private:
  explicit ChangeNotifier(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace gatilho
