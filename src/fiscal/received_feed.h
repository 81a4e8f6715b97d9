// ReceivedFeed: the API's received-document feeds (focus-api.md section 5) — documents other
// companies issued to the company's CNPJ (NF-e, CT-e, NFS-e), listed incrementally with the
// `versao` cursor. This file holds their vocabulary and the reading of one page: the list URL,
// the items, the next cursor and whether another page follows, and the events the items become.
// Pure functions, no I/O; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/document_type.h"
#include "core/event.h"
#include "core/result.h"
#include "core/watch.h"

namespace gatilho {

enum class ReceivedFeed { kNfe, kCte, kNfse };

inline constexpr ReceivedFeed kAllReceivedFeeds[] = {ReceivedFeed::kNfe, ReceivedFeed::kCte,
                                                     ReceivedFeed::kNfse};

// The most items one answer holds; a full page means another may follow.
inline constexpr size_t kReceivedPageSize = 100;

// "nfe", "cte", "nfse": the names `[received] feeds` uses and the store's cursors keep.
std::string_view ReceivedFeedName(ReceivedFeed feed);
std::optional<ReceivedFeed> ParseReceivedFeed(std::string_view name);

// The event type of the feed's documents: "nfe_recebida", "cte_recebida", "nfse_recebida".
std::string_view ReceivedEventType(ReceivedFeed feed);

// The list URL of `feed` for `cnpj` after cursor `versao`: `base_url` (a trailing '/' is
// tolerated) + "/v2/nfes_recebidas?cnpj=<cnpj>&versao=<versao>" (ctes_/nfses_ likewise). The
// CNPJ is the config's 14 digits; anything else in it is percent-encoded.
std::string ReceivedFeedUrl(std::string_view base_url, ReceivedFeed feed, std::string_view cnpj,
                            int64_t versao);

struct ReceivedItem {
  std::string chave;     // the access key (chave_nfe for NF-e, chave otherwise)
  int64_t versao = 0;    // greater than the cursor the page was asked with
  std::string situacao;  // situacao (NF-e, CT-e) or status (NFS-e); "" when absent
  std::string payload;   // the item's JSON object, compact
};

struct ReceivedPage {
  std::vector<ReceivedItem> items;  // in answer order
  // The cursor to store: the highest versao among the items, or the cursor asked with when the
  // page brought nothing new. Never lower than the cursor asked with.
  int64_t next_cursor = 0;
  // Another page may hold more: the page was full, it moved the cursor, and X-Total-Count (when
  // sent) said more documents matched than this page returned.
  bool more = false;
  // X-Total-Count, or -1 when the answer did not send it.
  int64_t total = -1;
  // X-Max-Version was sent and differs from the highest versao among the items; the items win
  // (they are what was seen), and the caller may say so in a log line.
  bool max_version_disagrees = false;
};

// Reads one 200 answer of `feed` asked with cursor `cursor`, with its X-Total-Count and
// X-Max-Version header values (nullopt when absent). A body that is not a JSON array of objects,
// an item without a usable key (a non-empty string of at most 200 bytes without control
// characters) or without an integer versao, and a header that is not a whole number, are
// InvalidArgument, naming what is wrong: the caller must then keep its cursor. Items at or below
// the cursor (already seen) are left out.
Result<ReceivedPage> ParseReceivedPage(ReceivedFeed feed, int64_t cursor, std::string_view body,
                                       std::optional<std::string_view> total_count,
                                       std::optional<std::string_view> max_version);

// The document key the events of received document `chave` are queued under. The store orders a
// document's events by this key (its `queue` table), and emitted documents use the same key
// space, so it must never equal the key of a watch: its type is the feed's document type
// (nfe, cte, nfse) and its ref is "recebida:" + chave. A watch's ref is checked at intake to hold
// only letters, digits, '_' and '-' (IsValidRef), so no watch ref contains ':', and every
// received document of a company keeps one key across its versions, so its events go out in
// versao order.
WatchKey ReceivedDocumentKey(std::string_view company, ReceivedFeed feed, std::string_view chave);

// The event that tells the ERP about `item`: type ReceivedEventType(feed), payload the item's
// JSON, due at now_ms, cycle 1. Its id is stable for (company, feed, chave, versao), so a page
// fetched again after a crash yields the same ids and the outbox drops the repeats.
// TODO(file-sink): a file sink names files by ref, cycle and event type, so a received
// document's later version is written under its earlier version's name and replaces that file;
// an ERP that had not read the first file sees only the latest version.
EventRecord ReceivedEvent(std::string_view company, ReceivedFeed feed, const ReceivedItem& item,
                          int64_t now_ms);

}  // namespace gatilho
