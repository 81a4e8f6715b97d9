// The read-only status page the local API serves at GET /status.
//
// A self-contained HTML document (inline CSS and JavaScript, no external resources) holding no
// data: it reads the bearer token from the URL fragment (/status#token=..., which browsers never
// send to the server) or from a password field, keeps it in sessionStorage, fetches
// GET /v1/status with it and renders four tables: pending documents, recent events, failing
// endpoints and credits per token. A refused token shows a message and no data.
#pragma once

#include <string_view>

namespace gatilho {

// The page, the same bytes for every request.
std::string_view StatusPageHtml();

}  // namespace gatilho
