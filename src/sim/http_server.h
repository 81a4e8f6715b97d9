// HttpServer: a small HTTP/1.1 server for the simulator's two modes (the fake API and the webhook
// receiver).
//
// Threads: Run() runs the io_context on N threads; the handler is called on any of them, one call
// per request, concurrently for different connections, so it must be thread-safe. Each connection
// is a session that serves requests in order (keep-alive). Responses may ask for an added delay,
// served by a timer so that no thread sleeps, or for one of the broken endings real networks
// produce: the connection dropped unanswered, reset, or closed before the body is complete.
//
// Lifetime: construct, Listen(), then Run(), which returns after SIGINT or SIGTERM. The handler
// must outlive Run(). Boost.Beast stays inside http_server.cc because it is slow to compile.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatilho::sim {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  // Header names in lower case, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The value of the first header named `lower_name`, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int delay_ms = 0;  // wait this long before answering (or before the broken ending below)
  // At most one of these: close the connection without answering (a clean FIN); reset it
  // (RST) without answering; send the headers, with the Content-Length of the whole body, and
  // only half the body, then close.
  bool drop = false;
  bool reset = false;
  bool truncate = false;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  explicit HttpServer(HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on address:port (port 0 picks a free one). Returns the bound port, or -1
  // with a reason in `error`.
  int Listen(const std::string& address, int port, std::string* error);

  // Serves on `threads` threads until SIGINT or SIGTERM. `on_ready` runs once, after the signals
  // are caught and before any request is served, so whoever it tells may stop us at once.
  // REQUIRES: Listen() succeeded.
  void Run(int threads, const std::function<void()>& on_ready);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatilho::sim
