// ReceivedFeeds: the documents other companies issued to a CNPJ, as the simulated API's three
// received-document feeds serve them (GET /v2/nfes_recebidas, /v2/ctes_recebidas and
// /v2/nfses_recebidas, focus-api.md section 5), with the incremental `versao` cursor.
//
// Every document has a `versao` unique across all documents of its CNPJ (all three feeds draw
// from one counter per CNPJ, as the API describes it), bumped whenever the document changes. A
// list returns the documents whose versao is greater than the one asked for, lowest first, at
// most kPageSize of them. Documents are scoped by CNPJ alone: the simulator does not model which
// companies a token may read, so any accepted token sees every CNPJ's feeds.
//
// Threads: thread-safe; one short mutex (the feeds are light next to the consults).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatilho::sim {

enum class Feed { kNfe, kCte, kNfse };

// The feed whose list path segment is `segment` ("nfes_recebidas", ...), or nullopt.
std::optional<Feed> FeedForPath(std::string_view segment);
// The feed named `name` in control requests: "nfe", "cte" or "nfse"; nullopt otherwise.
std::optional<Feed> ParseFeed(std::string_view name);
std::string_view FeedName(Feed feed);

class ReceivedFeeds {
 public:
  static constexpr std::size_t kPageSize = 100;

  // Adds a document to `feed` of `cnpj`, with generated fields overridden by `fields` (which may
  // name the key: chave_nfe for NF-e, chave otherwise). Returns the item, or nullopt when a
  // document with that key already exists.
  std::optional<boost::json::object> Add(Feed feed, const std::string& cnpj,
                                         const boost::json::object& fields, int64_t now_ms);

  // Changes the document `chave` of `feed` of `cnpj`: `fields` overwrite its fields, and a
  // situacao of cancelada (status cancelado for NFS-e) also fills the cancellation fields. The
  // document gets the CNPJ's next versao. nullopt when there is no such document.
  std::optional<boost::json::object> Change(Feed feed, const std::string& cnpj,
                                            const std::string& chave,
                                            const boost::json::object& fields, int64_t now_ms);

  // Whether `feed` of `cnpj` has a document with key `chave`.
  bool Has(Feed feed, const std::string& cnpj, const std::string& chave) const;

  struct Page {
    std::vector<boost::json::object> items;  // versao ascending
    int64_t total = 0;                       // documents with a greater versao, all pages
    int64_t max_version = 0;                 // the highest versao in items; `after` if none
  };
  // The documents of `feed` of `cnpj` whose versao is greater than `after`.
  Page List(Feed feed, const std::string& cnpj, int64_t after) const;

  // Documents across all feeds and CNPJs.
  int64_t size() const;

 private:
  struct Stored {
    Feed feed;
    std::string chave;
    boost::json::object item;
  };
  // One CNPJ: its versao counter and its documents by versao.
  struct Account {
    int64_t last_versao = 0;
    std::map<int64_t, Stored> by_versao;
    std::map<std::string, int64_t> versao_of;  // feed name + '/' + chave -> versao
  };

  static std::string KeyOf(Feed feed, std::string_view chave);

  mutable std::mutex mu_;
  std::map<std::string, Account> accounts_;  // GUARDED_BY(mu_), by CNPJ
  int64_t generated_ = 0;                    // GUARDED_BY(mu_): seeds generated keys
  int64_t size_ = 0;                         // GUARDED_BY(mu_)
};

}  // namespace gatilho::sim
