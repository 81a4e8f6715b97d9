// ErpRequest: what one request the ERP sends to the API means for the documents gatilho
// watches, read from its method and target alone. Pure, no I/O; the proxy uses it to decide
// what to learn from the answer it relays.
#pragma once

#include <string>
#include <string_view>

#include "core/document_type.h"

namespace gatilho {

enum class ErpRequestKind {
  kOther,         // anything that creates or changes no watched document
  kEmission,      // POST /v2/<type>?ref=R (CT-e OS: POST /v2/cte_os?ref=R)
  kCancellation,  // DELETE /v2/<type>/<ref>
  kCorrection,    // POST /v2/<type>/<ref>/carta_correcao
};

struct ErpRequest {
  ErpRequestKind kind = ErpRequestKind::kOther;
  DocType type = DocType::kNfe;  // meaningful unless kOther
  std::string ref;               // percent-decoded; a valid ref (IsValidRef) unless kOther
};

// Classifies a request by its method (case-sensitive, as HTTP says) and target (path and query
// as sent). The type is one DocType knows ("cte_os" is kCte, where it is consulted); the ref
// comes from the `ref` query parameter of an emission or the path segment otherwise, and must
// be valid, or the request is kOther: a ref gatilho could not poll is no watch. Trailing
// slashes, other query parameters (`completa`, `token`, ...) and a ".json" suffix are ignored.
ErpRequest ClassifyErpRequest(std::string_view method, std::string_view target);

}  // namespace gatilho
