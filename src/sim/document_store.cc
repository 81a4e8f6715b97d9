#include "sim/document_store.h"

#include "sim/token_hash.h"

namespace gatilho::sim {

std::string DocumentStore::Key(const std::string& token, DocType consult_type,
                               const std::string& ref) {
  std::string key = token;
  key += '\0';
  key += DocTypeName(consult_type);
  key += '\0';
  key += ref;
  return key;
}

DocumentStore::Shard& DocumentStore::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

DocumentStore::Result DocumentStore::Submit(const std::string& token, DocType type,
                                            const std::string& ref, const std::string& cnpj,
                                            int64_t now_ms) {
  const std::string key = Key(token, ConsultType(type), ref);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.documents.find(key);
  int attempt = 1;
  if (it != shard.documents.end()) {
    Document& existing = it->second;
    existing.Advance(now_ms);
    if (existing.status == DocStatus::kProcessandoAutorizacao) {
      return {Outcome::kProcessing, existing};
    }
    if (existing.status != DocStatus::kErroAutorizacao) return {Outcome::kAlreadyFinal, existing};
    attempt = existing.attempt + 1;
  }

  const ProcessingModel::Decision decision = model_.Decide(token, type, ref, attempt);
  Document doc;
  doc.token_hash = it != shard.documents.end() ? it->second.token_hash : TokenHash(token);
  doc.type = type;
  doc.ref = ref;
  doc.cnpj = cnpj;
  doc.attempt = attempt;
  doc.sequence = next_sequence_++;
  doc.submitted_ms = now_ms;
  doc.due_ms = now_ms + decision.duration_ms;
  doc.outcome = decision.outcome;
  doc.rejection = decision.rejection;
  doc.Advance(now_ms);
  shard.documents[key] = doc;
  return {Outcome::kDone, doc};
}

std::optional<Document> DocumentStore::Find(const std::string& token, DocType consult_type,
                                            const std::string& ref, int64_t now_ms) {
  const std::string key = Key(token, consult_type, ref);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.documents.find(key);
  if (it == shard.documents.end()) return std::nullopt;
  it->second.Advance(now_ms);
  return it->second;
}

DocumentStore::Result DocumentStore::Mutate(const std::string& token, DocType consult_type,
                                            const std::string& ref, int64_t now_ms,
                                            const std::function<Outcome(Document&)>& change) {
  const std::string key = Key(token, consult_type, ref);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.documents.find(key);
  if (it == shard.documents.end()) return {};
  it->second.Advance(now_ms);
  const Outcome outcome = change(it->second);
  return {outcome, it->second};
}

DocumentStore::Result DocumentStore::Cancel(const std::string& token, DocType consult_type,
                                            const std::string& ref, int64_t now_ms) {
  return Mutate(token, consult_type, ref, now_ms, [now_ms](Document& doc) {
    if (doc.status == DocStatus::kCancelado) return Outcome::kCancelled;
    if (doc.status != DocStatus::kAutorizado) return Outcome::kNotAuthorized;
    doc.status = DocStatus::kCancelado;
    doc.finished_ms = now_ms;
    return Outcome::kDone;
  });
}

DocumentStore::Result DocumentStore::AddCartaCorrecao(const std::string& token,
                                                      DocType consult_type, const std::string& ref,
                                                      int64_t now_ms) {
  return Mutate(token, consult_type, ref, now_ms, [](Document& doc) {
    if (doc.status == DocStatus::kCancelado) return Outcome::kCancelled;
    if (doc.status != DocStatus::kAutorizado) return Outcome::kNotAuthorized;
    if (doc.cartas_correcao >= kMaxCartasCorrecao) return Outcome::kLimitReached;
    ++doc.cartas_correcao;
    return Outcome::kDone;
  });
}

DocumentStore::Result DocumentStore::Close(const std::string& token, const std::string& ref,
                                           int64_t now_ms) {
  return Mutate(token, DocType::kMdfe, ref, now_ms, [now_ms](Document& doc) {
    if (doc.status == DocStatus::kCancelado) return Outcome::kCancelled;
    if (doc.status != DocStatus::kAutorizado) return Outcome::kNotAuthorized;
    doc.status = DocStatus::kEncerrado;
    doc.finished_ms = now_ms;
    return Outcome::kDone;
  });
}

std::vector<Document> DocumentStore::Snapshot(int64_t now_ms) {
  std::vector<Document> out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto& [key, doc] : shard.documents) {
      doc.Advance(now_ms);
      out.push_back(doc);
    }
  }
  return out;
}

int64_t DocumentStore::size() const {
  int64_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += static_cast<int64_t>(shard.documents.size());
  }
  return total;
}

}  // namespace gatilho::sim
