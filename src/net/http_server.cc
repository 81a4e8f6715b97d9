#include "net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace gatilho {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A blocking socket stream with a deadline, in the shape Beast's synchronous read and write
// want. Asio's own blocking sockets wait forever once a read would block, which would let one
// silent client pin a thread; poll() with a timeout bounds every wait instead.
class FdStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}

  void set_deadline(int64_t deadline_mono_ms) { deadline_ms_ = deadline_mono_ms; }

  template <typename MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer buffer = *it;
      if (buffer.size() == 0) continue;
      if (!WaitFor(POLLIN, ec)) return 0;
      ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = boost::asio::error::eof;
      } else {
        ec = error_code(errno, boost::system::system_category());
      }
      return 0;
    }
    return 0;
  }

  template <typename MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <typename ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer buffer = *it;
      if (buffer.size() == 0) continue;
      if (!WaitFor(POLLOUT, ec)) return 0;
      // MSG_NOSIGNAL: a client that went away must be an error here, not a SIGPIPE.
      ssize_t n = ::send(fd_, buffer.data(), buffer.size(), MSG_NOSIGNAL);
      if (n >= 0) return static_cast<size_t>(n);
      ec = error_code(errno, boost::system::system_category());
      return 0;
    }
    return 0;
  }

  template <typename ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  bool WaitFor(short events, error_code& ec) {
    for (;;) {
      int64_t left = deadline_ms_ - MonotonicMs();
      if (left <= 0) {
        ec = boost::asio::error::timed_out;
        return false;
      }
      pollfd pfd{fd_, events, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1'000'000)));
      if (rc > 0) return true;
      if (rc < 0 && errno != EINTR) {
        ec = error_code(errno, boost::system::system_category());
        return false;
      }
    }
  }

  int fd_;
  int64_t deadline_ms_ = 0;
};

std::string ErrorBody(std::string_view code, std::string_view message) {
  // Both strings are fixed texts of this file, so no escaping is needed.
  return "{\"error\":\"" + std::string(code) + "\",\"message\":\"" + std::string(message) + "\"}";
}

class ConnectionWriter : public ResponseWriter {
 public:
  ConnectionWriter(FdStream& stream, unsigned version, bool keep_alive, int timeout_ms)
      : stream_(stream), version_(version), keep_alive_(keep_alive), timeout_ms_(timeout_ms) {}

  Status Send(int status, const HeaderList& headers, std::string_view body) override {
    if (state_ != State::kNone) return Status::Internal("the response was already started");
    state_ = State::kDone;
    http::response<http::string_body> response(static_cast<http::status>(status), version_);
    for (const auto& [name, value] : headers) {
      if (!IsHopByHopHeader(name) && !EqualsIgnoringCase(name, "content-length")) {
        response.insert(name, value);
      }
    }
    response.body().assign(body.data(), body.size());
    response.keep_alive(keep_alive_);
    response.prepare_payload();
    error_code ec;
    stream_.set_deadline(MonotonicMs() + timeout_ms_);
    http::write(stream_, response, ec);
    return Written(ec);
  }

  Status Begin(int status, const HeaderList& headers) override {
    if (state_ != State::kNone) return Status::Internal("the response was already started");
    state_ = State::kStreaming;
    response_.emplace(static_cast<http::status>(status), version_);
    bool has_length = false;
    for (const auto& [name, value] : headers) {
      if (IsHopByHopHeader(name)) continue;
      if (EqualsIgnoringCase(name, "content-length")) has_length = true;
      response_->insert(name, value);
    }
    if (!has_length) response_->chunked(true);
    response_->keep_alive(keep_alive_);
    response_->body().data = nullptr;
    response_->body().more = true;
    serializer_.emplace(*response_);
    error_code ec;
    stream_.set_deadline(MonotonicMs() + timeout_ms_);
    http::write_header(stream_, *serializer_, ec);
    return Written(ec);
  }

  Status Write(std::string_view chunk) override {
    if (state_ != State::kStreaming) return Status::Internal("Write() outside Begin()..End()");
    if (failed_) return Status::Unavailable("the client went away");
    if (chunk.empty()) return Status::Ok();
    response_->body().data = const_cast<char*>(chunk.data());
    response_->body().size = chunk.size();
    response_->body().more = true;
    error_code ec;
    stream_.set_deadline(MonotonicMs() + timeout_ms_);
    http::write(stream_, *serializer_, ec);
    // need_buffer is how the serializer says it sent this chunk and waits for the next.
    if (ec == http::error::need_buffer) ec = {};
    return Written(ec);
  }

  Status End() override {
    if (state_ != State::kStreaming) return Status::Internal("End() without Begin()");
    state_ = State::kDone;
    if (failed_) return Status::Unavailable("the client went away");
    response_->body().data = nullptr;
    response_->body().size = 0;
    response_->body().more = false;
    error_code ec;
    stream_.set_deadline(MonotonicMs() + timeout_ms_);
    http::write(stream_, *serializer_, ec);
    return Written(ec);
  }

  bool answered() const { return state_ == State::kDone; }
  bool started() const { return state_ != State::kNone; }
  bool failed() const { return failed_; }

 private:
  enum class State { kNone, kStreaming, kDone };

  Status Written(const error_code& ec) {
    if (!ec) return Status::Ok();
    failed_ = true;
    return Status::Unavailable("the client went away: " + ec.message());
  }

  FdStream& stream_;
  unsigned version_;
  bool keep_alive_;
  int timeout_ms_;
  State state_ = State::kNone;
  bool failed_ = false;
  std::optional<http::response<http::buffer_body>> response_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
};

// Closing a socket with unread input makes the kernel send a reset, which can destroy the
// answer already written before the client reads it. So stop writing, and read and drop what
// the client still sends for a moment first.
void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  int64_t until = MonotonicMs() + 1000;
  char sink[16 * 1024];
  size_t dropped = 0;
  while (dropped < (64u << 20)) {
    int64_t left = until - MonotonicMs();
    if (left <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) break;
    ssize_t n = ::recv(fd, sink, sizeof(sink), 0);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

std::string PeerOf(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (address.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    port = ntohs(v6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

bool IsHopByHopHeader(std::string_view name) {
  static constexpr std::string_view kNames[] = {"connection", "keep-alive",        "te",
                                                "trailer",    "transfer-encoding", "upgrade"};
  if (name.size() >= 6 && EqualsIgnoringCase(name.substr(0, 6), "proxy-")) return true;
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](std::string_view hop) { return EqualsIgnoringCase(name, hop); });
}

std::string_view ServerRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoringCase(key, name)) return value;
  }
  return {};
}

std::string_view ServerRequest::Path() const {
  std::string_view view = target;
  return view.substr(0, view.find('?'));
}

std::string_view ServerRequest::Query() const {
  std::string_view view = target;
  size_t mark = view.find('?');
  return mark == std::string_view::npos ? std::string_view() : view.substr(mark + 1);
}

namespace {

// How long accepting pauses when the process has no descriptor left for a new connection.
constexpr int kOutOfDescriptorsPauseMs = 200;

}  // namespace

struct HttpServer::Impl {
  Options options;
  ServerHandler handler;
  int listen_fd = -1;
  int wake_pipe[2] = {-1, -1};
  int port = 0;
  std::thread accept_thread;

  struct Connection {
    int fd = -1;
    bool busy = false;  // a handler is running for it: Stop() waits instead of cutting it
    std::thread thread;
  };
  std::mutex mu;
  std::map<uint64_t, Connection> connections;
  std::vector<uint64_t> finished;  // ids whose thread has ended and waits to be joined
  uint64_t next_id = 0;
  bool stopping = false;
  bool out_of_descriptors = false;  // accept() last failed for want of descriptors (logged)

  ~Impl() {
    if (listen_fd >= 0) close(listen_fd);
    for (int fd : wake_pipe) {
      if (fd >= 0) close(fd);
    }
  }

  void AcceptLoop();
  void Serve(uint64_t id, int fd);
  // Joins the threads of connections that ended; called with `mu` not held.
  void Reap();
  void SetBusy(uint64_t id, bool busy);
  // Hands a change in the server's health to Options::on_trouble, if set; never throws.
  void Report(bool trouble, const std::string& message) const;
};

void HttpServer::Impl::Report(bool trouble, const std::string& message) const {
  if (!options.on_trouble) return;
  try {
    options.on_trouble(trouble, message);
  } catch (...) {
    // A report that fails must not end the accept loop.
  }
}

void HttpServer::Impl::Reap() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (uint64_t id : finished) {
      auto it = connections.find(id);
      if (it == connections.end()) continue;
      done.push_back(std::move(it->second.thread));
      connections.erase(it);
    }
    finished.clear();
  }
  for (std::thread& thread : done) {
    if (thread.joinable()) thread.join();
  }
}

void HttpServer::Impl::SetBusy(uint64_t id, bool busy) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = connections.find(id);
  if (it != connections.end()) it->second.busy = busy;
}

void HttpServer::Impl::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
    int rc = ::poll(fds, 2, 1000);
    Reap();
    if (rc < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (rc <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) continue;
      // The connection stays in the backlog, so the listening socket stays readable: retrying
      // at once would spin a core until a descriptor is freed. Wait a little, or for Stop().
      if (!out_of_descriptors) {
        out_of_descriptors = true;
        Report(true, options.name + ": cannot accept connections: " + std::strerror(error) +
                         "; they wait in the backlog (clients may time out) until descriptors "
                         "are free. Raise the open-file limit (LimitNOFILE= in the systemd unit, "
                         "ulimit -n) or have clients open fewer connections");
      }
      pollfd wake = {wake_pipe[0], POLLIN, 0};
      if (::poll(&wake, 1, kOutOfDescriptorsPauseMs) > 0) return;
      continue;
    }
    if (out_of_descriptors) {
      out_of_descriptors = false;
      Report(false, options.name + ": accepting connections again");
    }
    // An answer goes out as several writes (headers, then the body or its chunks); with Nagle's
    // algorithm each one after the first waits for the client's delayed ACK, ~40 ms a request.
    int no_delay = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof(no_delay));
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) {
      close(fd);
      return;
    }
    if (connections.size() >= options.max_connections) {
      static const std::string kBusy = [] {
        std::string body =
            ErrorBody("too_many_connections", "too many connections are open; retry in a moment");
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" +
               body;
      }();
      // Best effort and non-blocking: a client that does not read this loses nothing else.
      (void)::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    uint64_t id = next_id++;
    Connection& connection = connections[id];
    connection.fd = fd;
    try {
      connection.thread = std::thread([this, id, fd] { Serve(id, fd); });
    } catch (const std::system_error& e) {
      // Out of threads (or memory for one): this client is turned away, the server goes on.
      connections.erase(id);
      close(fd);
      Report(true, options.name +
                       ": a connection was closed unanswered: no thread could serve it (" +
                       e.what() + ")");
    }
  }
}

void HttpServer::Impl::Serve(uint64_t id, int fd) {
  FdStream stream(fd);
  beast::flat_buffer buffer;
  std::string peer = PeerOf(fd);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options.max_body_bytes);
    error_code ec;
    // The first byte of a request may take up to the idle timeout; the rest of it must follow
    // within the same bound, so a client trickling bytes cannot hold the thread.
    stream.set_deadline(MonotonicMs() + options.idle_timeout_ms);
    http::read_header(stream, buffer, parser, ec);
    // Beast checks a declared Content-Length against the limit while reading the header.
    bool too_large = ec == http::error::body_limit;
    if (ec && !too_large) break;
    SetBusy(id, true);
    if (!too_large && EqualsIgnoringCase(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on(http::status::continue_, parser.get().version());
      http::write(stream, go_on, ec);
      if (ec) break;
    }
    if (!too_large) {
      http::read(stream, buffer, parser, ec);
      too_large = ec == http::error::body_limit;
    }
    unsigned version = parser.get().version();
    bool keep_alive = parser.get().keep_alive();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) keep_alive = false;
    }
    if (too_large) {
      ConnectionWriter writer(stream, version, /*keep_alive=*/false, options.idle_timeout_ms);
      (void)writer.Send(413, {{"Content-Type", "application/json"}},
                        ErrorBody("body_too_large",
                                  "the request body is larger than the " +
                                      std::to_string(options.max_body_bytes) +
                                      "-byte limit; send less, or split it into several requests"));
      LingeringClose(fd);
      break;
    }
    if (ec) break;

    http::request<http::string_body> message = parser.release();
    ServerRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message.base()) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.peer = peer;

    ConnectionWriter writer(stream, version, keep_alive, options.idle_timeout_ms);
    try {
      handler(request, writer);
    } catch (const std::exception&) {
      // The handler broke its promise to answer with values; the client still gets an answer.
    }
    if (!writer.started()) {
      (void)writer.Send(500, {{"Content-Type", "application/json"}},
                        ErrorBody("internal", "the request could not be answered"));
    }
    SetBusy(id, false);
    if (!writer.answered() || writer.failed() || !keep_alive) break;
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) break;
  }
  ::shutdown(fd, SHUT_RDWR);
  {
    // Stop() shuts down the fds it finds here; once closed, the number may already belong to
    // another thread's socket or file, so it leaves the table before it is closed.
    std::lock_guard<std::mutex> lock(mu);
    auto it = connections.find(id);
    if (it != connections.end()) it->second.fd = -1;
    finished.push_back(id);
  }
  close(fd);
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
}

int HttpServer::port() const {
  return impl_->port;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, ServerHandler handler) {
  auto impl = std::make_unique<Impl>();
  std::string where = options.address + ":" + std::to_string(options.port);
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(options.port));
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(options.port));
    length = sizeof(sockaddr_in6);
  } else {
    return Status::InvalidArgument(options.name + ": '" + options.address +
                                   "' is not a numeric IPv4 or IPv6 address; use e.g. 127.0.0.1");
  }
  impl->listen_fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0) {
    return Status::IoError(options.name + ": cannot open a socket: " + std::strerror(errno));
  }
  int yes = 1;
  setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return Status::IoError(options.name + ": cannot listen on " + where + ": " +
                           std::strerror(errno) + "; choose a free port or stop what holds it");
  }
  if (::listen(impl->listen_fd, 128) != 0) {
    return Status::IoError(options.name + ": cannot listen on " + where + ": " +
                           std::strerror(errno));
  }
  if (getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    impl->port = ntohs(address.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  }
  if (pipe2(impl->wake_pipe, O_CLOEXEC) != 0) {
    return Status::IoError(options.name + ": cannot make a pipe: " + std::strerror(errno));
  }
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() {
  if (!impl_->accept_thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    // Idle connections wait in a read: cutting them ends their threads at once. Busy ones
    // finish their request first and then see `stopping`.
    for (auto& [id, connection] : impl_->connections) {
      if (!connection.busy && connection.fd >= 0) ::shutdown(connection.fd, SHUT_RDWR);
    }
  }
  char byte = 1;
  (void)!::write(impl_->wake_pipe[1], &byte, 1);
  impl_->accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [id, connection] : impl_->connections)
      threads.push_back(std::move(connection.thread));
  }
  for (std::thread& thread : threads) {
    if (thread.joinable()) thread.join();
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->connections.clear();
  impl_->finished.clear();
}

}  // namespace gatilho
