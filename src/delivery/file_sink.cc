#include "delivery/file_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>
#include <vector>

#include "core/document_type.h"

namespace gatilho {
namespace {

constexpr int64_t kStaleTempMs = 3600 * 1000;
constexpr size_t kMaxTempStem = 200;  // keeps a temp name within NAME_MAX (255)
constexpr mode_t kFolderMode = 0750;
constexpr mode_t kFileMode = 0640;

std::string ErrnoText(int err) {
  return std::system_category().message(err);
}

// `part` with every byte outside [A-Za-z0-9_-] written as %XX. '%' itself is encoded, so the
// encoding is one to one.
std::string EncodeNamePart(std::string_view part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(part.size());
  for (char c : part) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-') {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

bool IsTempName(std::string_view name) {
  return name.size() > 5 && name.front() == '.' && name.ends_with(".tmp");
}

bool IsDeliveredName(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.ends_with(".json");
}

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now and returns close()'s result (0, or -1 with errno set).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

int OpenFolderAt(int parent_fd, const char* name) {
  int fd;
  do {
    fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int FsyncRetrying(int fd) {
  int rc;
  do {
    rc = fsync(fd);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

// Opens the folder `name` under `parent_fd`, creating it first if missing; a new folder's entry
// is fsynced into its parent so that a file fsynced inside it is reachable after a power cut.
// -1 with errno set on failure.
int OpenOrMakeFolderAt(int parent_fd, const std::string& name) {
  int fd = OpenFolderAt(parent_fd, name.c_str());
  if (fd >= 0 || errno != ENOENT) return fd;
  if (mkdirat(parent_fd, name.c_str(), kFolderMode) < 0 && errno != EEXIST) return -1;
  if (FsyncRetrying(parent_fd) < 0) return -1;
  return OpenFolderAt(parent_fd, name.c_str());
}

// Writes all of `data` to `fd`; -1 with errno set on failure.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    size_t chunk = std::min<size_t>(data.size(), size_t{1} << 30);
    ssize_t n = write(fd, data.data(), chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// Creates `path` and its missing parents (each kFolderMode). -1 with errno set on failure.
int MakeFolders(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), kFolderMode) < 0 && errno != EEXIST) return -1;
    if (slash == std::string::npos) return 0;
  }
}

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// The names of the entries of the folder open at `fd`, without "." and "..". False with errno
// set when the folder cannot be read. Reads through a descriptor of its own, so `fd` stays open
// and its offset is not moved.
bool ListFolder(int fd, std::vector<std::string>* names) {
  int own_fd = OpenFolderAt(fd, ".");
  if (own_fd < 0) return false;
  DIR* d = fdopendir(own_fd);
  if (d == nullptr) {
    int err = errno;
    close(own_fd);
    errno = err;
    return false;
  }
  errno = 0;
  while (struct dirent* entry = readdir(d)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
    errno = 0;
  }
  int err = errno;
  closedir(d);
  errno = err;
  return err == 0;
}

// What Prune() found, and the first thing that went wrong.
struct PruneTally {
  size_t removed = 0;
  std::string first_error;

  void Fail(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
};

// Removes from the folder open at `fd` (at `path`, for messages) the temp files modified before
// `temp_cutoff_ms` and, when `delivered_cutoff_ms` is set, the delivered files modified before
// it.
void PruneFolder(int fd, const std::string& path, int64_t temp_cutoff_ms,
                 std::optional<int64_t> delivered_cutoff_ms, PruneTally* tally) {
  std::vector<std::string> names;
  if (!ListFolder(fd, &names)) {
    tally->Fail("cannot read " + path + ": " + ErrnoText(errno));
    return;
  }
  for (const std::string& name : names) {
    bool temp = IsTempName(name);
    bool delivered = delivered_cutoff_ms.has_value() && IsDeliveredName(name);
    if (!temp && !delivered) continue;
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT)
        tally->Fail("cannot stat " + path + "/" + name + ": " + ErrnoText(errno));
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    int64_t cutoff = temp ? temp_cutoff_ms : *delivered_cutoff_ms;
    if (MtimeMs(st) >= cutoff) continue;
    if (unlinkat(fd, name.c_str(), 0) == 0) {
      ++tally->removed;
    } else if (errno != ENOENT) {
      tally->Fail("cannot remove " + path + "/" + name + ": " + ErrnoText(errno));
    }
  }
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::Create(Options options) {
  std::string dir = options.dir;
  if (!dir.starts_with('/')) {
    return Status::InvalidArgument("file sink folder \"" + dir +
                                   "\" must be an absolute path (starting with '/')");
  }
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  if (options.retention_ms <= 0) {
    return Status::InvalidArgument("file sink retention must be positive, not " +
                                   std::to_string(options.retention_ms) + " ms");
  }
  if (MakeFolders(dir) < 0) {
    return Status::IoError("cannot create the file sink folder " + dir + ": " + ErrnoText(errno) +
                           "; create it, or choose a folder the user gatilho runs as can create");
  }
  Fd folder(OpenFolderAt(AT_FDCWD, dir.c_str()));
  if (!folder.ok()) {
    return Status::IoError("cannot open the file sink folder " + dir + ": " + ErrnoText(errno) +
                           "; it must be a folder the user gatilho runs as can enter");
  }

  // access(W_OK) misses read-only mounts under some file systems and ACLs; creating a file
  // asks the file system itself.
  std::unique_ptr<FileSink> sink(new FileSink(dir, options.retention_ms));
  std::string probe = sink->TempName("write-check");
  Fd probe_fd(
      openat(folder.get(), probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (!probe_fd.ok()) {
    return Status::IoError("the file sink folder " + dir + " is not writable: " + ErrnoText(errno) +
                           "; give the user gatilho runs as write access to it, or choose another "
                           "folder");
  }
  probe_fd.Close();
  unlinkat(folder.get(), probe.c_str(), 0);
  return sink;
}

std::string FileSink::RelativePath(const EventRecord& event) {
  return EncodeNamePart(event.key.company) + "/" + std::string(DocTypeName(event.key.type)) + "/" +
         EncodeNamePart(event.key.ref) + "." + std::to_string(event.cycle) + "." +
         EncodeNamePart(event.type) + ".json";
}

std::string FileSink::TempName(std::string_view final_name) {
  uint64_t n = temp_counter_.fetch_add(1, std::memory_order_relaxed);
  return "." + std::string(final_name.substr(0, kMaxTempStem)) + "." + std::to_string(getpid()) +
         "-" + std::to_string(n) + ".tmp";
}

Result<std::string> FileSink::Write(const EventRecord& event, std::string_view body) {
  if (event.key.company.empty() || event.key.ref.empty() || event.type.empty()) {
    return Status::InvalidArgument("cannot name a file for event " + event.id + " of " +
                                   event.key.ToString() + ": company, ref and type must be set");
  }
  const std::string company = EncodeNamePart(event.key.company);
  const std::string type(DocTypeName(event.key.type));
  const std::string name = EncodeNamePart(event.key.ref) + "." + std::to_string(event.cycle) + "." +
                           EncodeNamePart(event.type) + ".json";
  const std::string folder_path = dir_ + "/" + company + "/" + type;
  const std::string path = folder_path + "/" + name;

  Fd base(OpenFolderAt(AT_FDCWD, dir_.c_str()));
  if (!base.ok()) {
    return Status::IoError("cannot write " + path + ": cannot open the file sink folder " + dir_ +
                           ": " + ErrnoText(errno));
  }
  Fd company_folder(OpenOrMakeFolderAt(base.get(), company));
  if (!company_folder.ok()) {
    return Status::IoError("cannot write " + path + ": cannot open or create the folder " + dir_ +
                           "/" + company + ": " + ErrnoText(errno));
  }
  Fd folder(OpenOrMakeFolderAt(company_folder.get(), type));
  if (!folder.ok()) {
    return Status::IoError("cannot write " + path + ": cannot open or create the folder " +
                           folder_path + ": " + ErrnoText(errno));
  }

  const std::string temp = TempName(name);
  Fd file(openat(folder.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (!file.ok()) {
    return Status::IoError("cannot write " + path + ": cannot create " + folder_path + "/" + temp +
                           ": " + ErrnoText(errno));
  }
  // From here on every failure removes the temp file before it returns.
  auto fail = [&](std::string_view step) -> Status {
    int err = errno;
    if (file.ok()) file.Close();
    unlinkat(folder.get(), temp.c_str(), 0);
    return Status::IoError("cannot write " + path + ": " + std::string(step) + ": " +
                           ErrnoText(err));
  };
  if (WriteAll(file.get(), body) < 0) return fail("write");
  if (FsyncRetrying(file.get()) < 0) return fail("fsync");
  // close() can report a deferred write error (NFS); a file that failed to close is not trusted.
  if (file.Close() < 0) return fail("close");
  if (renameat(folder.get(), temp.c_str(), folder.get(), name.c_str()) < 0) return fail("rename");

  // The file is in place; only the durability of its name is left to secure. A failure here is
  // reported so the dispatcher retries, which rewrites the same bytes.
  if (FsyncRetrying(folder.get()) < 0) {
    return Status::IoError("cannot write " + path + ": fsync of " + folder_path + ": " +
                           ErrnoText(errno));
  }
  return path;
}

Result<size_t> FileSink::Prune(int64_t now_wall_ms) {
  const int64_t temp_cutoff = now_wall_ms - kStaleTempMs;
  const int64_t delivered_cutoff = now_wall_ms - retention_ms_;
  PruneTally tally;

  Fd base(OpenFolderAt(AT_FDCWD, dir_.c_str()));
  std::vector<std::string> companies;
  if (!base.ok() || !ListFolder(base.get(), &companies)) {
    return Status::IoError("cannot prune the file sink folder " + dir_ + ": " + ErrnoText(errno));
  }
  // The base folder holds no delivered files; only Create()'s write check, if a crash left it.
  PruneFolder(base.get(), dir_, temp_cutoff, std::nullopt, &tally);

  for (const std::string& company : companies) {
    const std::string company_path = dir_ + "/" + company;
    Fd company_folder(OpenFolderAt(base.get(), company.c_str()));
    if (!company_folder.ok()) {
      // Not a folder (a file of the ERP's), or gone meanwhile.
      if (errno != ENOTDIR && errno != ENOENT) {
        tally.Fail("cannot open " + company_path + ": " + ErrnoText(errno));
      }
      continue;
    }
    std::vector<std::string> types;
    if (!ListFolder(company_folder.get(), &types)) {
      tally.Fail("cannot read " + company_path + ": " + ErrnoText(errno));
      continue;
    }
    for (const std::string& type : types) {
      // Only the folders Write() makes ("cte_os" parses, but Write() names it "cte").
      std::optional<DocType> parsed = ParseDocType(type);
      if (!parsed.has_value() || DocTypeName(*parsed) != type) continue;
      const std::string type_path = company_path + "/" + type;
      Fd type_folder(OpenFolderAt(company_folder.get(), type.c_str()));
      if (!type_folder.ok()) {
        if (errno != ENOTDIR && errno != ENOENT) {
          tally.Fail("cannot open " + type_path + ": " + ErrnoText(errno));
        }
        continue;
      }
      PruneFolder(type_folder.get(), type_path, temp_cutoff, delivered_cutoff, &tally);
    }
  }

  if (!tally.first_error.empty()) {
    return Status::IoError(tally.first_error + " (pruning went on and removed " +
                           std::to_string(tally.removed) + " files)");
  }
  return tally.removed;
}

}  // namespace gatilho
