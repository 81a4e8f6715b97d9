// Document: one emission the simulated API knows about, and the vocabulary of its types and
// statuses. The simulator keeps its own copy of this vocabulary on purpose: it must not share code
// with the daemon's reading of the API, so that a misreading shows up as a failing test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatilho::sim {

enum class DocType { kNfe, kNfce, kNfse, kNfsen, kCte, kCteOs, kMdfe, kNfcom };

enum class DocStatus {
  kProcessandoAutorizacao,
  kAutorizado,
  kErroAutorizacao,
  kDenegado,
  kCancelado,
  kEncerrado,
};

// The type named by a POST path segment ("nfe", "cte_os", ...), or nullopt.
std::optional<DocType> ParseDocType(std::string_view name);
// The path segment of the type, as in POST /v2/<name>.
std::string_view DocTypeName(DocType type);
// The type whose path serves GET/DELETE for `type`: CT-e OS is consulted at /v2/cte/REF.
DocType ConsultType(DocType type);
// True for types whose POST answers with the final result (NFC-e and CT-e OS).
bool IsSynchronous(DocType type);
// True for types that SEFAZ can deny (municipal and national NFS-e cannot).
bool CanBeDenied(DocType type);
// True for the two NFS-e flavours, whose bodies use cnpj_prestador and erros[].
bool IsServiceInvoice(DocType type);
// The status as the API spells it ("processando_autorizacao", ...).
std::string_view DocStatusName(DocStatus status);

struct Document {
  std::string token_hash;
  DocType type = DocType::kNfe;
  std::string ref;
  std::string cnpj;
  int attempt = 1;
  // Unique across the simulator; seeds the number, key and file names of this attempt.
  int64_t sequence = 0;
  int64_t submitted_ms = 0;
  // Wall time at which processing ends (equal to submitted_ms for synchronous types).
  int64_t due_ms = 0;
  // What processing ends in: kAutorizado, kErroAutorizacao or kDenegado.
  DocStatus outcome = DocStatus::kAutorizado;
  // Picks which rejection message an erro_autorizacao shows.
  int rejection = 0;
  DocStatus status = DocStatus::kProcessandoAutorizacao;
  // Wall time at which `status` was reached; 0 while processing.
  int64_t finished_ms = 0;
  int cartas_correcao = 0;

  // Applies the end of processing if `now_ms` is past due_ms. The finish time recorded is due_ms,
  // not now_ms, so that state and bodies do not depend on when someone looked.
  void Advance(int64_t now_ms);
};

}  // namespace gatilho::sim
