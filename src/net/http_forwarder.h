// HttpForwarder: relays one HTTP request to an upstream server and streams its answer back, for
// the transparent proxy.
//
// Purpose: send the request as it came (method, target, end-to-end headers, body) to the
// upstream base URL over libcurl, follow no redirect and decompress nothing, and hand the
// answer to the caller as it arrives: its status line and headers once, then the body in
// chunks, so a large download is never held whole. It knows nothing of what the requests mean.
//
// Threads: Forward() blocks the calling thread (a connection thread of the HttpServer) for one
// exchange, on an easy handle of its own; any number of threads may call it at once. The
// forwarder shares DNS answers, TLS sessions and idle upstream connections between them (a
// libcurl share under a mutex), so consecutive ERP requests do not each pay a TLS handshake.
// Lifetime: must outlive every Forward() in progress.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "net/http_server.h"

namespace gatilho {

struct ForwardRequest {
  std::string method;  // sent as given
  std::string target;  // path and query, appended to the base URL as given
  HeaderList headers;  // as received; hop-by-hop ones are dropped here
  std::string body;
};

struct ForwardResult {
  // Ok when the whole answer was relayed. Otherwise Unavailable naming the upstream host and
  // what failed (DNS, refused, TLS, timeout, connection lost), never the target's query; or
  // the error a callback returned, which stopped the exchange.
  Status status;
  bool answered = false;   // on_head ran: the caller's client already has a status line
  bool timed_out = false;  // the failure was a timeout (a gateway would say 504, not 502)
  int http_status = 0;     // the upstream's status; 0 when none came
  HeaderList headers;      // the upstream's answer headers, as relayed to on_head
  uint64_t body_bytes = 0;
};

class HttpForwarder {
 public:
  struct Options {
    int64_t connect_timeout_ms = 10'000;
    // For the whole exchange; the API's synchronous answers wait for SEFAZ, which can be slow.
    int64_t total_timeout_ms = 120'000;
    std::string ca_bundle;  // PEM file of CAs to trust instead of the system's; "" = system
  };

  // Called once with the upstream's final status and its end-to-end headers (names as sent,
  // values trimmed, hop-by-hop ones dropped). An error stops the exchange.
  using OnHead = std::function<Status(int status, const HeaderList& headers)>;
  // Called for each piece of the body, in order, as it arrives. An error stops the exchange.
  using OnBody = std::function<Status(std::string_view chunk)>;

  // Fails when libcurl cannot be initialised.
  static Result<std::unique_ptr<HttpForwarder>> Create(Options options);
  ~HttpForwarder();
  HttpForwarder(const HttpForwarder&) = delete;
  HttpForwarder& operator=(const HttpForwarder&) = delete;

  // Sends `request` to `base_url` (http:// or https://, no trailing '/' needed) + target, with
  // the Host header of the upstream, and relays the answer through the callbacks.
  ForwardResult Forward(std::string_view base_url, const ForwardRequest& request,
                        const OnHead& on_head, const OnBody& on_body);

  // The host (and port, when given) of `url`, for messages: never its path or query.
  static std::string HostOf(std::string_view url);

  struct Shared;

 private:
  HttpForwarder(Options options, std::unique_ptr<Shared> shared);
  Options options_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace gatilho
