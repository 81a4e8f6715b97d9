#include "sim/http_server.h"

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

namespace gatilho::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

// Large enough for any fiscal document the tests post, small enough that a runaway client cannot
// make the simulator allocate without bound.
constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;
// Idle keep-alive connections are closed after this, so abandoned clients do not pile up.
constexpr auto kIdleTimeout = std::chrono::seconds(60);

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Tcp::socket socket, const HttpHandler& handler)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), handler_(handler) {}

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      // end_of_stream is the client closing politely; anything else (timeout, reset, a request
      // over the size limit) leaves nothing worth answering either.
      Close();
      return;
    }
    http::request<http::string_body> request = parser_->release();
    keep_alive_ = request.keep_alive();
    HttpResponse answer = Call(request);
    drop_ = answer.drop;
    reset_ = answer.reset;
    truncate_ = answer.truncate;
    response_ = {};
    response_.version(request.version());
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(http::field::server, "gatilho-sim");
    response_.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers)
      response_.set(name, value);
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    if (answer.delay_ms <= 0) {
      Finish();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(answer.delay_ms));
    timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
      if (!timer_ec) self->Finish();
    });
  }

  // Answers, or ends the connection the way the handler asked.
  void Finish() {
    if (drop_) {
      Close();
    } else if (reset_) {
      Reset();
    } else if (truncate_) {
      WriteTruncated();
    } else {
      Write();
    }
  }

  HttpResponse Call(const http::request<http::string_body>& request) {
    HttpRequest in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    for (const auto& field : request) {
      in.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    in.body = request.body();
    // The handler is the edge of the simulator's logic: whatever it throws becomes a 500 here
    // rather than ending an io thread.
    try {
      return handler_(in);
    } catch (const std::exception& e) {
      std::cerr << "gatilho-sim: handler failed: " << e.what() << std::endl;
    }
    HttpResponse failure;
    failure.status = 500;
    failure.body = R"({"codigo":"erro_interno","mensagem":"Erro interno do simulador"})";
    return failure;
  }

  void Write() {
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || !keep_alive_) {
      Close();
      return;
    }
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // A zero linger time makes close() send RST instead of FIN, as a crashed or overloaded peer
  // (or a middlebox) does.
  void Reset() {
    beast::error_code ignored;
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    stream_.socket().close(ignored);
  }

  // The header promises the whole body; half of it goes out, then the connection closes, so the
  // client sees a short read rather than a well-framed bad answer.
  void WriteTruncated() {
    stream_.expires_after(kIdleTimeout);
    serializer_.emplace(response_);
    http::async_write_header(
        stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            self->Close();
            return;
          }
          const std::string& body = self->response_.body();
          asio::async_write(self->stream_, asio::buffer(body.data(), body.size() / 2),
                            [self](beast::error_code, std::size_t) { self->Close(); });
        });
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  const HttpHandler& handler_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  bool keep_alive_ = false;
  bool drop_ = false;
  bool reset_ = false;
  bool truncate_ = false;
};

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

struct HttpServer::Impl {
  explicit Impl(HttpHandler h) : handler(std::move(h)), acceptor(asio::make_strand(io)) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, Tcp::socket socket) {
      // A failed accept (e.g. out of descriptors) loses that one connection; the listener goes
      // on so that the simulator recovers when the pressure ends.
      if (!ec) std::make_shared<Session>(std::move(socket), handler)->Start();
      if (acceptor.is_open()) Accept();
    });
  }

  HttpHandler handler;
  asio::io_context io;
  Tcp::acceptor acceptor;
};

HttpServer::HttpServer(HttpHandler handler) : impl_(std::make_unique<Impl>(std::move(handler))) {}

HttpServer::~HttpServer() = default;

int HttpServer::Listen(const std::string& address, int port, std::string* error) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    *error = "invalid listen address '" + address + "'";
    return -1;
  }
  const Tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  Tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message();
    return -1;
  }
  return acceptor.local_endpoint().port();
}

void HttpServer::Run(int threads, const std::function<void()>& on_ready) {
  asio::signal_set signals(impl_->io, SIGINT, SIGTERM);
  signals.async_wait([this](beast::error_code, int) { impl_->io.stop(); });
  impl_->Accept();
  on_ready();

  auto run = [this] {
    // A completion handler that throws would otherwise end the thread and, with it, the process.
    for (;;) {
      try {
        impl_->io.run();
        return;
      } catch (const std::exception& e) {
        std::cerr << "gatilho-sim: io thread recovered from: " << e.what() << std::endl;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back(run);
  run();
  for (std::thread& t : pool)
    t.join();
}

}  // namespace gatilho::sim
