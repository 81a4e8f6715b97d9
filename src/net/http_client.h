// HttpClient: concurrent HTTP requests over libcurl's multi interface, driven by the caller.
//
// The daemon's single loop owns one HttpClient. Start() queues a request; Poll() waits for
// socket activity (and, optionally, one extra file descriptor such as an inotify handle), moves
// transfers forward and calls each finished request's callback on the calling thread.
// Connections are kept alive and reused per host. The client knows nothing about fiscal
// documents or webhooks: it moves bytes.
//
// Threads: not thread-safe; one thread drives it. Lifetime: destroying it abandons transfers in
// flight without calling their callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gatilho {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // HTTP Basic credentials: user:password. The API's token is the user, the password empty.
  // Never logged, never part of an error message.
  std::optional<std::string> basic_user;
  std::string basic_password;  // with basic_user (ignored without it); redacted like basic_user
  // TLS towards the target (not towards an https:// proxy). Each is a PEM file path; empty
  // leaves libcurl's default.
  std::string client_cert;  // client certificate for mutual TLS; may hold the key as well
  std::string client_key;   // the client certificate's private key, when not in client_cert
  std::string ca_bundle;    // CAs to trust instead of the system's
  // Proxy URL: http://, https:// or socks5[h]://, optionally with user:password@ (redacted from
  // errors). When set it is used for this request whatever no_proxy says; empty keeps libcurl's
  // default, which honours the http_proxy/https_proxy/no_proxy environment variables.
  std::string proxy;
  int64_t connect_timeout_ms = 5'000;
  int64_t total_timeout_ms = 30'000;
  size_t max_response_bytes = 4u << 20;  // a larger body fails the request (error set)
  // When not empty, only the response headers named here (lowercase) are kept; the others are
  // read and dropped, which spares a busy poller a dozen strings per answer.
  std::vector<std::string> keep_headers;
};

struct HttpResponse {
  int status = 0;  // 0 when no HTTP answer came (see error)
  // Header names lowercased; values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;  // transport failure, e.g. "connection refused"; empty on an answer
  // The peer's TLS certificate failed verification (untrusted CA, wrong host, expired); error
  // then starts "TLS certificate verification failed: " and says why. The caller knows which
  // setting could fix it (a ca_bundle) and adds that.
  bool certificate_rejected = false;
  // The request cannot have reached the server: no handle or socket could be had, the name did
  // not resolve or the connection was refused. A rate limit cannot have counted it.
  bool never_sent = false;
  int64_t duration_ms = 0;

  // The first value of header `name` (lowercase), if present.
  std::optional<std::string> Header(std::string_view name) const;
};

class HttpClient {
 public:
  using Callback = std::function<void(HttpResponse)>;

  struct Options {
    size_t max_connections_per_host = 8;
    size_t max_total_connections = 64;
    bool verify_tls = true;  // turning it off must be an explicit, logged operator decision
  };

  // Fails when libcurl cannot be initialised.
  static Result<std::unique_ptr<HttpClient>> Create(const Options& options);
  static Result<std::unique_ptr<HttpClient>> Create() { return Create(Options{}); }

  virtual ~HttpClient() = default;

  // Queues `request`; `done` runs from a later Poll() (never from inside Start).
  virtual void Start(HttpRequest request, Callback done) = 0;

  // A file descriptor Poll() also waits on (an inotify or signal fd); `ready` is set by Poll().
  struct WaitFd {
    int fd = -1;
    bool ready = false;
  };

  // Waits up to timeout_ms for activity on the transfers or on any of `extra` (may be null),
  // advances transfers and runs the callbacks of finished ones, and sets each extra fd's
  // `ready`. Returns early when Wakeup() is called or an extra fd becomes readable.
  virtual Status Poll(int timeout_ms, std::vector<WaitFd>* extra) = 0;

  // Makes a Poll() blocked in another thread return at once (any thread; not from a signal
  // handler).
  virtual void Wakeup() = 0;

  // Requests started and not yet finished.
  virtual size_t InFlight() const = 0;
};

}  // namespace gatilho
