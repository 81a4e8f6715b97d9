#include "support/loopback_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gatilho::testing {
namespace {

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(std::string("LoopbackServer: ") + what + ": " + std::strerror(errno));
}

// Parses the request line and headers in `head` (without the blank line) into `request`.
// Returns the Content-Length, or -1 when the head is not a request we understand.
long ParseHead(std::string_view head, LoopbackServer::Request& request) {
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  size_t first_space = request_line.find(' ');
  size_t second_space = request_line.find(' ', first_space + 1);
  if (first_space == std::string_view::npos || second_space == std::string_view::npos) return -1;
  request.method = std::string(request_line.substr(0, first_space));
  request.target =
      std::string(request_line.substr(first_space + 1, second_space - first_space - 1));

  long content_length = 0;
  while (line_end != std::string_view::npos) {
    size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string_view line = head.substr(
        start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = Lowercase(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (name == "content-length") content_length = std::stol(value);
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  return content_length;
}

}  // namespace

std::string LoopbackServer::Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

LoopbackServer::LoopbackServer(Handler handler) : handler_(std::move(handler)) {
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) Fail("pipe2");
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 ||
      bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listen_fd_, SOMAXCONN) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int saved = errno;
    if (listen_fd_ >= 0) close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
    errno = saved;
    Fail("listening on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackServer::~LoopbackServer() {
  // The byte is never read, so the pipe stays readable and every wait, current or future, ends.
  char byte = 'x';
  while (write(stop_pipe_[1], &byte, 1) < 0 && errno == EINTR) {
  }
  acceptor_.join();
  for (std::thread& connection : connections_)
    connection.join();
  close(listen_fd_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

std::string LoopbackServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<LoopbackServer::Request> LoopbackServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool LoopbackServer::WaitFor(int fd, short events) const {
  pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {fd, events, 0}};
  while (true) {
    int ready = poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && fds[0].revents == 0;
  }
}

bool LoopbackServer::StopRequested(int timeout_ms) const {
  pollfd stop = {stop_pipe_[0], POLLIN, 0};
  while (true) {
    int ready = poll(&stop, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0;
  }
}

bool LoopbackServer::SendAll(int fd, std::string_view data) const {
  while (!data.empty()) {
    ssize_t sent = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      data.remove_prefix(static_cast<size_t>(sent));
    } else if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT)) return false;
    } else {
      return false;
    }
  }
  return true;
}

void LoopbackServer::AcceptLoop() {
  while (WaitFor(listen_fd_, POLLIN)) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_accepted_;
    connections_.emplace_back([this, fd] {
      Serve(fd);
      close(fd);
    });
  }
}

void LoopbackServer::Serve(int fd) {
  std::string buffer;
  // Reads more bytes into `buffer`; false when the peer closed, failed, or the server stops.
  auto read_more = [&] {
    char chunk[16 * 1024];
    while (true) {
      if (!WaitFor(fd, POLLIN)) return false;
      ssize_t received = recv(fd, chunk, sizeof(chunk), 0);
      if (received > 0) {
        buffer.append(chunk, static_cast<size_t>(received));
        return true;
      }
      if (received == 0 || (errno != EAGAIN && errno != EINTR)) return false;
    }
  };

  while (true) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) return;
    }
    Request request;
    long content_length = ParseHead(std::string_view(buffer).substr(0, head_end), request);
    if (content_length < 0) return;
    size_t body_start = head_end + 4;
    while (buffer.size() < body_start + static_cast<size_t>(content_length)) {
      if (!read_more()) return;
    }
    request.body = buffer.substr(body_start, static_cast<size_t>(content_length));
    buffer.erase(0, body_start + static_cast<size_t>(content_length));
    bool keep_alive = Lowercase(request.Header("connection")) != "close";
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }

    Reply reply = handler_(request);
    if (reply.hang) {
      StopRequested(-1);
      return;
    }
    if (reply.delay_ms > 0 && StopRequested(reply.delay_ms)) return;
    if (reply.close_without_reply) return;

    std::string response = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
    for (const auto& [name, value] : reply.headers)
      response += name + ": " + value + "\r\n";
    response += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    if (!keep_alive) response += "Connection: close\r\n";
    response += "\r\n";
    response += reply.body;
    if (!SendAll(fd, response) || !keep_alive) return;
  }
}

}  // namespace gatilho::testing
