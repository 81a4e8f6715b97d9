// LmdbEnv: an open LMDB environment and the only place transactions are begun, retried and
// committed.
//
// Write transactions run a body that may be run more than once: when the map is full the
// environment grows the map (doubling, up to a maximum) and reruns the body from the start; when
// another process grew the map it adopts the new size and reruns. A body must therefore build
// its results afresh on every run and have no effect outside the transaction.
//
// Threads: any number may share one LmdbEnv (the daemon's loop and its local API); Read() and
// Write() take turns on a mutex, which is also what lets Grow() resize the map, since LMDB
// allows that only while the process has no transaction open. No transaction stays open
// between calls, so other processes sharing the directory are never blocked by a long reader.
// Never use an LmdbEnv in a process forked from the one that opened it.
#pragma once

#include <lmdb.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "core/status.h"
#include "store/lmdb_txn.h"

namespace gatilho {

class LmdbEnv {
 public:
  struct Options {
    std::string dir;  // created with its parents if missing
    size_t initial_map_bytes = 0;
    size_t max_map_bytes = 0;  // growth beyond this fails with ResourceExhausted
    unsigned max_tables = 0;   // named databases the environment may hold
    std::string when_full;     // the advice that ResourceExhausted message ends with
  };

  // Opens the environment in options.dir. IoError naming the directory when it cannot be
  // created or opened; InvalidArgument when it holds something that is not LMDB.
  static Result<std::unique_ptr<LmdbEnv>> Open(const Options& options);

  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  using Body = std::function<Status(LmdbTxn& txn)>;

  // Runs `body` in a read-only transaction and returns its status.
  Status Read(const Body& body);

  // Runs `body` in a write transaction and commits it if `body` returns OK; otherwise nothing
  // is written and body's status is returned. `body` may run several times (see above).
  Status Write(const Body& body);

  // Moves the most the map may grow to; a map already larger keeps its size.
  void SetMaxMapBytes(size_t max_map_bytes);

  const std::string& dir() const { return dir_; }

 private:
  LmdbEnv(MDB_env* env, std::string dir, size_t max_map_bytes, std::string when_full)
      : env_(env),
        dir_(std::move(dir)),
        max_map_bytes_(max_map_bytes),
        when_full_(std::move(when_full)) {}

  Status Run(bool writable, const Body& body);
  // Doubles the map size, or ResourceExhausted when it is already at max_map_bytes_.
  Status Grow();
  // Adopts the map size another process set.
  Status AdoptMapSize();
  // A Status for LMDB code `rc` from `what`, naming the directory.
  Status Error(int rc, std::string_view what) const;

  std::mutex mu_;  // held for the whole of Run(): one transaction of this process at a time
  MDB_env* env_;
  std::string dir_;
  size_t max_map_bytes_;
  std::string when_full_;
};

}  // namespace gatilho
