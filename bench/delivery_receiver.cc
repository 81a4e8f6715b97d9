// BenchReceiver's server: Boost.Beast sessions on one io_context thread. Beast is slow to
// compile, so it stays in this file.
#include "delivery_receiver.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <string_view>
#include <thread>

namespace gatilho::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct BenchReceiver::Impl {
  Options options;
  asio::io_context io{1};
  Tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread thread;

  std::mutex mu;
  std::vector<Arrival> arrivals;  // guarded by mu
  // Touched on the server thread only, read from others. held counts delayed answers only: the
  // ones a slow endpoint keeps its client waiting for.
  std::atomic<size_t> held{0};
  std::atomic<size_t> max_held{0};
  std::atomic<size_t> connections{0};

  void Accept();
};

namespace {

// One connection: read a request, record it, answer (after the delay), read the next.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Tcp::socket socket, BenchReceiver::Impl& owner)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), owner_(owner) {}

  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

 private:
  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return Close();
    const int64_t arrived = SteadyNs();
    const std::string_view target(request_.target().data(), request_.target().size());
    delayed_ = owner_.options.delay_ms > 0 && target.starts_with(owner_.options.delayed_path);
    {
      std::lock_guard lock(owner_.mu);
      owner_.arrivals.push_back({std::string(request_["webhook-id"]), arrived, delayed_});
    }

    response_ = {};
    response_.version(request_.version());
    response_.result(static_cast<unsigned>(owner_.options.status));
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    if (!delayed_) return Write();
    const size_t held = ++owner_.held;
    if (held > owner_.max_held.load()) owner_.max_held = held;
    timer_.expires_after(std::chrono::milliseconds(owner_.options.delay_ms));
    timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
      if (timer_ec) {
        --self->owner_.held;
        return;
      }
      self->Write();
    });
  }

  void Write() {
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    if (delayed_) --owner_.held;
    if (ec || !response_.keep_alive()) return Close();
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  BenchReceiver::Impl& owner_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::empty_body> response_;
  bool delayed_ = false;  // the request being answered
};

}  // namespace

void BenchReceiver::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, Tcp::socket socket) {
    if (ec) return;  // the acceptor was closed: the receiver is stopping
    ++connections;
    socket.set_option(Tcp::no_delay(true));
    std::make_shared<Session>(std::move(socket), *this)->Read();
    Accept();
  });
}

Result<std::unique_ptr<BenchReceiver>> BenchReceiver::Start(const Options& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  beast::error_code ec;
  const Tcp::endpoint where(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(where.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(where, ec);
  // A backlog as deep as the system allows: the dispatcher may open all its connections at once.
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("bench receiver cannot listen on 127.0.0.1: " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<BenchReceiver>(new BenchReceiver(std::move(impl)));
}

BenchReceiver::BenchReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BenchReceiver::~BenchReceiver() {
  // Sessions still held (a slow answer pending) die with the io_context, which closes their
  // sockets; the client sees its transfers abandoned, which is what the benchmark wants at its end.
  impl_->io.stop();
  impl_->thread.join();
}

std::string BenchReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + path;
}

std::vector<BenchReceiver::Arrival> BenchReceiver::TakeArrivals() {
  std::lock_guard lock(impl_->mu);
  std::vector<Arrival> out;
  out.swap(impl_->arrivals);
  return out;
}

size_t BenchReceiver::max_held() const {
  return impl_->max_held.load();
}

size_t BenchReceiver::connections() const {
  return impl_->connections.load();
}

}  // namespace gatilho::bench
