#include "daemon/change_notifier.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace gatilho {

namespace {

constexpr char kWakeFile[] = "wake";

std::string ErrnoText(int err) {
  return std::system_category().message(err);
}

}  // namespace

Result<std::unique_ptr<ChangeNotifier>> ChangeNotifier::Listen(const std::string& data_dir) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::IoError("inotify_init1: " + ErrnoText(errno));
  // IN_CLOSE_WRITE fires once per Notify(); LMDB's own writes to data.mdb keep the file open
  // and so do not wake us.
  if (inotify_add_watch(fd, data_dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    int err = errno;
    close(fd);
    return Status::IoError("cannot watch " + data_dir + " for changes: " + ErrnoText(err));
  }
  return std::unique_ptr<ChangeNotifier>(new ChangeNotifier(fd));
}

Status ChangeNotifier::Notify(const std::string& data_dir) {
  std::string path = data_dir + "/" + kWakeFile;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot write " + path + ": " + ErrnoText(errno));
  ssize_t written = write(fd, "1", 1);
  int err = errno;
  close(fd);
  if (written != 1) return Status::IoError("cannot write " + path + ": " + ErrnoText(err));
  return Status::Ok();
}

ChangeNotifier::~ChangeNotifier() {
  close(fd_);
}

bool ChangeNotifier::Drain() {
  bool woken = false;
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    ssize_t n = read(fd_, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0 && std::strcmp(event->name, kWakeFile) == 0) woken = true;
      p += sizeof(inotify_event) + event->len;
    }
  }
  return woken;
}

}  // namespace gatilho
