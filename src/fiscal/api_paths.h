// The Focus NFe API's addresses: base URLs per environment, consult paths, and what a ref may
// look like. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "core/document_type.h"

namespace gatilho {

// The base URL of `environment` ("producao" or "homologacao"), without a trailing '/';
// "" for any other name.
std::string_view BaseUrlFor(std::string_view environment);

// The consult URL of `ref`: `base_url` (a trailing '/' is tolerated) + "/v2/<type>/<ref>".
// CT-e of every model is consulted at /v2/cte/<ref>. Bytes of `ref` outside
// [A-Za-z0-9_-] are percent-encoded, so the URL always names exactly one document.
std::string ConsultUrl(std::string_view base_url, DocType type, std::string_view ref);

// Whether `ref` has 1 to 100 characters, each a letter, a digit, '_' or '-'.
bool IsValidRef(std::string_view ref);

// Why `ref` is not valid, in words an operator can act on, e.g. "ref 'a b' has a space at
// position 2; refs use only letters, digits, '_' and '-'"; "" when IsValidRef(ref).
std::string RefProblem(std::string_view ref);

}  // namespace gatilho
