// ParseConsult: what one answer to GET /v2/<type>/<ref> says, as a value the observer can
// decide on. Pure: the HTTP exchange itself happens in the net module.
#pragma once

#include <string>
#include <string_view>

#include "core/document_type.h"
#include "fiscal/document_facts.h"

namespace gatilho {

enum class Outcome {
  kDocument,        // 200 with a consult body whose status is known for the type
  kNotFound,        // 404: the API does not know the ref (yet)
  kUnauthorized,    // 401 or 403: the token was refused
  kRateLimited,     // 429
  kServerError,     // 5xx
  kUnexpected,      // any other answer, or a 200 whose body is not a usable consult
  kTransportError,  // no HTTP answer at all
};

// "document", "not_found", "unauthorized", "rate_limited", "server_error", "unexpected",
// "transport_error".
std::string_view OutcomeName(Outcome outcome);

struct Observation {
  Outcome outcome = Outcome::kTransportError;
  int http_status = 0;  // 0 when no HTTP answer came
  DocumentFacts facts;  // meaningful only for kDocument
  std::string body;     // kDocument only: the answer's body, byte for byte, to deliver as is
  // Not kDocument: a short reason for humans, e.g. "HTTP 502 with an HTML body". Body excerpts
  // in it are capped at about 120 characters and free of control characters.
  std::string problem;
};

// Reads one consult answer for a document of `type`. `transport_error` is the net module's
// description of a failed exchange ("" when an HTTP answer came); it is copied into `problem`
// as given, so it must already be free of secrets.
Observation ParseConsult(DocType type, int http_status, std::string_view body,
                         std::string_view transport_error);

}  // namespace gatilho
