// The JSON bodies the simulated API answers about a document. Each is a pure function of the
// document, so one state always gives the same bytes: the bridge under test delivers consult
// bodies byte for byte and its tests compare them.
#pragma once

#include <string>

#include "sim/document.h"

namespace gatilho::sim {

// GET /v2/<type>/REF, shaped per type and status as focus-api.md section 3 describes. Also the
// 201 body of a synchronous emission.
std::string ConsultBody(const Document& doc);
// The 202 body of an accepted asynchronous emission.
std::string AcceptedBody(const Document& doc);
// The 200 body of a successful DELETE. REQUIRES: doc.status == kCancelado.
std::string CancelBody(const Document& doc);
// The 200 body of a registered carta de correção (NF-e or CT-e). REQUIRES: cartas_correcao > 0.
std::string CartaCorrecaoBody(const Document& doc);
// The 200 body of an MDF-e encerramento. REQUIRES: doc.status == kEncerrado.
std::string CloseBody(const Document& doc);

}  // namespace gatilho::sim
