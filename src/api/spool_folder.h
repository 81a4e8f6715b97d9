// SpoolFolder: takes the files a legacy ERP drops into the spool folder (global key spool_dir),
// each exactly once, and registers the watches they ask for (format: api/spool_file.h).
//
// The ERP writes a file under a name starting with '.' or ending in ".tmp" or ".part", which is
// ignored, and renames it to its final name when complete; a file written in place is taken
// once it was closed after writing (inotify) or has not changed for Options::settle_ms.
//
// One file's life: rename() into <spool>/processing/ claims it (atomic: of two processes or
// threads, one wins and the other sees it gone); its watches go into the store in one
// transaction (Store::AddWatches); then it is renamed into <spool>/done/ (same name, a ".N"
// suffix if taken), or, when it is bad, into <spool>/rejected/ next to <name>.reason saying why.
// Each rename is followed by an fsync of both folders, so a crash cannot lose a move. After the
// store took the watches, IntakeLink::StoreChanged() wakes the daemon's loop.
//
// Crash recovery: Start() first finishes the files left in processing/. A crash may have come
// after the store took a file's watches but before the move to done/. Registering a watch
// again is harmless while it is in its cycle, but a watch that finished (kDone) would start a
// new cycle: one more poll, and its final event delivered again under a new webhook-id. So
// recovery skips the watches whose cycle started after the file was claimed (the claim's
// rename sets the file's ctime); only a clock stepped back by more than the gap between claim
// and registration can defeat that. A store error leaves the file in processing/ and it is
// tried again at each rescan.
//
// Threads: Start() runs the intake on its own thread, which sleeps in poll() on an inotify
// descriptor (new files are seen at once) with a rescan every Options::rescan_ms as a fallback
// for file systems where inotify says nothing (NFS, some container mounts). A thread of its own
// rather than the loop's poll keeps a slow disk or a large file from delaying polls and
// deliveries. Stop() (or the destructor) ends it. TakeAll() runs one pass on the caller's thread
// (gatilho run --once). SetCompanies() may be called from any thread.
//
// One spool folder belongs to one daemon: two instances on one folder never take a file twice,
// but a second instance's recovery may register a file the other is working on again (harmless,
// as above).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "api/intake_link.h"
#include "api/spool_file.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace gatilho {

class SpoolFolder {
 public:
  struct Options {
    std::string dir;  // absolute; created (with its subfolders) if missing
    SpoolCompanies companies;
    SpoolLimits limits;
    int64_t rescan_ms = 2'000;
    int64_t settle_ms = 2'000;
    // When the first poll of a file's watches goes (one time for the whole file, since they are
    // registered in one transaction); null: at once.
    std::function<int64_t(const std::vector<WatchKey>&, int64_t now_ms)> first_poll;
  };

  // What one pass did.
  struct PassCounts {
    size_t taken = 0;
    size_t rejected = 0;
    size_t watches = 0;
    size_t failed = 0;  // left in processing/ for the next pass (store error)
  };

  // Creates the folder and its subfolders; IoError naming the folder when that fails. `store`,
  // `clock` and `link` (may be null) must outlive the object.
  static Result<std::unique_ptr<SpoolFolder>> Create(Options options, Store& store,
                                                     const Clock& clock, IntakeLink* link);
  ~SpoolFolder();
  SpoolFolder(const SpoolFolder&) = delete;
  SpoolFolder& operator=(const SpoolFolder&) = delete;

  // Finishes what a crash left in processing/, then starts the intake thread.
  Status Start();
  // Ends the thread after the file it is working on; idempotent.
  void Stop();

  // One pass on the caller's thread: recovery, then every file that is ready. Must not run
  // while the thread runs.
  PassCounts TakeAll();

  // Replaces the companies files are checked against (after a configuration reload).
  void SetCompanies(SpoolCompanies companies);

  const std::string& dir() const { return options_.dir; }

 private:
  SpoolFolder(Options options, Store& store, const Clock& clock, IntakeLink* link);

  void RunThread();
  // Claims and processes every ready file of the folder; `fresh` names files inotify saw closed
  // or moved in, which need not wait for settle_ms.
  void Scan(const std::set<std::string>& fresh, PassCounts* counts);
  // Processes the files in processing/ (after a crash, or after a store error).
  void Recover(PassCounts* counts);
  // Registers processing/<name> and moves it on. `recovering`: the file may have been
  // registered before a crash.
  void Process(const std::string& name, bool recovering, PassCounts* counts);
  void Reject(const std::string& name, const std::string& reason, PassCounts* counts);

  Options options_;
  Store& store_;
  const Clock& clock_;
  IntakeLink* link_;
  std::mutex companies_mu_;
  SpoolCompanies companies_;  // GUARDED_BY(companies_mu_)
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd that Stop() signals
  std::thread thread_;
  std::atomic<bool> retry_processing_{false};
};

}  // namespace gatilho
