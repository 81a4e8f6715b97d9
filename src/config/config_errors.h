// ConfigErrors: the problems found while loading configuration, collected so that one run of
// `gatilho` tells the operator about all of them instead of one per attempt.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.h"

namespace gatilho {

class ConfigErrors {
 public:
  // Records a mistake in a config file. `message` must already name the file (and line).
  void Add(std::string message);

  // Records a non-OK status as it is, keeping whether it was an I/O failure.
  void AddStatus(const Status& status);

  // How many problems were recorded so far.
  size_t size() const { return messages_.size(); }

  // OK when nothing was recorded. Otherwise one status with the messages in the order they were
  // recorded, one per line: IoError when any of them was an I/O failure, InvalidArgument if not.
  Status ToStatus() const;

 private:
  std::vector<std::string> messages_;
  bool io_error_ = false;
};

}  // namespace gatilho
