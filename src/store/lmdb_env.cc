#include "store/lmdb_env.h"

#include <filesystem>
#include <system_error>

namespace gatilho {
namespace {

// Doubling from a 64 KiB map reaches 1 TiB in 24 steps; the rest is room for other processes
// resizing the map under us. Past this something is wrong and the caller should hear about it.
constexpr int kMaxTransactionRuns = 64;

std::string PermissionAdvice(const std::string& dir) {
  return "check the ownership/permissions of " + dir + " or set data_dir";
}

}  // namespace

Result<std::unique_ptr<LmdbEnv>> LmdbEnv::Open(const Options& options) {
  const std::string& dir = options.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::IoError("cannot create the store directory " + dir + ": " + ec.message() + "; " +
                           PermissionAdvice(dir));
  }

  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) {
    return Status::IoError("cannot create an LMDB environment for " + dir + ": " +
                           mdb_strerror(rc));
  }
  rc = mdb_env_set_maxdbs(env, options.max_tables);
  if (rc == 0) rc = mdb_env_set_mapsize(env, options.initial_map_bytes);
  // Owner-only: the store holds webhook payloads, which carry the companies' fiscal data.
  if (rc == 0) rc = mdb_env_open(env, dir.c_str(), 0, 0600);
  if (rc == 0)
    return std::unique_ptr<LmdbEnv>(
        new LmdbEnv(env, dir, options.max_map_bytes, options.when_full));

  mdb_env_close(env);
  std::string reason = mdb_strerror(rc);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
    return Status::InvalidArgument(dir + "/data.mdb is not a store this gatilho can read (" +
                                   reason + "); point data_dir at gatilho's data directory");
  }
  if (rc == EROFS) {
    return Status::IoError("cannot open the store in " + dir + ": " + reason +
                           "; the file system holding it is mounted read-only: remount it "
                           "read-write, or set data_dir to a writable folder");
  }
  if (rc == ENOSPC) {
    return Status::IoError("cannot open the store in " + dir + ": " + reason +
                           "; free space on the file system holding " + dir);
  }
  if (rc == EACCES || rc == EPERM) {
    return Status::IoError("cannot open the store in " + dir + ": " + reason + "; " +
                           PermissionAdvice(dir));
  }
  return Status::IoError("cannot open the store in " + dir + ": " + reason);
}

LmdbEnv::~LmdbEnv() {
  mdb_env_close(env_);
}

Status LmdbEnv::Read(const Body& body) {
  return Run(/*writable=*/false, body);
}

Status LmdbEnv::Write(const Body& body) {
  return Run(/*writable=*/true, body);
}

Status LmdbEnv::Run(bool writable, const Body& body) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int run = 0; run < kMaxTransactionRuns; ++run) {
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, writable ? 0 : MDB_RDONLY, &raw);
    if (rc == MDB_MAP_RESIZED) {
      if (Status adopted = AdoptMapSize(); !adopted.ok()) return adopted;
      continue;
    }
    if (rc != 0) return Error(rc, "begin a transaction");

    Status status;
    int error_code = 0;
    {
      LmdbTxn txn(raw);
      status = body(txn);
      // An LMDB failure inside the body names the table but not the environment.
      if (!status.ok() && txn.error_code() != 0) status = status.WithContext("store at " + dir_);
      if (status.ok() && writable && txn.Commit() != 0) {
        status = Error(txn.error_code(), "commit a transaction");
      }
      error_code = txn.error_code();
    }
    // The transaction is over here (committed or aborted): LMDB allows resizing the map only
    // while this process has no transaction open.
    if (error_code == MDB_MAP_FULL) {
      if (Status grown = Grow(); !grown.ok()) return grown;
      continue;
    }
    if (error_code == MDB_MAP_RESIZED) {
      if (Status adopted = AdoptMapSize(); !adopted.ok()) return adopted;
      continue;
    }
    return status;
  }
  return Status::Unavailable("store at " + dir_ + ": a transaction was retried " +
                             std::to_string(kMaxTransactionRuns) +
                             " times because the map kept filling up or being resized by "
                             "another process; try again");
}

Status LmdbEnv::Grow() {
  MDB_envinfo info;
  int rc = mdb_env_info(env_, &info);
  if (rc != 0) return Error(rc, "read the map size");
  size_t current = info.me_mapsize;
  if (current >= max_map_bytes_) {
    return Status::ResourceExhausted("store at " + dir_ +
                                     " is full: its map reached the maximum of " +
                                     std::to_string(max_map_bytes_) + " bytes; " + when_full_);
  }
  size_t next = current > max_map_bytes_ / 2 ? max_map_bytes_ : current * 2;
  rc = mdb_env_set_mapsize(env_, next);
  if (rc != 0) return Error(rc, "grow the map to " + std::to_string(next) + " bytes");
  return Status::Ok();
}

void LmdbEnv::SetMaxMapBytes(size_t max_map_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  max_map_bytes_ = max_map_bytes;
}

Status LmdbEnv::AdoptMapSize() {
  // Size 0 means "the size recorded in the environment", which the other process wrote.
  int rc = mdb_env_set_mapsize(env_, 0);
  if (rc != 0) return Error(rc, "adopt the map size another process set");
  return Status::Ok();
}

Status LmdbEnv::Error(int rc, std::string_view what) const {
  std::string message = "store at " + dir_ + ": cannot ";
  message += what;
  message += ": ";
  message += mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED) return Status::ResourceExhausted(message);
  if (rc == ENOSPC || rc == EDQUOT) {
    return Status::ResourceExhausted(message + "; the file system holding " + dir_ +
                                     " is full: free space there (nothing of this "
                                     "transaction was written)");
  }
  if (rc == EIO) {
    // LMDB turns a write cut short into EIO, and a full disk is what usually cuts one short.
    return Status::IoError(message + "; if the file system holding " + dir_ +
                           " is full, free space there, otherwise check the disk (nothing of "
                           "this transaction was written)");
  }
  return Status::IoError(message);
}

}  // namespace gatilho
