// SyncAnswer reading: what the API's answer to an emission, a cancellation or a carta de
// correção the ERP sent says about the document, as an Observation the Observer takes exactly
// as it takes a poll's, so the events (and their ids) are the ones a later poll would make.
// Pure, no I/O.
#pragma once

#include <optional>
#include <string_view>

#include "core/document_type.h"
#include "fiscal/consult_parser.h"
#include "fiscal/document_facts.h"
#include "fiscal/erp_request.h"

namespace gatilho {

// Reads the answer (`http_status`, `body`) to a request of `kind` on a document of `type`
// whose facts were `previous` (nullopt when gatilho never saw the document). Returns a kDocument
// Observation whose body is `body` byte for byte, or nullopt when the answer changes nothing
// gatilho would tell:
// - kEmission: a 2xx in the consult's shape with a final status (an NFC-e's `autorizado`);
//   `processando_autorizacao` (an async acceptance) and anything not a consult are nullopt.
// - kCancellation: a 2xx with status `cancelado` gives the previous facts with that status;
//   `erro_cancelamento` (the document stays as it was) or anything else is nullopt.
// - kCorrection: a 2xx with status `autorizado` and a `numero_carta_correcao` (or, as CT-e
//   answers do, only a `caminho_xml`) gives the previous facts with the new number: the CC-e's
//   status is the event's, not the document's, which keeps its own. `erro_autorizacao` or
//   anything else is nullopt.
// - kOther: nullopt.
std::optional<Observation> ReadSyncAnswer(ErpRequestKind kind, DocType type, int http_status,
                                          std::string_view body,
                                          const std::optional<DocumentFacts>& previous);

}  // namespace gatilho
