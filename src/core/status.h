// Status: the error value that crosses module boundaries.
//
// Every module turns the errors of what it calls (errno, LMDB codes, CURLcode, Boost exceptions)
// into a Status at its edge, with a message that names the thing involved (file, key, URL) and,
// where there is one, what the operator can do. A Status never carries a token or a secret.
#pragma once

#include <string>
#include <string_view>

namespace gatilho {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,           // the thing asked for does not exist
    kInvalidArgument,    // bad input from a user or a config file
    kIoError,            // the operating system refused (disk, permissions, sockets)
    kCorruption,         // stored data that cannot be decoded
    kUnavailable,        // a peer or resource is temporarily not usable; retry later
    kResourceExhausted,  // a bound was hit (map size, queue, response size)
    kPermissionDenied,   // a peer refused our credentials
    kInternal,           // a broken invariant: a bug
  };

  // An OK status.
  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status InvalidArgument(std::string message) {
    return {Code::kInvalidArgument, std::move(message)};
  }
  static Status IoError(std::string message) { return {Code::kIoError, std::move(message)}; }
  static Status Corruption(std::string message) { return {Code::kCorruption, std::move(message)}; }
  static Status Unavailable(std::string message) {
    return {Code::kUnavailable, std::move(message)};
  }
  static Status ResourceExhausted(std::string message) {
    return {Code::kResourceExhausted, std::move(message)};
  }
  static Status PermissionDenied(std::string message) {
    return {Code::kPermissionDenied, std::move(message)};
  }
  static Status Internal(std::string message) { return {Code::kInternal, std::move(message)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK", or the code's name and the message, e.g. "not found: watch acme/nfe/X".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view StatusCodeName(Status::Code code);

}  // namespace gatilho
