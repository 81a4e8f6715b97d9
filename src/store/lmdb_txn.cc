#include "store/lmdb_txn.h"

namespace gatilho {
namespace {

MDB_val View(std::string_view bytes) {
  // LMDB never writes through the key or value passed to get/put/del, so dropping const is safe.
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view View(const MDB_val& val) {
  return std::string_view(static_cast<const char*>(val.mv_data), val.mv_size);
}

// Closes a cursor when the scan leaves, whichever way it leaves.
class CursorCloser {
 public:
  explicit CursorCloser(MDB_cursor* cursor) : cursor_(cursor) {}
  ~CursorCloser() { mdb_cursor_close(cursor_); }
  CursorCloser(const CursorCloser&) = delete;
  CursorCloser& operator=(const CursorCloser&) = delete;

 private:
  MDB_cursor* cursor_;
};

}  // namespace

LmdbTxn::~LmdbTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

Status LmdbTxn::OpenTable(Table* table) {
  int rc = mdb_dbi_open(txn_, table->name, MDB_CREATE, &table->dbi);
  if (rc != 0) return Fail(rc, "open", *table);
  return Status::Ok();
}

Result<std::optional<std::string_view>> LmdbTxn::Get(const Table& table, std::string_view key) {
  MDB_val k = View(key);
  MDB_val v;
  int rc = mdb_get(txn_, table.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return Fail(rc, "read from", table);
  return std::optional<std::string_view>(View(v));
}

Status LmdbTxn::Put(const Table& table, std::string_view key, std::string_view value) {
  MDB_val k = View(key);
  MDB_val v = View(value);
  int rc = mdb_put(txn_, table.dbi, &k, &v, 0);
  if (rc != 0) return Fail(rc, "write to", table);
  return Status::Ok();
}

Status LmdbTxn::Delete(const Table& table, std::string_view key) {
  MDB_val k = View(key);
  int rc = mdb_del(txn_, table.dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return Fail(rc, "delete from", table);
  return Status::Ok();
}

Status LmdbTxn::Scan(const Table& table, std::string_view from, const Visitor& visit) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, table.dbi, &cursor);
  if (rc != 0) return Fail(rc, "scan", table);
  CursorCloser closer(cursor);

  MDB_val k = View(from);
  MDB_val v;
  // MDB_SET_RANGE with an empty key is refused by LMDB, so an empty `from` starts at the first.
  rc = from.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                    : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    Result<Step> step = visit(View(k), View(v));
    if (!step.ok()) return step.status();
    if (*step == Step::kStop) return Status::Ok();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_NOTFOUND) return Fail(rc, "scan", table);
  return Status::Ok();
}

int LmdbTxn::Commit() {
  int rc = mdb_txn_commit(txn_);
  // mdb_txn_commit frees the transaction even when it fails.
  txn_ = nullptr;
  if (rc != 0 && error_code_ == 0) error_code_ = rc;
  return rc;
}

Status LmdbTxn::Fail(int rc, std::string_view operation, const Table& table) {
  if (error_code_ == 0) error_code_ = rc;
  std::string message = "cannot ";
  message += operation;
  message += " LMDB table '";
  message += table.name;
  message += "': ";
  message += mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED) return Status::ResourceExhausted(message);
  return Status::IoError(message);
}

}  // namespace gatilho
