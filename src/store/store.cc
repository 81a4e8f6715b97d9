#include "store/store.h"

#include <array>
#include <functional>
#include <limits>
#include <utility>

#include "store/codec.h"
#include "store/lmdb_env.h"

namespace gatilho {
namespace {

// Meta values are bare big-endian integers rather than versioned records: the schema version
// must stay readable by every future build, whatever encodings it uses.
constexpr char kSchemaVersionName[] = "schema_version";
constexpr char kNextSeqName[] = "next_seq";

constexpr size_t kMaxHistoryPerDocument = 200;

using Step = LmdbTxn::Step;

bool HasDueEntry(const WatchRecord& record) {
  return record.next_poll_ms != 0 && record.state != WatchState::kDone;
}

std::string SeqName(uint64_t seq) {
  return "seq " + std::to_string(seq);
}

}  // namespace

struct Store::Impl {
  std::unique_ptr<LmdbEnv> env;
  Table watches{"watches"};
  Table due{"due"};
  Table history{"history"};
  Table outbox{"outbox"};
  Table event_ids{"event_ids"};
  Table queue{"queue"};
  Table company_ready{"company_ready"};
  Table legacy_ready{"ready"};  // read once, by MigrateReady(), then left empty
  Table attempts{"attempts"};
  Table endpoints{"endpoints"};
  Table tokens{"tokens"};
  Table models{"models"};
  Table cursors{"cursors"};
  Table meta{"meta"};

  std::array<Table*, 14> AllTables() {
    return {&watches,      &due,      &history,   &outbox, &event_ids, &queue,   &company_ready,
            &legacy_ready, &attempts, &endpoints, &tokens, &models,    &cursors, &meta};
  }

  // `error` (a decoding failure or a broken index) prefixed with where it was found.
  Status Corrupt(const Status& error, const Table& table, std::string_view key) const {
    return error.WithContext("store at " + env->dir() + ", table '" + table.name + "', key " +
                             std::string(key));
  }

  // Writes the schema version into a new store; refuses a store of another version.
  Status CheckSchema(LmdbTxn& txn);

  Result<std::optional<WatchRecord>> ReadWatch(LmdbTxn& txn, const WatchKey& key);
  // Replaces the record of `key` (old is the stored one, null if none) and moves its `due`
  // entry accordingly.
  Status WriteWatch(LmdbTxn& txn, const WatchKey& key, const WatchRecord* old,
                    const WatchRecord& updated);

  Result<std::optional<EventRecord>> ReadEvent(LmdbTxn& txn, uint64_t seq);
  // Stores `updated` (old is the stored version, null for a new event) and keeps `queue` and
  // `ready` true: a pending event is in its document's queue, and exactly the first event of
  // each queue is in `ready`, at its next_attempt_ms.
  Status WriteEvent(LmdbTxn& txn, const EventRecord* old, const EventRecord& updated);
  // The seq of the oldest pending event of `key`, or nullopt.
  Result<std::optional<uint64_t>> QueueHead(LmdbTxn& txn, const WatchKey& key);

  // Appends `entry` to the history of `key`, dropping the oldest beyond the bound.
  Status AppendHistory(LmdbTxn& txn, const WatchKey& key, const HistoryEntry& entry);

  Result<uint64_t> ReadNextSeq(LmdbTxn& txn);

  // Appends `proposed` to the outbox under `key` with seq *next_seq (then bumped), unless an
  // event with its id is already there. Returns whether it was appended.
  Result<bool> AppendEvent(LmdbTxn& txn, const EventRecord& proposed, const WatchKey& key,
                           uint64_t* next_seq);

  // Calls `visit` with each event of the outbox, decoded, in seq order, until it says kStop.
  Status ScanOutbox(LmdbTxn& txn, const std::function<Result<Step>(EventRecord&&)>& visit);

  // Moves the entries of a store written before `company_ready` existed into it.
  Status MigrateReady(LmdbTxn& txn);

  // Deletes event `seq`'s attempts (all of them, or those numbered below `below`); returns how
  // many went.
  Result<uint64_t> DeleteAttempts(LmdbTxn& txn, uint64_t seq, uint32_t below);
};

Status Store::Impl::CheckSchema(LmdbTxn& txn) {
  auto found = txn.Get(meta, kSchemaVersionName);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return txn.Put(meta, kSchemaVersionName, Be32(kSchemaVersion));
  std::string_view bytes = **found;
  if (bytes.size() != 4) {
    return Corrupt(Status::Corruption("expected 4 bytes, found " + std::to_string(bytes.size())),
                   meta, kSchemaVersionName);
  }
  uint32_t version = ReadBe32(bytes);
  if (version == kSchemaVersion) return Status::Ok();
  return Status::InvalidArgument(
      "store at " + env->dir() + " has schema version " + std::to_string(version) +
      "; this gatilho reads version " + std::to_string(kSchemaVersion) +
      ": run the gatilho release that wrote it, or set data_dir to another directory");
}

Result<std::optional<WatchRecord>> Store::Impl::ReadWatch(LmdbTxn& txn, const WatchKey& key) {
  auto found = txn.Get(watches, key.Encode());
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<WatchRecord>();
  Result<WatchRecord> record = DecodeWatchRecord(**found);
  if (!record.ok()) return Corrupt(record.status(), watches, key.ToString());
  return std::optional<WatchRecord>(std::move(*record));
}

Status Store::Impl::WriteWatch(LmdbTxn& txn, const WatchKey& key, const WatchRecord* old,
                               const WatchRecord& updated) {
  if (old != nullptr && HasDueEntry(*old)) {
    if (Status s = txn.Delete(due, DueKey(old->next_poll_ms, key)); !s.ok()) return s;
  }
  if (Status s = txn.Put(watches, key.Encode(), EncodeWatchRecord(updated)); !s.ok()) return s;
  if (HasDueEntry(updated)) return txn.Put(due, DueKey(updated.next_poll_ms, key), "");
  return Status::Ok();
}

Result<std::optional<EventRecord>> Store::Impl::ReadEvent(LmdbTxn& txn, uint64_t seq) {
  auto found = txn.Get(outbox, Be64(seq));
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<EventRecord>();
  Result<EventRecord> event = DecodeEventRecord(**found);
  if (!event.ok()) return Corrupt(event.status(), outbox, SeqName(seq));
  return std::optional<EventRecord>(std::move(*event));
}

Result<std::optional<uint64_t>> Store::Impl::QueueHead(LmdbTxn& txn, const WatchKey& key) {
  std::string prefix = DocumentPrefix(key);
  std::optional<uint64_t> head;
  Status s = txn.Scan(queue, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
    if (!k.starts_with(prefix)) return Step::kStop;
    if (k.size() != prefix.size() + 8) {
      return Corrupt(Status::Corruption("queue key has " + std::to_string(k.size()) + " bytes"),
                     queue, key.ToString());
    }
    head = ReadBe64(k.substr(prefix.size()));
    return Step::kStop;
  });
  if (!s.ok()) return s;
  return head;
}

Status Store::Impl::WriteEvent(LmdbTxn& txn, const EventRecord* old, const EventRecord& updated) {
  const WatchKey& key = updated.key;
  const uint64_t seq = updated.seq;
  Result<std::optional<uint64_t>> old_head = QueueHead(txn, key);
  if (!old_head.ok()) return old_head.status();

  if (old != nullptr && old->state == EventState::kPending) {
    if (Status s = txn.Delete(queue, QueueKey(key, seq)); !s.ok()) return s;
    // Absent unless the event was its queue's head; deleting nothing is fine.
    Status s = txn.Delete(company_ready, ReadyKey(key.company, old->next_attempt_ms, seq));
    if (!s.ok()) return s;
  }
  if (Status s = txn.Put(outbox, Be64(seq), EncodeEventRecord(updated)); !s.ok()) return s;
  if (updated.state == EventState::kPending) {
    if (Status s = txn.Put(queue, QueueKey(key, seq), ""); !s.ok()) return s;
  }

  Result<std::optional<uint64_t>> new_head = QueueHead(txn, key);
  if (!new_head.ok()) return new_head.status();
  // An event put back to pending (a redelivery) is older than the current head and takes its
  // place, so the displaced head must leave `ready`.
  if (old_head->has_value() && *old_head != *new_head && **old_head != seq) {
    Result<std::optional<EventRecord>> displaced = ReadEvent(txn, **old_head);
    if (!displaced.ok()) return displaced.status();
    if (displaced->has_value()) {
      Status s = txn.Delete(company_ready,
                            ReadyKey(key.company, (*displaced)->next_attempt_ms, **old_head));
      if (!s.ok()) return s;
    }
  }
  if (!new_head->has_value()) return Status::Ok();
  Result<std::optional<EventRecord>> head = ReadEvent(txn, **new_head);
  if (!head.ok()) return head.status();
  if (!head->has_value()) {
    return Corrupt(Status::Corruption("the queue names " + SeqName(**new_head) +
                                      ", which is not in the outbox"),
                   queue, key.ToString());
  }
  return txn.Put(company_ready, ReadyKey(key.company, (*head)->next_attempt_ms, **new_head), "");
}

Status Store::Impl::AppendHistory(LmdbTxn& txn, const WatchKey& key, const HistoryEntry& entry) {
  std::string prefix = DocumentPrefix(key);
  std::string same_time = prefix + TimeKey(entry.time_ms);
  std::vector<std::string> existing;
  uint32_t n = 0;
  Status s = txn.Scan(history, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
    if (!k.starts_with(prefix)) return Step::kStop;
    if (k.size() != same_time.size() + 4) {
      return Corrupt(Status::Corruption("history key has " + std::to_string(k.size()) + " bytes"),
                     history, key.ToString());
    }
    existing.emplace_back(k);
    if (k.starts_with(same_time)) n = ReadBe32(k.substr(same_time.size())) + 1;
    return Step::kNext;
  });
  if (!s.ok()) return s;

  s = txn.Put(history, HistoryKey(key, entry.time_ms, n), EncodeHistoryEntry(entry));
  if (!s.ok()) return s;
  size_t total = existing.size() + 1;
  for (size_t i = 0; i + kMaxHistoryPerDocument < total; ++i) {
    if (s = txn.Delete(history, existing[i]); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<uint64_t> Store::Impl::ReadNextSeq(LmdbTxn& txn) {
  auto found = txn.Get(meta, kNextSeqName);
  if (!found.ok()) return found.status();
  // Seq 0 means "not assigned yet" in an EventRecord, so the outbox starts at 1.
  if (!found->has_value()) return uint64_t{1};
  if ((*found)->size() != 8) {
    return Corrupt(
        Status::Corruption("expected 8 bytes, found " + std::to_string((*found)->size())), meta,
        kNextSeqName);
  }
  return ReadBe64(**found);
}

Result<bool> Store::Impl::AppendEvent(LmdbTxn& txn, const EventRecord& proposed,
                                      const WatchKey& key, uint64_t* next_seq) {
  Result<std::optional<std::string_view>> known = txn.Get(event_ids, proposed.id);
  if (!known.ok()) return known.status();
  if (known->has_value()) return false;
  EventRecord event = proposed;
  event.seq = (*next_seq)++;
  event.key = key;
  if (Status s = txn.Put(event_ids, event.id, Be64(event.seq)); !s.ok()) return s;
  if (Status s = WriteEvent(txn, nullptr, event); !s.ok()) return s;
  return true;
}

Status Store::Impl::ScanOutbox(LmdbTxn& txn,
                               const std::function<Result<Step>(EventRecord&&)>& visit) {
  return txn.Scan(outbox, "", [&](std::string_view k, std::string_view v) -> Result<Step> {
    Result<EventRecord> event = DecodeEventRecord(v);
    if (!event.ok()) {
      std::string name = k.size() == 8 ? SeqName(ReadBe64(k)) : "(undecodable)";
      return Corrupt(event.status(), outbox, name);
    }
    return visit(std::move(*event));
  });
}

Status Store::Impl::MigrateReady(LmdbTxn& txn) {
  std::vector<std::string> old_keys;
  Status s = txn.Scan(legacy_ready, "", [&](std::string_view k, std::string_view) -> Result<Step> {
    old_keys.emplace_back(k);
    return Step::kNext;
  });
  if (!s.ok() || old_keys.empty()) return s;
  for (const std::string& k : old_keys) {
    if (k.size() == 16) {
      uint64_t seq = ReadBe64(std::string_view(k).substr(8));
      Result<std::optional<EventRecord>> event = ReadEvent(txn, seq);
      if (!event.ok()) return event.status();
      // An entry naming no event was already broken; dropping it loses nothing.
      if (event->has_value()) {
        s = txn.Put(company_ready, ReadyKey((*event)->key.company, ReadBe64(k), seq), "");
        if (!s.ok()) return s;
      }
    }
    if (s = txn.Delete(legacy_ready, k); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<uint64_t> Store::Impl::DeleteAttempts(LmdbTxn& txn, uint64_t seq, uint32_t below) {
  std::string prefix = Be64(seq);
  std::vector<std::string> doomed;
  Status s = txn.Scan(attempts, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
    if (!k.starts_with(prefix) || k.size() != 12) return Step::kStop;
    if (ReadBe32(k.substr(8)) >= below) return Step::kStop;
    doomed.emplace_back(k);
    return Step::kNext;
  });
  if (!s.ok()) return s;
  for (const std::string& k : doomed) {
    if (s = txn.Delete(attempts, k); !s.ok()) return s;
  }
  return static_cast<uint64_t>(doomed.size());
}

// ---- Store -------------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  auto impl = std::make_unique<Impl>();
  LmdbEnv::Options env_options;
  env_options.dir = options.dir;
  env_options.initial_map_bytes = options.initial_map_bytes;
  env_options.max_map_bytes = options.max_map_bytes;
  env_options.when_full = options.when_full;
  env_options.max_tables = static_cast<unsigned>(impl->AllTables().size());
  Result<std::unique_ptr<LmdbEnv>> env = LmdbEnv::Open(env_options);
  if (!env.ok()) return env.status();
  impl->env = std::move(*env);

  Status s = impl->env->Write([&](LmdbTxn& txn) -> Status {
    for (Table* table : impl->AllTables()) {
      if (Status opened = txn.OpenTable(table); !opened.ok()) return opened;
    }
    if (Status checked = impl->CheckSchema(txn); !checked.ok()) return checked;
    return impl->MigrateReady(txn);
  });
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

void Store::SetMaxMapBytes(size_t max_map_bytes) {
  impl_->env->SetMaxMapBytes(max_map_bytes);
}

const std::string& Store::dir() const {
  return impl_->env->dir();
}

Result<std::vector<Store::AddOutcome>> Store::AddWatches(const std::vector<WatchKey>& keys,
                                                         int64_t now_ms, int64_t first_poll_ms) {
  std::vector<NewWatch> watches;
  watches.reserve(keys.size());
  for (const WatchKey& key : keys)
    watches.push_back(NewWatch{key, first_poll_ms});
  return AddWatches(watches, now_ms);
}

Result<std::vector<Store::AddOutcome>> Store::AddWatches(const std::vector<NewWatch>& watches,
                                                         int64_t now_ms) {
  std::vector<AddOutcome> outcomes;
  Status s = impl_->env->Write([&](LmdbTxn& txn) -> Status {
    outcomes.clear();
    for (const NewWatch& watch : watches) {
      const WatchKey& key = watch.key;
      const int64_t first_poll_ms = watch.first_poll_ms;
      Result<std::optional<WatchRecord>> stored = impl_->ReadWatch(txn, key);
      if (!stored.ok()) return stored.status();
      const WatchRecord* old = stored->has_value() ? &**stored : nullptr;
      AddOutcome outcome;
      if (old != nullptr && old->state != WatchState::kDone) {
        outcome.cycle = old->cycle;
        // Watching a watched document again is the ERP saying "look now" (it may have just
        // cancelled or corrected it), so an earlier first poll wins over the schedule.
        if (old->next_poll_ms == 0 || first_poll_ms < old->next_poll_ms) {
          WatchRecord sooner = *old;
          sooner.next_poll_ms = first_poll_ms;
          if (Status w = impl_->WriteWatch(txn, key, old, sooner); !w.ok()) return w;
          outcome.polled_sooner = true;
        }
        outcomes.push_back(outcome);
        continue;
      }

      WatchRecord record;
      if (old == nullptr) {
        outcome.created = true;
        record.created_ms = now_ms;
      } else {
        // A new cycle forgets what the last one observed but keeps the watch's own facts.
        outcome.new_cycle = true;
        record.cycle = old->cycle + 1;
        record.created_ms = old->created_ms;
        record.last_polled_ms = old->last_polled_ms;
      }
      record.cycle_started_ms = now_ms;
      record.next_poll_ms = first_poll_ms;
      if (Status w = impl_->WriteWatch(txn, key, old, record); !w.ok()) return w;
      outcome.cycle = record.cycle;
      outcomes.push_back(outcome);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return outcomes;
}

Status Store::RemoveWatch(const WatchKey& key) {
  bool found = false;
  Status s = impl_->env->Write([&](LmdbTxn& txn) -> Status {
    Result<std::optional<WatchRecord>> stored = impl_->ReadWatch(txn, key);
    if (!stored.ok()) return stored.status();
    found = stored->has_value();
    if (!found) return Status::Ok();
    if (HasDueEntry(**stored)) {
      if (Status d = txn.Delete(impl_->due, DueKey((*stored)->next_poll_ms, key)); !d.ok()) {
        return d;
      }
    }
    return txn.Delete(impl_->watches, key.Encode());
  });
  if (!s.ok()) return s;
  if (!found) return Status::NotFound("no watch for " + key.ToString());
  return Status::Ok();
}

Result<WatchRecord> Store::GetWatch(const WatchKey& key) {
  std::optional<WatchRecord> record;
  Status s = impl_->env->Read([&](LmdbTxn& txn) -> Status {
    Result<std::optional<WatchRecord>> stored = impl_->ReadWatch(txn, key);
    if (!stored.ok()) return stored.status();
    record = std::move(*stored);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!record.has_value()) return Status::NotFound("no watch for " + key.ToString());
  return std::move(*record);
}

Result<std::vector<DueWatch>> Store::DueWatches(int64_t now_ms, size_t limit) {
  std::vector<DueWatch> out;
  if (limit == 0) return out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    uint64_t now = ReadBe64(TimeKey(now_ms));
    return txn.Scan(impl.due, "", [&](std::string_view k, std::string_view) -> Result<Step> {
      std::optional<WatchKey> key =
          k.size() > 8 ? WatchKey::Decode(k.substr(8)) : std::optional<WatchKey>();
      if (!key.has_value()) {
        return impl.Corrupt(Status::Corruption("undecodable due key"), impl.due,
                            std::to_string(k.size()) + " bytes");
      }
      if (ReadBe64(k) > now) return Step::kStop;
      Result<std::optional<WatchRecord>> record = impl.ReadWatch(txn, *key);
      if (!record.ok()) return record.status();
      if (!record->has_value()) {
        return impl.Corrupt(Status::Corruption("scheduled watch has no record"), impl.due,
                            key->ToString());
      }
      out.push_back(DueWatch{std::move(*key), std::move(**record)});
      return out.size() < limit ? Step::kNext : Step::kStop;
    });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<int64_t>> Store::NextDueMs() {
  std::optional<int64_t> next;
  Status s = impl_->env->Read([&](LmdbTxn& txn) -> Status {
    next.reset();
    return txn.Scan(impl_->due, "", [&](std::string_view k, std::string_view) -> Result<Step> {
      if (k.size() < 8) {
        return impl_->Corrupt(Status::Corruption("due key too short"), impl_->due,
                              std::to_string(k.size()) + " bytes");
      }
      next = static_cast<int64_t>(ReadBe64(k));
      return Step::kStop;
    });
  });
  if (!s.ok()) return s;
  return next;
}

Status Store::Apply(const std::vector<WatchUpdate>& updates) {
  Impl& impl = *impl_;
  return impl.env->Write([&](LmdbTxn& txn) -> Status {
    Result<uint64_t> first_seq = impl.ReadNextSeq(txn);
    if (!first_seq.ok()) return first_seq.status();
    uint64_t next_seq = *first_seq;

    for (const WatchUpdate& update : updates) {
      Result<std::optional<WatchRecord>> stored = impl.ReadWatch(txn, update.key);
      if (!stored.ok()) return stored.status();
      // The poll was planned for a cycle the watch has since left (the ERP re-submitted the
      // ref): its conclusions are about a document that is no longer the current one.
      if (!stored->has_value() || (*stored)->cycle != update.expected_cycle) continue;
      if (Status s = impl.WriteWatch(txn, update.key, &**stored, update.record); !s.ok()) return s;

      for (const EventRecord& proposed : update.events) {
        // The event's document is the one being updated, whatever key the caller left in it.
        Result<bool> appended = impl.AppendEvent(txn, proposed, update.key, &next_seq);
        if (!appended.ok()) return appended.status();
      }

      if (update.history.has_value()) {
        if (Status s = impl.AppendHistory(txn, update.key, *update.history); !s.ok()) return s;
      }
    }
    if (next_seq == *first_seq) return Status::Ok();
    return txn.Put(impl.meta, kNextSeqName, Be64(next_seq));
  });
}

namespace {

// A recorded time moved by a wall step; 0 means "never" and stays 0.
int64_t Shifted(int64_t ms, int64_t delta_ms) {
  return ms == 0 ? 0 : ms + delta_ms;
}

}  // namespace

Result<uint64_t> Store::ShiftPolls(int64_t delta_ms) {
  Impl& impl = *impl_;
  uint64_t moved = 0;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    moved = 0;
    // The keys first: rewriting a watch moves its `due` entry, which a scan must not see.
    std::vector<WatchKey> keys;
    Status scanned =
        txn.Scan(impl.due, "", [&](std::string_view k, std::string_view) -> Result<Step> {
          std::optional<WatchKey> key =
              k.size() > 8 ? WatchKey::Decode(k.substr(8)) : std::optional<WatchKey>();
          if (!key.has_value()) {
            return impl.Corrupt(Status::Corruption("undecodable due key"), impl.due,
                                std::to_string(k.size()) + " bytes");
          }
          keys.push_back(std::move(*key));
          return Step::kNext;
        });
    if (!scanned.ok()) return scanned;
    for (const WatchKey& key : keys) {
      Result<std::optional<WatchRecord>> old = impl.ReadWatch(txn, key);
      if (!old.ok()) return old.status();
      if (!old->has_value()) continue;
      WatchRecord updated = **old;
      updated.next_poll_ms = Shifted(updated.next_poll_ms, delta_ms);
      updated.cycle_started_ms = Shifted(updated.cycle_started_ms, delta_ms);
      updated.last_polled_ms = Shifted(updated.last_polled_ms, delta_ms);
      updated.not_found_since_ms = Shifted(updated.not_found_since_ms, delta_ms);
      if (Status w = impl.WriteWatch(txn, key, &**old, updated); !w.ok()) return w;
      ++moved;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return moved;
}

Result<uint64_t> Store::ShiftRetries(int64_t delta_ms) {
  Impl& impl = *impl_;
  uint64_t moved = 0;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    moved = 0;
    // Every pending event is in `queue`; WriteEvent() rewrites that table, so collect first.
    std::vector<uint64_t> seqs;
    Status scanned =
        txn.Scan(impl.queue, "", [&](std::string_view k, std::string_view) -> Result<Step> {
          if (k.size() < 8) {
            return impl.Corrupt(Status::Corruption("queue key too short"), impl.queue,
                                std::to_string(k.size()) + " bytes");
          }
          seqs.push_back(ReadBe64(k.substr(k.size() - 8)));
          return Step::kNext;
        });
    if (!scanned.ok()) return scanned;
    for (uint64_t seq : seqs) {
      Result<std::optional<EventRecord>> old = impl.ReadEvent(txn, seq);
      if (!old.ok()) return old.status();
      if (!old->has_value() || (*old)->state != EventState::kPending) continue;
      EventRecord updated = **old;
      updated.next_attempt_ms = Shifted(updated.next_attempt_ms, delta_ms);
      updated.first_attempt_ms = Shifted(updated.first_attempt_ms, delta_ms);
      if (Status w = impl.WriteEvent(txn, &**old, updated); !w.ok()) return w;
      ++moved;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return moved;
}

Result<std::vector<DueWatch>> Store::ListWatches(const std::string& company,
                                                 std::optional<DocType> type, size_t limit) {
  std::vector<DueWatch> out;
  if (limit == 0) return out;
  // Company ids never contain NUL, so company + '\0' selects exactly one company.
  std::string prefix;
  if (!company.empty()) {
    prefix = company + '\0';
    if (type.has_value()) {
      prefix += static_cast<char>(*type);
      prefix += '\0';
    }
  }
  Impl& impl = *impl_;
  LmdbTxn::Visitor visit = [&](std::string_view k, std::string_view v) -> Result<Step> {
    if (!k.starts_with(prefix)) return Step::kStop;
    std::optional<WatchKey> key = WatchKey::Decode(k);
    if (!key.has_value()) {
      return impl.Corrupt(Status::Corruption("undecodable watch key"), impl.watches,
                          std::to_string(k.size()) + " bytes");
    }
    if (type.has_value() && key->type != *type) return Step::kNext;
    Result<WatchRecord> record = DecodeWatchRecord(v);
    if (!record.ok()) return impl.Corrupt(record.status(), impl.watches, key->ToString());
    out.push_back(DueWatch{std::move(*key), std::move(*record)});
    return out.size() < limit ? Step::kNext : Step::kStop;
  };
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.watches, prefix, visit);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<HistoryEntry>> Store::History(const WatchKey& key) {
  std::vector<HistoryEntry> out;
  std::string prefix = DocumentPrefix(key);
  Impl& impl = *impl_;
  LmdbTxn::Visitor visit = [&](std::string_view k, std::string_view v) -> Result<Step> {
    if (!k.starts_with(prefix)) return Step::kStop;
    Result<HistoryEntry> entry = DecodeHistoryEntry(v);
    if (!entry.ok()) return impl.Corrupt(entry.status(), impl.history, key.ToString());
    out.push_back(std::move(*entry));
    return Step::kNext;
  };
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.history, prefix, visit);
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<EventRecord>> Store::ReadyEvents(const std::string& company, int64_t now_ms,
                                                    size_t limit) {
  std::vector<EventRecord> out;
  if (limit == 0) return out;
  Impl& impl = *impl_;
  std::string prefix = ReadyPrefix(company);
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    uint64_t now = ReadBe64(TimeKey(now_ms));
    return txn.Scan(
        impl.company_ready, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
          if (!k.starts_with(prefix)) return Step::kStop;
          if (k.size() != prefix.size() + 16) {
            return impl.Corrupt(
                Status::Corruption("ready key has " + std::to_string(k.size()) +
                                   " bytes instead of " + std::to_string(prefix.size() + 16)),
                impl.company_ready, company);
          }
          std::string_view rest = k.substr(prefix.size());
          if (ReadBe64(rest) > now) return Step::kStop;
          uint64_t seq = ReadBe64(rest.substr(8));
          Result<std::optional<EventRecord>> event = impl.ReadEvent(txn, seq);
          if (!event.ok()) return event.status();
          if (!event->has_value()) {
            return impl.Corrupt(Status::Corruption("ready event is not in the outbox"),
                                impl.company_ready, SeqName(seq));
          }
          out.push_back(std::move(**event));
          return out.size() < limit ? Step::kNext : Step::kStop;
        });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::pair<int64_t, uint64_t>>> Store::ReadyTimes(const std::string& company,
                                                                    size_t limit) {
  std::vector<std::pair<int64_t, uint64_t>> out;
  if (limit == 0) return out;
  Impl& impl = *impl_;
  std::string prefix = ReadyPrefix(company);
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(
        impl.company_ready, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
          if (!k.starts_with(prefix)) return Step::kStop;
          if (k.size() != prefix.size() + 16) {
            return impl.Corrupt(
                Status::Corruption("ready key has " + std::to_string(k.size()) + " bytes"),
                impl.company_ready, company);
          }
          std::string_view rest = k.substr(prefix.size());
          out.emplace_back(static_cast<int64_t>(ReadBe64(rest)), ReadBe64(rest.substr(8)));
          return out.size() < limit ? Step::kNext : Step::kStop;
        });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::string>> Store::CompaniesWithPendingEvents() {
  std::vector<std::string> out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    // One short scan per company: each stops at the company's first entry, and the next starts
    // past all of that company's keys ('\x01' sorts right after the '\0' separator).
    std::string from;
    while (true) {
      std::optional<std::string> company;
      Status scanned = txn.Scan(
          impl.company_ready, from, [&](std::string_view k, std::string_view) -> Result<Step> {
            size_t nul = k.find('\0');
            if (nul == std::string_view::npos) {
              return impl.Corrupt(Status::Corruption("ready key has no company"),
                                  impl.company_ready, "(undecodable)");
            }
            company.emplace(k.substr(0, nul));
            return Step::kStop;
          });
      if (!scanned.ok()) return scanned;
      if (!company.has_value()) return Status::Ok();
      from = *company + '\x01';
      out.push_back(std::move(*company));
    }
  });
  if (!s.ok()) return s;
  return out;
}

Status Store::RecordAttempt(uint64_t seq, const AttemptRecord& attempt, EventState new_state,
                            int64_t next_attempt_ms) {
  Impl& impl = *impl_;
  return impl.env->Write([&](LmdbTxn& txn) -> Status {
    Result<std::optional<EventRecord>> stored = impl.ReadEvent(txn, seq);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) {
      return Status::NotFound("event " + SeqName(seq) + " is not in the outbox of the store at " +
                              impl.env->dir());
    }
    AttemptRecord logged = attempt;
    logged.event_seq = seq;
    Status s = txn.Put(impl.attempts, AttemptKey(seq, logged.number), EncodeAttemptRecord(logged));
    if (!s.ok()) return s;
    if (logged.number > kMaxAttemptsPerEvent) {
      Result<uint64_t> dropped =
          impl.DeleteAttempts(txn, seq, logged.number - kMaxAttemptsPerEvent + 1);
      if (!dropped.ok()) return dropped.status();
    }

    EventRecord updated = **stored;
    updated.attempts = attempt.number;
    updated.state = new_state;
    updated.next_attempt_ms = next_attempt_ms;
    updated.delivered_ms = new_state == EventState::kDelivered ? attempt.time_ms : 0;
    if (updated.first_attempt_ms == 0) updated.first_attempt_ms = attempt.time_ms;
    updated.finished_ms = new_state == EventState::kPending ? 0 : attempt.time_ms;
    return impl.WriteEvent(txn, &**stored, updated);
  });
}

Result<bool> Store::Redeliver(uint64_t seq, int64_t now_ms) {
  Impl& impl = *impl_;
  bool changed = false;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    changed = false;
    Result<std::optional<EventRecord>> stored = impl.ReadEvent(txn, seq);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) {
      return Status::NotFound("event " + SeqName(seq) + " is not in the outbox of the store at " +
                              impl.env->dir());
    }
    if ((*stored)->state == EventState::kPending) return Status::Ok();
    EventRecord updated = **stored;
    updated.state = EventState::kPending;
    updated.next_attempt_ms = now_ms;
    updated.first_attempt_ms = 0;
    updated.finished_ms = 0;
    updated.delivered_ms = 0;
    changed = true;
    return impl.WriteEvent(txn, &**stored, updated);
  });
  if (!s.ok()) return s;
  return changed;
}

Result<EventRecord> Store::FindEvent(const std::string& id) {
  Impl& impl = *impl_;
  std::optional<EventRecord> event;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    event.reset();
    auto found = txn.Get(impl.event_ids, id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::Ok();
    if ((*found)->size() != 8) {
      return impl.Corrupt(Status::Corruption("event id entry is not 8 bytes"), impl.event_ids, id);
    }
    Result<std::optional<EventRecord>> stored = impl.ReadEvent(txn, ReadBe64(**found));
    if (!stored.ok()) return stored.status();
    event = std::move(*stored);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!event.has_value()) {
    return Status::NotFound("no event with id " + id + " in the store at " + impl.env->dir() +
                            "; `gatilho events` lists the ids");
  }
  return std::move(*event);
}

Result<std::vector<EventRecord>> Store::ListEvents(const EventQuery& filter) {
  std::vector<EventRecord> out;
  if (filter.limit == 0) return out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    // TODO(scale): a filtered listing reads the outbox from its start; retention keeps that
    // bounded, and an index by company and time would make it proportional to the answer.
    return impl.ScanOutbox(txn, [&](EventRecord&& event) -> Result<Step> {
      if (!filter.company.empty() && event.key.company != filter.company) return Step::kNext;
      if (filter.state.has_value() && event.state != *filter.state) return Step::kNext;
      if (event.created_ms < filter.since_ms) return Step::kNext;
      out.push_back(std::move(event));
      return out.size() < filter.limit ? Step::kNext : Step::kStop;
    });
  });
  if (!s.ok()) return s;
  return out;
}

Result<size_t> Store::SupersedeOlderEvents(const WatchKey& key, int64_t now_ms) {
  Impl& impl = *impl_;
  size_t superseded = 0;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    superseded = 0;
    std::string prefix = DocumentPrefix(key);
    std::vector<uint64_t> pending;
    Status scanned =
        txn.Scan(impl.queue, prefix, [&](std::string_view k, std::string_view) -> Result<Step> {
          if (!k.starts_with(prefix)) return Step::kStop;
          if (k.size() != prefix.size() + 8) {
            return impl.Corrupt(
                Status::Corruption("queue key has " + std::to_string(k.size()) + " bytes"),
                impl.queue, key.ToString());
          }
          pending.push_back(ReadBe64(k.substr(prefix.size())));
          return Step::kNext;
        });
    if (!scanned.ok()) return scanned;
    if (pending.size() < 2) return Status::Ok();
    pending.pop_back();  // the newest carries the state to deliver
    for (uint64_t seq : pending) {
      Result<std::optional<EventRecord>> stored = impl.ReadEvent(txn, seq);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) continue;
      EventRecord updated = **stored;
      updated.state = EventState::kSuperseded;
      updated.finished_ms = now_ms;
      if (Status w = impl.WriteEvent(txn, &**stored, updated); !w.ok()) return w;
      ++superseded;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return superseded;
}

Result<PruneOutcome> Store::PruneFinished(int64_t before_ms, size_t max_scan) {
  Impl& impl = *impl_;
  PruneOutcome outcome;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    outcome = PruneOutcome();
    std::vector<EventRecord> doomed;
    size_t scanned = 0;
    // The outbox is in seq order, which is creation order, and an event finishes after it is
    // created: past the first event created after before_ms nothing can be old enough.
    Status read = impl.ScanOutbox(txn, [&](EventRecord&& event) -> Result<Step> {
      if (scanned++ >= max_scan) {
        outcome.more = true;
        return Step::kStop;
      }
      if (event.created_ms >= before_ms) return Step::kStop;
      if (event.state != EventState::kPending && event.finished_ms < before_ms) {
        doomed.push_back(std::move(event));
      }
      return Step::kNext;
    });
    if (!read.ok()) return read;
    for (const EventRecord& event : doomed) {
      Result<uint64_t> attempts =
          impl.DeleteAttempts(txn, event.seq, std::numeric_limits<uint32_t>::max());
      if (!attempts.ok()) return attempts.status();
      outcome.attempts += *attempts;
      if (Status d = txn.Delete(impl.outbox, Be64(event.seq)); !d.ok()) return d;
      // Forgetting the id is safe this long after: the id only guards against the same change
      // being appended twice by polls committed moments apart.
      if (Status d = txn.Delete(impl.event_ids, event.id); !d.ok()) return d;
      ++outcome.events;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return outcome;
}

Result<EndpointRecord> Store::GetEndpoint(const std::string& sink) {
  Impl& impl = *impl_;
  EndpointRecord record;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    record = EndpointRecord();
    auto found = txn.Get(impl.endpoints, sink);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::Ok();
    Result<EndpointRecord> decoded = DecodeEndpointRecord(**found);
    if (!decoded.ok()) return impl.Corrupt(decoded.status(), impl.endpoints, sink);
    record = std::move(*decoded);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return record;
}

Status Store::PutEndpoint(const std::string& sink, const EndpointRecord& record) {
  Impl& impl = *impl_;
  return impl.env->Write([&](LmdbTxn& txn) -> Status {
    return txn.Put(impl.endpoints, sink, EncodeEndpointRecord(record));
  });
}

Result<std::vector<std::pair<std::string, EndpointRecord>>> Store::Endpoints() {
  Impl& impl = *impl_;
  std::vector<std::pair<std::string, EndpointRecord>> out;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.endpoints, "",
                    [&](std::string_view k, std::string_view v) -> Result<Step> {
                      Result<EndpointRecord> decoded = DecodeEndpointRecord(v);
                      if (!decoded.ok()) return impl.Corrupt(decoded.status(), impl.endpoints, k);
                      out.emplace_back(std::string(k), std::move(*decoded));
                      return Step::kNext;
                    });
  });
  if (!s.ok()) return s;
  return out;
}

Status Store::Reschedule(uint64_t seq, int64_t next_attempt_ms) {
  Impl& impl = *impl_;
  return impl.env->Write([&](LmdbTxn& txn) -> Status {
    Result<std::optional<EventRecord>> stored = impl.ReadEvent(txn, seq);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) {
      return Status::NotFound("event " + SeqName(seq) + " is not in the outbox of the store at " +
                              impl.env->dir());
    }
    if ((*stored)->state != EventState::kPending) return Status::Ok();
    EventRecord updated = **stored;
    updated.next_attempt_ms = next_attempt_ms;
    return impl.WriteEvent(txn, &**stored, updated);
  });
}

Result<EventRecord> Store::GetEvent(uint64_t seq) {
  std::optional<EventRecord> event;
  Status s = impl_->env->Read([&](LmdbTxn& txn) -> Status {
    Result<std::optional<EventRecord>> stored = impl_->ReadEvent(txn, seq);
    if (!stored.ok()) return stored.status();
    event = std::move(*stored);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!event.has_value()) {
    return Status::NotFound("event " + SeqName(seq) + " is not in the outbox of the store at " +
                            impl_->env->dir());
  }
  return std::move(*event);
}

Result<std::vector<EventRecord>> Store::EventsFor(const WatchKey& key) {
  std::vector<EventRecord> out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    // TODO(scale): this reads the whole outbox; an index of every event by document (like
    // `queue`, but keeping delivered and dead events) would make it proportional to the answer.
    return impl.ScanOutbox(txn, [&](EventRecord&& event) -> Result<Step> {
      if (event.key == key) out.push_back(std::move(event));
      return Step::kNext;
    });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<AttemptRecord>> Store::Attempts(uint64_t seq) {
  std::vector<AttemptRecord> out;
  std::string prefix = Be64(seq);
  Impl& impl = *impl_;
  LmdbTxn::Visitor visit = [&](std::string_view k, std::string_view v) -> Result<Step> {
    if (!k.starts_with(prefix)) return Step::kStop;
    Result<AttemptRecord> attempt = DecodeAttemptRecord(v);
    if (!attempt.ok()) {
      std::string number = k.size() == 12 ? std::to_string(ReadBe32(k.substr(8))) : "?";
      return impl.Corrupt(attempt.status(), impl.attempts, SeqName(seq) + " attempt " + number);
    }
    out.push_back(std::move(*attempt));
    return Step::kNext;
  };
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.attempts, prefix, visit);
  });
  if (!s.ok()) return s;
  return out;
}

Result<TokenRecord> Store::GetToken(const std::string& handle) {
  std::optional<TokenRecord> token;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    token.reset();
    auto found = txn.Get(impl.tokens, handle);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::Ok();
    Result<TokenRecord> decoded = DecodeTokenRecord(**found);
    // The handle is a digest of the token, never the token itself, so naming it is safe.
    if (!decoded.ok()) return impl.Corrupt(decoded.status(), impl.tokens, handle);
    token = std::move(*decoded);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!token.has_value()) return Status::NotFound("no rate-limit record for token " + handle);
  return *token;
}

Status Store::PutToken(const std::string& handle, const TokenRecord& record) {
  return impl_->env->Write([&](LmdbTxn& txn) -> Status {
    return txn.Put(impl_->tokens, handle, EncodeTokenRecord(record));
  });
}

Result<std::vector<std::pair<std::string, TokenRecord>>> Store::Tokens() {
  std::vector<std::pair<std::string, TokenRecord>> out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.tokens, "", [&](std::string_view k, std::string_view v) -> Result<Step> {
      Result<TokenRecord> decoded = DecodeTokenRecord(v);
      if (!decoded.ok()) return impl.Corrupt(decoded.status(), impl.tokens, k);
      out.emplace_back(std::string(k), std::move(*decoded));
      return Step::kNext;
    });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<FeedCursor>> Store::GetCursor(const FeedCursorKey& key) {
  std::optional<FeedCursor> cursor;
  Impl& impl = *impl_;
  const std::string encoded = CursorKey(key);
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    cursor.reset();
    auto found = txn.Get(impl.cursors, encoded);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::Ok();
    Result<FeedCursor> decoded = DecodeFeedCursor(**found);
    if (!decoded.ok()) {
      return impl.Corrupt(decoded.status(), impl.cursors,
                          key.cnpj + "/" + key.feed + "/" + key.environment);
    }
    cursor = *decoded;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return cursor;
}

Result<size_t> Store::ApplyFeedPage(const FeedCursorKey& key, const FeedCursor& cursor,
                                    const std::vector<EventRecord>& events) {
  size_t appended = 0;
  Impl& impl = *impl_;
  Status s = impl.env->Write([&](LmdbTxn& txn) -> Status {
    appended = 0;
    Result<uint64_t> first_seq = impl.ReadNextSeq(txn);
    if (!first_seq.ok()) return first_seq.status();
    uint64_t next_seq = *first_seq;
    for (const EventRecord& event : events) {
      Result<bool> added = impl.AppendEvent(txn, event, event.key, &next_seq);
      if (!added.ok()) return added.status();
      if (*added) ++appended;
    }
    if (Status put = txn.Put(impl.cursors, CursorKey(key), EncodeFeedCursor(cursor)); !put.ok()) {
      return put;
    }
    if (next_seq == *first_seq) return Status::Ok();
    return txn.Put(impl.meta, kNextSeqName, Be64(next_seq));
  });
  if (!s.ok()) return s;
  return appended;
}

namespace {

std::string ModelKey(const std::string& company, DocType type) {
  std::string key = company;
  key += '\0';
  key += static_cast<char>(type);
  return key;
}

}  // namespace

Status Store::PutModels(const std::vector<ModelRecord>& models) {
  return impl_->env->Write([&](LmdbTxn& txn) -> Status {
    for (const ModelRecord& model : models) {
      Status s = txn.Put(impl_->models, ModelKey(model.company, model.type), model.bytes);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  });
}

Result<std::vector<ModelRecord>> Store::Models() {
  std::vector<ModelRecord> out;
  Impl& impl = *impl_;
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    out.clear();
    return txn.Scan(impl.models, "", [&](std::string_view k, std::string_view v) -> Result<Step> {
      size_t sep = k.find('\0');
      if (sep == std::string_view::npos || sep + 2 != k.size()) {
        return impl.Corrupt(Status::Corruption("bad model key"), impl.models, "(undecodable)");
      }
      // The model bytes are checked by their reader (CompletionModel::Decode), which keeps
      // the prior when they cannot be read.
      out.push_back(ModelRecord{std::string(k.substr(0, sep)),
                                static_cast<DocType>(static_cast<uint8_t>(k[sep + 1])),
                                std::string(v)});
      return Step::kNext;
    });
  });
  if (!s.ok()) return s;
  return out;
}

Result<StoreCounts> Store::Counts() {
  StoreCounts counts;
  Impl& impl = *impl_;
  LmdbTxn::Visitor count_watch = [&](std::string_view k, std::string_view v) -> Result<Step> {
    Result<WatchRecord> record = DecodeWatchRecord(v);
    if (!record.ok()) {
      std::optional<WatchKey> key = WatchKey::Decode(k);
      return impl.Corrupt(record.status(), impl.watches,
                          key.has_value() ? key->ToString() : "(undecodable)");
    }
    switch (record->state) {
      case WatchState::kPending:
        ++counts.watches_pending;
        break;
      case WatchState::kFollowing:
        ++counts.watches_following;
        break;
      case WatchState::kDone:
        ++counts.watches_done;
        break;
      case WatchState::kPaused:
        ++counts.watches_paused;
        break;
    }
    if (record->error_streak > 0) ++counts.watches_failing;
    return Step::kNext;
  };
  auto count_event = [&](EventRecord&& event) -> Result<Step> {
    switch (event.state) {
      case EventState::kPending:
        ++counts.events_pending;
        break;
      case EventState::kDelivered:
        ++counts.events_delivered;
        break;
      case EventState::kDead:
        ++counts.events_dead;
        break;
      case EventState::kSuperseded:
        ++counts.events_superseded;
        break;
    }
    return Step::kNext;
  };
  // TODO(scale): counting reads every watch and every event; counters kept in `meta` and
  // updated by each write would make this O(1).
  Status s = impl.env->Read([&](LmdbTxn& txn) -> Status {
    counts = StoreCounts();
    if (Status watched = txn.Scan(impl.watches, "", count_watch); !watched.ok()) return watched;
    return impl.ScanOutbox(txn, count_event);
  });
  if (!s.ok()) return s;
  return counts;
}

}  // namespace gatilho
