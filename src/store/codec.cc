#include "store/codec.h"

#include <algorithm>

namespace gatilho {
namespace {

// Appends fields in order, starting with the encoding version.
class Writer {
 public:
  explicit Writer(uint8_t version = kEncodingVersion) { U8(version); }

  void U8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void U32(uint32_t value) { out_ += Be32(value); }
  void U64(uint64_t value) { out_ += Be64(value); }
  // Signed values are stored as their two's complement bit pattern.
  void I32(int32_t value) { U32(static_cast<uint32_t>(value)); }
  void I64(int64_t value) { U64(static_cast<uint64_t>(value)); }
  void Str(std::string_view value) {
    U32(static_cast<uint32_t>(value.size()));
    out_ += value;
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields in the order a Writer wrote them. After the first short read every further read
// yields zero or empty, so a decoder reads all its fields and checks Finish() once.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  uint8_t U8() {
    std::string_view b = Take(1);
    return b.empty() ? 0 : static_cast<uint8_t>(b[0]);
  }
  uint32_t U32() {
    std::string_view b = Take(4);
    return b.empty() ? 0 : ReadBe32(b);
  }
  uint64_t U64() {
    std::string_view b = Take(8);
    return b.empty() ? 0 : ReadBe64(b);
  }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Str() { return std::string(Take(U32())); }

  // Reads the version byte; a Corruption status unless it is between 1 and `newest`, the
  // versions this build reads for the record at hand. The version read is kept in version().
  Status Version(uint8_t newest = kEncodingVersion) {
    if (bytes_.empty()) return Status::Corruption("empty value");
    version_ = U8();
    if (version_ >= 1 && version_ <= newest) return Status::Ok();
    return Status::Corruption("unknown encoding version " + std::to_string(version_) +
                              " (this gatilho reads versions up to " + std::to_string(newest) +
                              "); was it written by a newer gatilho?");
  }
  uint8_t version() const { return version_; }

  // Records that a field held a value outside its range.
  void Invalid(std::string what) {
    if (invalid_.empty()) invalid_ = std::move(what);
  }

  // OK when every field was present and valid and no bytes are left over.
  Status Finish() const {
    if (truncated_) return Status::Corruption("value is truncated");
    if (!invalid_.empty()) return Status::Corruption(invalid_);
    if (pos_ != bytes_.size()) {
      return Status::Corruption(std::to_string(bytes_.size() - pos_) +
                                " unexpected bytes after the last field");
    }
    return Status::Ok();
  }

 private:
  std::string_view Take(size_t n) {
    if (truncated_ || bytes_.size() - pos_ < n) {
      truncated_ = true;
      return {};
    }
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  std::string_view bytes_;
  uint8_t version_ = 0;
  size_t pos_ = 0;
  bool truncated_ = false;
  std::string invalid_;
};

WatchState ReadWatchState(Reader& in) {
  uint8_t value = in.U8();
  if (value < 1 || value > 4) in.Invalid("unknown watch state " + std::to_string(value));
  return static_cast<WatchState>(value);
}

EventState ReadEventState(Reader& in) {
  uint8_t value = in.U8();
  if (value < 1 || value > 4) in.Invalid("unknown event state " + std::to_string(value));
  return static_cast<EventState>(value);
}

DocType ReadDocType(Reader& in) {
  uint8_t value = in.U8();
  bool known = std::any_of(kAllDocTypes.begin(), kAllDocTypes.end(),
                           [&](DocType type) { return static_cast<uint8_t>(type) == value; });
  if (!known) in.Invalid("unknown document type " + std::to_string(value));
  return static_cast<DocType>(value);
}

}  // namespace

std::string Be32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::string Be64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

uint32_t ReadBe32(std::string_view bytes) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

uint64_t ReadBe64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

std::string TimeKey(int64_t ms) {
  return Be64(static_cast<uint64_t>(std::max<int64_t>(ms, 0)));
}

std::string DueKey(int64_t next_poll_ms, const WatchKey& key) {
  return TimeKey(next_poll_ms) + key.Encode();
}

std::string DocumentPrefix(const WatchKey& key) {
  return key.Encode() + '\0';
}

std::string HistoryKey(const WatchKey& key, int64_t time_ms, uint32_t n) {
  return DocumentPrefix(key) + TimeKey(time_ms) + Be32(n);
}

std::string QueueKey(const WatchKey& key, uint64_t seq) {
  return DocumentPrefix(key) + Be64(seq);
}

std::string ReadyPrefix(std::string_view company) {
  std::string prefix(company);
  prefix.push_back('\0');
  return prefix;
}

std::string ReadyKey(std::string_view company, int64_t next_attempt_ms, uint64_t seq) {
  return ReadyPrefix(company) + TimeKey(next_attempt_ms) + Be64(seq);
}

std::string AttemptKey(uint64_t seq, uint32_t number) {
  return Be64(seq) + Be32(number);
}

std::string CursorKey(const FeedCursorKey& key) {
  return key.cnpj + '\0' + key.feed + '\0' + key.environment;
}

// ---- values ----------------------------------------------------------------------------------
// The field order below is the version-1 format (version 2 for event records, which append two
// fields, and for token records, which append one): changing it requires a new version number
// and a decoder that still reads the older ones.

std::string EncodeWatchRecord(const WatchRecord& record) {
  Writer out;
  out.U32(record.cycle);
  out.I64(record.created_ms);
  out.I64(record.cycle_started_ms);
  out.I64(record.last_polled_ms);
  out.I64(record.next_poll_ms);
  out.I64(record.cycle_ended_ms);
  out.U32(record.poll_count);
  out.U32(record.error_streak);
  out.I64(record.not_found_since_ms);
  out.U8(static_cast<uint8_t>(record.state));
  out.Str(record.last_status);
  out.Str(record.fingerprint);
  out.Str(record.detail);
  return out.Take();
}

Result<WatchRecord> DecodeWatchRecord(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(); !version.ok()) return version;
  WatchRecord record;
  record.cycle = in.U32();
  record.created_ms = in.I64();
  record.cycle_started_ms = in.I64();
  record.last_polled_ms = in.I64();
  record.next_poll_ms = in.I64();
  record.cycle_ended_ms = in.I64();
  record.poll_count = in.U32();
  record.error_streak = in.U32();
  record.not_found_since_ms = in.I64();
  record.state = ReadWatchState(in);
  record.last_status = in.Str();
  record.fingerprint = in.Str();
  record.detail = in.Str();
  if (Status done = in.Finish(); !done.ok()) return done;
  return record;
}

std::string EncodeHistoryEntry(const HistoryEntry& entry) {
  Writer out;
  out.I64(entry.time_ms);
  out.U32(entry.cycle);
  out.I32(entry.http_status);
  out.Str(entry.outcome);
  out.Str(entry.status);
  out.Str(entry.note);
  return out.Take();
}

Result<HistoryEntry> DecodeHistoryEntry(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(); !version.ok()) return version;
  HistoryEntry entry;
  entry.time_ms = in.I64();
  entry.cycle = in.U32();
  entry.http_status = in.I32();
  entry.outcome = in.Str();
  entry.status = in.Str();
  entry.note = in.Str();
  if (Status done = in.Finish(); !done.ok()) return done;
  return entry;
}

std::string EncodeEventRecord(const EventRecord& event) {
  Writer out(kEventEncodingVersion);
  out.U64(event.seq);
  out.Str(event.id);
  out.Str(event.key.company);
  out.U8(static_cast<uint8_t>(event.key.type));
  out.Str(event.key.ref);
  out.U32(event.cycle);
  out.Str(event.type);
  out.Str(event.payload);
  out.I64(event.created_ms);
  out.U32(event.attempts);
  out.I64(event.next_attempt_ms);
  out.U8(static_cast<uint8_t>(event.state));
  out.I64(event.delivered_ms);
  out.I64(event.first_attempt_ms);
  out.I64(event.finished_ms);
  return out.Take();
}

Result<EventRecord> DecodeEventRecord(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(kEventEncodingVersion); !version.ok()) return version;
  EventRecord event;
  event.seq = in.U64();
  event.id = in.Str();
  event.key.company = in.Str();
  event.key.type = ReadDocType(in);
  event.key.ref = in.Str();
  event.cycle = in.U32();
  event.type = in.Str();
  event.payload = in.Str();
  event.created_ms = in.I64();
  event.attempts = in.U32();
  event.next_attempt_ms = in.I64();
  event.state = ReadEventState(in);
  event.delivered_ms = in.I64();
  if (in.version() >= 2) {
    event.first_attempt_ms = in.I64();
    event.finished_ms = in.I64();
  } else if (event.state != EventState::kPending) {
    // Version 1 kept no finish time; the delivery time, or failing that the creation time, is
    // the closest bound retention can count from.
    event.finished_ms = event.delivered_ms != 0 ? event.delivered_ms : event.created_ms;
  }
  if (Status done = in.Finish(); !done.ok()) return done;
  return event;
}

std::string EncodeAttemptRecord(const AttemptRecord& attempt) {
  Writer out;
  out.U64(attempt.event_seq);
  out.U32(attempt.number);
  out.I64(attempt.time_ms);
  out.Str(attempt.sink);
  out.I32(attempt.http_status);
  out.Str(attempt.error);
  out.I64(attempt.duration_ms);
  out.Str(attempt.response_excerpt);
  return out.Take();
}

Result<AttemptRecord> DecodeAttemptRecord(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(); !version.ok()) return version;
  AttemptRecord attempt;
  attempt.event_seq = in.U64();
  attempt.number = in.U32();
  attempt.time_ms = in.I64();
  attempt.sink = in.Str();
  attempt.http_status = in.I32();
  attempt.error = in.Str();
  attempt.duration_ms = in.I64();
  attempt.response_excerpt = in.Str();
  if (Status done = in.Finish(); !done.ok()) return done;
  return attempt;
}

std::string EncodeEndpointRecord(const EndpointRecord& endpoint) {
  Writer out;
  out.U8(endpoint.disabled ? 1 : 0);
  out.Str(endpoint.reason);
  out.I64(endpoint.changed_ms);
  return out.Take();
}

Result<EndpointRecord> DecodeEndpointRecord(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(); !version.ok()) return version;
  EndpointRecord endpoint;
  uint8_t disabled = in.U8();
  if (disabled > 1) in.Invalid("disabled flag is " + std::to_string(disabled));
  endpoint.disabled = disabled == 1;
  endpoint.reason = in.Str();
  endpoint.changed_ms = in.I64();
  if (Status done = in.Finish(); !done.ok()) return done;
  return endpoint;
}

std::string EncodeTokenRecord(const TokenRecord& token) {
  Writer out(kTokenEncodingVersion);
  out.I64(token.limit);
  out.I64(token.remaining);
  out.I64(token.reset_at_ms);
  out.I64(token.paused_until_ms);
  out.I64(token.updated_ms);
  out.I64(token.polls_total);
  out.I64(token.rate_limited_total);
  out.I64(token.polls_in_window);
  out.I64(token.share_credits);
  out.Str(token.companies);
  out.I64(token.erp_requests_total);
  return out.Take();
}

Result<TokenRecord> DecodeTokenRecord(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(kTokenEncodingVersion); !version.ok()) return version;
  TokenRecord token;
  token.limit = in.I64();
  token.remaining = in.I64();
  token.reset_at_ms = in.I64();
  token.paused_until_ms = in.I64();
  token.updated_ms = in.I64();
  token.polls_total = in.I64();
  token.rate_limited_total = in.I64();
  token.polls_in_window = in.I64();
  token.share_credits = in.I64();
  token.companies = in.Str();
  if (in.version() >= 2) token.erp_requests_total = in.I64();
  if (Status done = in.Finish(); !done.ok()) return done;
  return token;
}

std::string EncodeFeedCursor(const FeedCursor& cursor) {
  Writer out;
  out.I64(cursor.versao);
  out.I64(cursor.fetched_ms);
  return out.Take();
}

Result<FeedCursor> DecodeFeedCursor(std::string_view bytes) {
  Reader in(bytes);
  if (Status version = in.Version(); !version.ok()) return version;
  FeedCursor cursor;
  cursor.versao = in.I64();
  if (cursor.versao < 0) in.Invalid("negative versao " + std::to_string(cursor.versao));
  cursor.fetched_ms = in.I64();
  if (Status done = in.Finish(); !done.ok()) return done;
  return cursor;
}

}  // namespace gatilho
