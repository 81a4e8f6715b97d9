// The byte layout of the store: the keys of every table and the encodings of every value.
//
// Keys put times and sequence numbers in big-endian so that LMDB's byte order is their numeric
// order. Values are never raw structs: each starts with a one-byte encoding version, followed by
// the fields in a fixed order, integers fixed-width big-endian, strings as a be32 length and
// the bytes. A decoder refuses an unknown version, truncated bytes and trailing bytes, so a
// record written by a newer or broken writer is reported instead of misread.
//
// Pure functions, no I/O; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/result.h"
#include "core/watch.h"
#include "store/store.h"

namespace gatilho {

// The encoding version every value written by this build starts with.
inline constexpr uint8_t kEncodingVersion = 1;
// Event records are at version 2 (first_attempt_ms and finished_ms were added); version 1 event
// records are still read.
inline constexpr uint8_t kEventEncodingVersion = 2;

std::string Be32(uint32_t value);
std::string Be64(uint64_t value);
// The first 4 (8) bytes of `bytes` as a big-endian number. REQUIRES: bytes.size() >= 4 (8).
uint32_t ReadBe32(std::string_view bytes);
uint64_t ReadBe64(std::string_view bytes);

// A time as a key: negative times (never expected) clamp to 0 so they sort first.
std::string TimeKey(int64_t ms);

// ---- keys ----------------------------------------------------------------------------------

// `due`: be64(next_poll_ms) + WatchKey::Encode().
std::string DueKey(int64_t next_poll_ms, const WatchKey& key);

// The prefix shared by the `history` and `queue` keys of exactly one document:
// WatchKey::Encode() + '\0'. The NUL keeps ref "A" from matching the entries of ref "AB".
std::string DocumentPrefix(const WatchKey& key);

// `history`: DocumentPrefix(key) + be64(time) + be32(n); n orders entries of equal time.
std::string HistoryKey(const WatchKey& key, int64_t time_ms, uint32_t n);

// `queue`: DocumentPrefix(key) + be64(seq).
std::string QueueKey(const WatchKey& key, uint64_t seq);

// The prefix of one company's entries in `company_ready`: the company id + '\0'.
std::string ReadyPrefix(std::string_view company);

// `company_ready`: ReadyPrefix(company) + be64(next_attempt_ms) + be64(seq).
std::string ReadyKey(std::string_view company, int64_t next_attempt_ms, uint64_t seq);

// `attempts`: be64(seq) + be32(number).
std::string AttemptKey(uint64_t seq, uint32_t number);

// `cursors`: cnpj + '\0' + feed + '\0' + environment.
std::string CursorKey(const FeedCursorKey& key);

// ---- values --------------------------------------------------------------------------------
// Each Decode returns the record, or a Corruption status saying what is wrong with the bytes
// (the caller adds which table and key they came from).

std::string EncodeWatchRecord(const WatchRecord& record);
Result<WatchRecord> DecodeWatchRecord(std::string_view bytes);

std::string EncodeHistoryEntry(const HistoryEntry& entry);
Result<HistoryEntry> DecodeHistoryEntry(std::string_view bytes);

std::string EncodeEventRecord(const EventRecord& event);
Result<EventRecord> DecodeEventRecord(std::string_view bytes);

std::string EncodeAttemptRecord(const AttemptRecord& attempt);
Result<AttemptRecord> DecodeAttemptRecord(std::string_view bytes);

std::string EncodeEndpointRecord(const EndpointRecord& endpoint);
Result<EndpointRecord> DecodeEndpointRecord(std::string_view bytes);

std::string EncodeTokenRecord(const TokenRecord& token);
Result<TokenRecord> DecodeTokenRecord(std::string_view bytes);

std::string EncodeFeedCursor(const FeedCursor& cursor);
Result<FeedCursor> DecodeFeedCursor(std::string_view bytes);

}  // namespace gatilho
