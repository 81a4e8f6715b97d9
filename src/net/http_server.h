// HttpServer: the daemon's embedded HTTP/1.1 server, for the local API and the proxy.
//
// Purpose: accept connections on one address, read each request whole (up to a body limit),
// and hand it to a handler that answers it either whole or as a stream of chunks, which is what
// a proxy relaying a large download needs. It knows nothing of what the requests mean.
//
// Threads: one accept thread, and one thread per open connection that reads its requests in
// order (keep-alive) and runs the handler for each, so a handler may block (the proxy waits for
// the upstream API) without holding up other connections. The handler is called concurrently
// for different connections and must be thread-safe. Connections past Options::max_connections
// are answered 503 and closed; a connection idle past Options::idle_timeout_ms is closed.
//
// Lifetime: Start() binds and starts serving; Stop() (or the destructor) stops accepting, closes
// idle connections and waits for the handlers in flight to return. The handler must outlive the
// server. Boost.Beast stays inside http_server.cc because it is slow to compile.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace gatilho {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Whether `name` (any case) is a hop-by-hop header: Connection, Keep-Alive, Proxy-*, TE,
// Trailer, Transfer-Encoding or Upgrade. Those concern one connection and are never relayed.
bool IsHopByHopHeader(std::string_view name);

struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, exactly as sent
  HeaderList headers;  // names as sent, in the order received
  std::string body;
  std::string peer;  // "address:port" of the client

  // The value of the first header named `name` (compared ignoring case), or "" when absent.
  std::string_view Header(std::string_view name) const;
  // The target's path: everything before the first '?'.
  std::string_view Path() const;
  // The target's query: everything after the first '?', or "".
  std::string_view Query() const;
};

// How a handler answers. Exactly one of Send() or Begin() ... End() per request; a handler
// that returns without answering gets a 500 from the server. Every call returns an error once
// the client has gone away, and the handler should then stop.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // The whole answer at once, with a Content-Length.
  virtual Status Send(int status, const HeaderList& headers, std::string_view body) = 0;

  // A streamed answer: the status line and headers now, then the body in chunks. Sent with
  // chunked transfer encoding unless `headers` carries a Content-Length, which the chunks must
  // then add up to. Hop-by-hop headers (Connection, Transfer-Encoding, Keep-Alive, ...) in
  // `headers` are dropped: the server owns the connection.
  virtual Status Begin(int status, const HeaderList& headers) = 0;
  virtual Status Write(std::string_view chunk) = 0;
  virtual Status End() = 0;
};

using ServerHandler = std::function<void(const ServerRequest&, ResponseWriter&)>;

class HttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    int port = 0;  // 0 picks a free port; see port()
    // A request whose body is larger is answered 413 with a JSON error body naming the limit,
    // and never reaches the handler.
    size_t max_body_bytes = 1 << 20;
    size_t max_connections = 64;
    int idle_timeout_ms = 30'000;  // also bounds how long reading one request may take
    std::string name = "http";     // for log lines: "local API", "proxy"
    // Told, from the accept thread, when the server stops being able to take connections (out
    // of descriptors or threads: trouble = true) and when it can again; once per change. The
    // message names the server and what the operator can do.
    std::function<void(bool trouble, const std::string& message)> on_trouble;
  };

  // Binds, listens and starts serving. IoError naming the address when it cannot bind.
  static Result<std::unique_ptr<HttpServer>> Start(Options options, ServerHandler handler);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port bound (the real one when Options::port was 0).
  int port() const;

  // Stops accepting, closes idle connections and waits for handlers in flight to return.
  // Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatilho
