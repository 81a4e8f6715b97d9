#include "api/spool_folder.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <system_error>
#include <vector>

namespace gatilho {
namespace {

namespace fs = std::filesystem;

constexpr char kProcessing[] = "processing";
constexpr char kDone[] = "done";
constexpr char kRejected[] = "rejected";

std::string ErrnoText(int err) {
  return std::system_category().message(err);
}

// Names the ERP uses while it writes; the final name comes with a rename.
bool IsIgnoredName(const std::string& name) {
  return name.empty() || name.front() == '.' || name.ends_with(".tmp") || name.ends_with(".part");
}

// A rename is durable once the folders that lost and gained the entry are synced.
void SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (fsync(fd) != 0) {
    spdlog::warn("spool: fsync of {} failed: {}; a crash now could undo the last move", dir,
                 ErrnoText(errno));
  }
  close(fd);
}

// Renames `from` to `to_dir/name`, or to `to_dir/name.N` with the first free N; returns the
// name used, or nullopt with errno set.
std::optional<std::string> RenameWithoutReplacing(const std::string& from,
                                                  const std::string& to_dir,
                                                  const std::string& name) {
  for (int n = 0; n < 10'000; ++n) {
    std::string candidate = n == 0 ? name : name + "." + std::to_string(n);
    std::string to = to_dir + "/" + candidate;
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
      return candidate;
    }
    if (errno == EEXIST) continue;
    if (errno != EINVAL && errno != ENOSYS) return std::nullopt;
    // A file system without RENAME_NOREPLACE: check, then rename. Only this daemon writes
    // there, so the gap between the two is harmless.
    struct stat st;
    if (lstat(to.c_str(), &st) == 0) continue;
    if (rename(from.c_str(), to.c_str()) == 0) return candidate;
    return std::nullopt;
  }
  errno = EEXIST;
  return std::nullopt;
}

// Writes `contents` to `path` through a temporary name, synced, so a reader never sees half.
bool WriteFileDurably(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n <= 0) {
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    written += static_cast<size_t>(n);
  }
  bool ok = fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// Reads at most max_bytes + 1 bytes, so an oversized file is recognised without reading it all.
Result<std::string> ReadPrefix(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + ErrnoText(errno));
  std::string text;
  char buffer[64 * 1024];
  while (text.size() <= max_bytes) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::IoError("cannot read " + path + ": " + ErrnoText(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

// "acme 3, beta 1": how many watches of each company a file registered.
std::string PerCompany(const std::vector<WatchKey>& keys) {
  std::map<std::string, size_t> counts;
  for (const WatchKey& key : keys)
    ++counts[key.company];
  std::string out;
  for (const auto& [company, count] : counts) {
    if (!out.empty()) out += ", ";
    out += company + " " + std::to_string(count);
  }
  return out;
}

std::string OneLine(std::string text) {
  for (size_t at = text.find("\n  "); at != std::string::npos; at = text.find("\n  "))
    text.replace(at, 3, " ");
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace

Result<std::unique_ptr<SpoolFolder>> SpoolFolder::Create(Options options, Store& store,
                                                         const Clock& clock, IntakeLink* link) {
  for (const char* sub : {"", kProcessing, kDone, kRejected}) {
    std::string path = *sub ? options.dir + "/" + sub : options.dir;
    std::error_code error;
    fs::create_directories(path, error);
    if (error || !fs::is_directory(path, error)) {
      return Status::IoError("cannot create the spool folder " + path + ": " +
                             (error ? error.message() : "not a folder") +
                             "; check spool_dir and the permissions of its parent");
    }
  }
  return std::unique_ptr<SpoolFolder>(new SpoolFolder(std::move(options), store, clock, link));
}

SpoolFolder::SpoolFolder(Options options, Store& store, const Clock& clock, IntakeLink* link)
    : options_(std::move(options)), store_(store), clock_(clock), link_(link) {
  companies_ = std::move(options_.companies);
}

SpoolFolder::~SpoolFolder() {
  Stop();
}

void SpoolFolder::SetCompanies(SpoolCompanies companies) {
  std::lock_guard<std::mutex> lock(companies_mu_);
  companies_ = std::move(companies);
}

Status SpoolFolder::Start() {
  if (thread_.joinable()) return Status::Ok();
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return Status::IoError("inotify_init1: " + ErrnoText(errno));
  if (inotify_add_watch(inotify_fd_, options_.dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    int err = errno;
    close(inotify_fd_);
    inotify_fd_ = -1;
    return Status::IoError("cannot watch the spool folder " + options_.dir + ": " + ErrnoText(err));
  }
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    close(inotify_fd_);
    inotify_fd_ = -1;
    return Status::IoError("eventfd: " + ErrnoText(errno));
  }
  PassCounts counts;
  Recover(&counts);
  spdlog::info("spool: taking watch files from {}", options_.dir);
  thread_ = std::thread([this] { RunThread(); });
  return Status::Ok();
}

void SpoolFolder::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof(one)) < 0) {
      spdlog::warn("spool: cannot wake the intake thread to stop: {}", ErrnoText(errno));
    }
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

SpoolFolder::PassCounts SpoolFolder::TakeAll() {
  PassCounts counts;
  Recover(&counts);
  Scan({}, &counts);
  return counts;
}

void SpoolFolder::RunThread() {
  // Files that were there before the thread started (the daemon was down) are taken at once.
  PassCounts counts;
  Scan({}, &counts);
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, static_cast<int>(options_.rescan_ms));
    if (ready < 0 && errno != EINTR) {
      spdlog::error("spool: poll failed: {}; the spool folder is no longer read until restart",
                    ErrnoText(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    std::set<std::string> fresh;
    if (fds[1].revents != 0) {
      alignas(inotify_event) char buffer[8192];
      for (;;) {
        ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
        if (n <= 0) break;
        for (char* p = buffer; p < buffer + n;) {
          auto* event = reinterpret_cast<inotify_event*>(p);
          if (event->len > 0) fresh.insert(event->name);
          p += sizeof(inotify_event) + event->len;
        }
      }
    }
    if (ready == 0 && retry_processing_.exchange(false)) Recover(&counts);
    Scan(fresh, &counts);
  }
}

void SpoolFolder::Scan(const std::set<std::string>& fresh, PassCounts* counts) {
  std::vector<std::string> names;
  std::error_code error;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(options_.dir, error), end; !error && it != end;
       it.increment(error)) {
    std::string name = it->path().filename().string();
    if (IsIgnoredName(name)) continue;
    std::error_code entry_error;
    if (!it->is_regular_file(entry_error) || it->is_symlink(entry_error)) continue;
    if (fresh.count(name) == 0) {
      // Written in place and maybe not finished: taken once it has been still for settle_ms.
      auto mtime = it->last_write_time(entry_error);
      if (entry_error) continue;
      if (now - mtime < std::chrono::milliseconds(options_.settle_ms)) continue;
    }
    names.push_back(std::move(name));
  }
  if (error) {
    spdlog::warn("spool: cannot list {}: {}; trying again in {} ms", options_.dir, error.message(),
                 options_.rescan_ms);
    return;
  }
  std::sort(names.begin(), names.end());
  const std::string processing = options_.dir + "/" + kProcessing;
  for (const std::string& name : names) {
    std::string from = options_.dir + "/" + name;
    std::string to = processing + "/" + name;
    // The claim: whoever renames first owns the file. RENAME_NOREPLACE keeps a second file of
    // the same name, dropped while the first is still being processed, from replacing it.
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == ENOENT || errno == EEXIST) continue;
      if ((errno == EINVAL || errno == ENOSYS) && rename(from.c_str(), to.c_str()) == 0) {
        // claimed on a file system without RENAME_NOREPLACE
      } else {
        spdlog::warn("spool: cannot move {} into {}: {}; it stays where it is", from, processing,
                     ErrnoText(errno));
        continue;
      }
    }
    SyncDir(options_.dir);
    SyncDir(processing);
    Process(name, /*recovering=*/false, counts);
  }
}

void SpoolFolder::Recover(PassCounts* counts) {
  std::vector<std::string> names;
  std::error_code error;
  const std::string processing = options_.dir + "/" + kProcessing;
  for (fs::directory_iterator it(processing, error), end; !error && it != end;
       it.increment(error)) {
    std::string name = it->path().filename().string();
    std::error_code entry_error;
    if (!IsIgnoredName(name) && it->is_regular_file(entry_error)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    spdlog::info("spool: finishing {}, left in {} by an earlier run", name, processing);
    Process(name, /*recovering=*/true, counts);
  }
}

void SpoolFolder::Process(const std::string& name, bool recovering, PassCounts* counts) {
  const std::string path = options_.dir + "/" + kProcessing + "/" + name;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // another instance finished it
    st.st_ctim = {std::numeric_limits<time_t>::max(), 0};
  }
  Result<std::string> text = ReadPrefix(path, options_.limits.max_bytes);
  if (!text.ok()) {
    if (stat(path.c_str(), &st) != 0 && errno == ENOENT) return;
    spdlog::error("spool: {}; it stays in processing/ and is tried again", text.status().message());
    ++counts->failed;
    retry_processing_ = true;
    return;
  }
  Result<std::vector<WatchKey>> keys = [&] {
    std::lock_guard<std::mutex> lock(companies_mu_);
    return ParseSpoolFile(*text, companies_, options_.limits);
  }();
  if (!keys.ok()) {
    Reject(name, keys.status().message(), counts);
    return;
  }
  std::vector<WatchKey> to_register = *keys;
  if (recovering) {
    // The crash may have come after the store took this file. A watch whose cycle started
    // after the claim (the rename into processing/ set the file's ctime) has what the file
    // asks for, and registering it again would re-open it if it finished since.
    int64_t claimed_ms = st.st_ctim.tv_sec == std::numeric_limits<time_t>::max()
                             ? std::numeric_limits<int64_t>::max()
                             : int64_t{st.st_ctim.tv_sec} * 1000 + st.st_ctim.tv_nsec / 1'000'000;
    std::erase_if(to_register, [&](const WatchKey& key) {
      Result<WatchRecord> record = store_.GetWatch(key);
      return record.ok() && record->cycle_started_ms >= claimed_ms;
    });
  }
  int64_t now = clock_.WallMs();
  int64_t first_poll = options_.first_poll ? options_.first_poll(*keys, now) : now;
  Result<std::vector<Store::AddOutcome>> added =
      to_register.empty() ? std::vector<Store::AddOutcome>{}
                          : store_.AddWatches(to_register, now, first_poll);
  if (!added.ok()) {
    spdlog::error(
        "spool: the store did not take the watches of {}: {}; the file stays in processing/ and "
        "is tried again in {} ms. Check the disk and data_dir",
        name, added.status().ToString(), options_.rescan_ms);
    ++counts->failed;
    retry_processing_ = true;
    return;
  }
  if (link_ != nullptr && !to_register.empty()) link_->StoreChanged();
  size_t created = 0;
  for (const Store::AddOutcome& outcome : *added)
    created += outcome.created || outcome.new_cycle ? 1 : 0;
  const std::string done_dir = options_.dir + "/" + kDone;
  std::optional<std::string> final_name = RenameWithoutReplacing(path, done_dir, name);
  if (!final_name) {
    if (errno == ENOENT) return;  // another instance finished it first
    spdlog::error(
        "spool: took {} ({} watches) but cannot move it into {}: {}; it stays in processing/ "
        "and is registered again at the next start (harmless for watches still in their cycle)",
        name, keys->size(), done_dir, ErrnoText(errno));
    ++counts->failed;
    return;
  }
  SyncDir(options_.dir + "/" + kProcessing);
  SyncDir(done_dir);
  ++counts->taken;
  counts->watches += keys->size();
  spdlog::info("spool: took {}: {} watches ({} new), {}; moved to done/{}", name, keys->size(),
               created, PerCompany(*keys), *final_name);
}

void SpoolFolder::Reject(const std::string& name, const std::string& reason, PassCounts* counts) {
  const std::string path = options_.dir + "/" + kProcessing + "/" + name;
  const std::string rejected_dir = options_.dir + "/" + kRejected;
  std::optional<std::string> final_name = RenameWithoutReplacing(path, rejected_dir, name);
  if (!final_name) {
    if (errno == ENOENT) return;
    spdlog::error("spool: rejected {} but cannot move it into {}: {}; it stays in processing/",
                  name, rejected_dir, ErrnoText(errno));
    ++counts->failed;
    return;
  }
  // The reason is written after the move so that a file and its reason always match; a crash in
  // between leaves a rejected file without its reason, never a watch registered.
  std::string reason_path = rejected_dir + "/" + *final_name + ".reason";
  if (!WriteFileDurably(reason_path, "gatilho did not take " + name + ": " + reason + "\n")) {
    spdlog::warn("spool: cannot write {}: {}", reason_path, ErrnoText(errno));
  }
  SyncDir(options_.dir + "/" + kProcessing);
  SyncDir(rejected_dir);
  ++counts->rejected;
  spdlog::warn(
      "spool: rejected {}, nothing registered; moved to rejected/{} with a .reason file: {}", name,
      *final_name, OneLine(reason));
}

}  // namespace gatilho
