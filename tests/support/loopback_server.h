// LoopbackServer: a scripted HTTP/1.1 server on 127.0.0.1 for tests that need a real peer.
//
// It listens on an ephemeral port, serves each connection on its own thread with keep-alive and
// Content-Length bodies (no chunked encoding), records every request and answers with whatever
// the handler returns. A reply can be delayed, can hang until the server stops, or can drop the
// connection without an answer, so tests can produce timeouts and broken peers on demand.
//
// Threads: the handler runs on the connection threads, possibly several at once; the accessors
// are thread-safe. Lifetime: the destructor stops every thread, even those holding a connection
// open or hanging a reply, and closes every socket.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace gatilho::testing {

class LoopbackServer {
 public:
  struct Request {
    std::string method;
    std::string target;                                        // as sent: path and query
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, values trimmed
    std::string body;

    // The first value of header `name` (lowercase), or "" when absent.
    std::string Header(std::string_view name) const;
  };

  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers = {};  // Content-Length is added
    std::string body = {};
    int delay_ms = 0;                  // wait this long before answering
    bool close_without_reply = false;  // drop the connection instead of answering
    bool hang = false;                 // never answer; the connection stays open until stopped
  };

  using Handler = std::function<Reply(const Request&)>;

  // Starts listening at once; throws std::runtime_error when the socket cannot be set up.
  explicit LoopbackServer(Handler handler);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" followed by `path`.
  std::string Url(std::string_view path) const;

  // Every request received so far, in arrival order.
  std::vector<Request> requests() const;
  // Connections accepted so far.
  int connections_accepted() const { return connections_accepted_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);
  // Waits until `fd` is ready for `events`; false when the server is stopping instead.
  bool WaitFor(int fd, short events) const;
  // Waits up to `timeout_ms` (-1: no limit) for the server to stop; true when it is stopping.
  bool StopRequested(int timeout_ms) const;
  bool SendAll(int fd, std::string_view data) const;

  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // written once by the destructor; every wait also watches it
  int port_ = 0;
  std::atomic<int> connections_accepted_{0};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched only by the acceptor, then the destructor
};

}  // namespace gatilho::testing
