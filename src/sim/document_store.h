// DocumentStore: every document the simulated API knows, per token, with the rules that move a
// document from one status to another. Thread-safe; the map is split into shards, each behind its
// own short mutex, so concurrent requests for different documents rarely wait for each other.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/document.h"
#include "sim/processing_model.h"

namespace gatilho::sim {

class DocumentStore {
 public:
  explicit DocumentStore(const ProcessingModel& model) : model_(model) {}

  enum class Outcome {
    kDone,           // the operation took effect
    kNotFound,       // no such ref for this token
    kAlreadyFinal,   // the ref reached a status that forbids resubmission
    kProcessing,     // the ref is still being processed
    kNotAuthorized,  // the operation needs an authorised document
    kCancelled,      // the document is already cancelled
    kLimitReached,   // no more cartas de correção allowed
  };
  struct Result {
    Outcome outcome = Outcome::kNotFound;
    Document document;  // the document after the operation, when there is one
  };

  // The maximum number of cartas de correção per document.
  static constexpr int kMaxCartasCorrecao = 20;

  // Starts an emission attempt of `ref`: the first one, or a new one after erro_autorizacao.
  // Refs are scoped by token and by the consult path (CT-e and CT-e OS share one).
  Result Submit(const std::string& token, DocType type, const std::string& ref,
                const std::string& cnpj, int64_t now_ms);
  // The document as of `now_ms`, looked up by the type of its consult path.
  std::optional<Document> Find(const std::string& token, DocType consult_type,
                               const std::string& ref, int64_t now_ms);
  // autorizado -> cancelado.
  Result Cancel(const std::string& token, DocType consult_type, const std::string& ref,
                int64_t now_ms);
  // Registers one more carta de correção on an authorised document.
  Result AddCartaCorrecao(const std::string& token, DocType consult_type, const std::string& ref,
                          int64_t now_ms);
  // autorizado -> encerrado (MDF-e).
  Result Close(const std::string& token, const std::string& ref, int64_t now_ms);

  // A copy of every document as of `now_ms`, in no particular order.
  std::vector<Document> Snapshot(int64_t now_ms);
  int64_t size() const;

 private:
  static constexpr int kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Document> documents;  // GUARDED_BY(mu)
  };

  static std::string Key(const std::string& token, DocType consult_type, const std::string& ref);
  Shard& ShardFor(const std::string& key);
  // Runs `change` on the existing document under its shard's lock, after bringing it up to date.
  Result Mutate(const std::string& token, DocType consult_type, const std::string& ref,
                int64_t now_ms, const std::function<Outcome(Document&)>& change);

  const ProcessingModel& model_;
  std::atomic<int64_t> next_sequence_{1};
  std::array<Shard, kShards> shards_;
};

}  // namespace gatilho::sim
