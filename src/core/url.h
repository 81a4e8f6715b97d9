// URLs as gatilho shows and groups them. A configured URL may carry credentials (user:password@)
// or secrets in its query; these functions are how such a URL reaches a log line, an attempt
// record or a command's output without them.
//
// Pure functions, no I/O; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace gatilho {

// `url` without any "user:password@" and with a query or fragment replaced by "?...", e.g.
// "https://u:p@erp.local/hook?key=x" -> "https://erp.local/hook?...". Text that is not a URL is
// returned as it is.
std::string UrlForDisplay(std::string_view url);

// The scheme, host and port of `url` ("https://erp.local:443"), lowercase, without credentials
// or path, with the scheme's default port made explicit: what libcurl shares connections by.
std::string UrlHost(std::string_view url);

}  // namespace gatilho
