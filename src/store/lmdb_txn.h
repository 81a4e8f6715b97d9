// LmdbTxn: one LMDB transaction, aborted on destruction unless committed, with its operations
// returning Status instead of LMDB codes.
//
// A transaction belongs to the thread that began it; the LmdbEnv that creates it must outlive
// it. Views returned by Get() and passed to a Scan() visitor point into the map and are valid
// only until the transaction ends.
#pragma once

#include <lmdb.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/status.h"

namespace gatilho {

// A named database: its name (for messages) and its handle once opened.
struct Table {
  const char* name;
  MDB_dbi dbi = 0;
};

class LmdbTxn {
 public:
  // Takes ownership of `txn`, already begun.
  explicit LmdbTxn(MDB_txn* txn) : txn_(txn) {}
  ~LmdbTxn();
  LmdbTxn(const LmdbTxn&) = delete;
  LmdbTxn& operator=(const LmdbTxn&) = delete;

  // Opens `table`, creating it if missing, and stores its handle in table->dbi. The handle
  // stays valid after a successful commit. REQUIRES: a write transaction.
  Status OpenTable(Table* table);

  // The value stored under `key`, or nullopt when there is none.
  Result<std::optional<std::string_view>> Get(const Table& table, std::string_view key);

  // Stores `value` under `key`, replacing any previous value. REQUIRES: a write transaction.
  Status Put(const Table& table, std::string_view key, std::string_view value);

  // Removes `key`; removing a key that is absent is not an error. REQUIRES: a write transaction.
  Status Delete(const Table& table, std::string_view key);

  enum class Step { kNext, kStop };
  using Visitor = std::function<Result<Step>(std::string_view key, std::string_view value)>;

  // Calls `visit` for each entry whose key is >= `from`, in key order, until it returns kStop,
  // an error (which Scan returns), or the table ends. REQUIRES: `visit` does not write to
  // `table`.
  Status Scan(const Table& table, std::string_view from, const Visitor& visit);

  // Commits; the transaction is over whatever the outcome. Returns the LMDB code (0 on success).
  int Commit();

  // The first LMDB error code an operation of this transaction returned, 0 if none. The caller
  // uses it to tell a full map (MDB_MAP_FULL) from other failures.
  int error_code() const { return error_code_; }

 private:
  // A Status for LMDB code `rc` from `operation` on `table`, remembering rc.
  Status Fail(int rc, std::string_view operation, const Table& table);

  MDB_txn* txn_;  // null once committed
  int error_code_ = 0;
};

}  // namespace gatilho
