// HttpCall: one blocking HTTP request through libcurl, for tests that talk to real servers on
// loopback. No connection reuse: each call is independent, which is what a test wants to observe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatilho::testing {

struct HttpResult {
  int status = 0;  // 0 when no response arrived
  // Header names in lower case; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
  std::string error;  // libcurl's reason when status is 0

  // The header's value, or "" when absent. `lower_name` must be in lower case.
  std::string Header(const std::string& lower_name) const;
};

// Sends `method` to `url` with `body` (as JSON unless a Content-Type is among `headers`), using
// HTTP Basic with `basic_user` and an empty password when given. Gives up after 10 seconds.
HttpResult HttpCall(const std::string& method, const std::string& url, const std::string& body = "",
                    std::optional<std::string> basic_user = {},
                    std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace gatilho::testing
