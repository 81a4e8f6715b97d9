#include "config/config_errors.h"

#include <utility>

namespace gatilho {

void ConfigErrors::Add(std::string message) {
  messages_.push_back(std::move(message));
}

void ConfigErrors::AddStatus(const Status& status) {
  if (status.ok()) return;
  // An unreadable file is the operating system's refusal rather than a typo, and the CLI maps the
  // two to different exit codes; one I/O failure is enough to make the whole load one.
  if (status.code() == Status::Code::kIoError) io_error_ = true;
  messages_.push_back(status.message());
}

Status ConfigErrors::ToStatus() const {
  if (messages_.empty()) return Status::Ok();
  std::string joined;
  for (const std::string& message : messages_) {
    if (!joined.empty()) joined += '\n';
    joined += message;
  }
  return io_error_ ? Status::IoError(std::move(joined))
                   : Status::InvalidArgument(std::move(joined));
}

}  // namespace gatilho
