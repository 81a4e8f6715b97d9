#include "support/tls_loopback_server.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

extern char** environ;

namespace gatilho::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

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

// Parses the request line and headers in `head` (up to the blank line) into `request`.
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

// The subject of the certificate the peer presented, or "".
std::string PeerSubject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string subject;
  if (char* line = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
    subject = line;
    OPENSSL_free(line);
  }
  X509_free(cert);
  return subject;
}

// The full path of `program` in $PATH, or "" when it is not there.
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr && *path != '\0' ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs `binary` with `args`, its stdin from /dev/null and its output to `log`; true when it
// exits 0. Otherwise `error` says why, with what the program printed.
bool Run(const std::string& binary, const std::vector<std::string>& args, const std::string& log,
         std::string* error) {
  std::vector<std::string> storage = {binary};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : storage)
    argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::string command = binary;
  for (const std::string& arg : args)
    command += " " + arg;
  if (rc != 0) {
    *error = command + ": " + std::strerror(rc);
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      *error = command + ": waitpid: " + std::strerror(errno);
      return false;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *error = command + " failed (status " + std::to_string(status) + "): " + ReadFile(log);
  return false;
}

// The extensions each certificate gets; a config of our own, so that the system's openssl.cnf
// adds nothing.
constexpr char kOpensslConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

}  // namespace

bool MakeTestPki(const std::string& dir, TestPki* pki, std::string* error) {
  std::string openssl = FindOnPath("openssl");
  if (openssl.empty()) {
    *error = "the openssl command is not on PATH (scripts/install-deps.sh installs it)";
    return false;
  }
  std::string config = dir + "/openssl.cnf";
  std::ofstream(config) << kOpensslConfig;
  std::string log = dir + "/openssl.log";

  // Writes `name`.key and a certificate `name`.pem with `extensions`, signed by `issuer` (its
  // .pem and .key) or self-signed when `issuer` is empty.
  auto make = [&](const std::string& name, const std::string& subject,
                  const std::string& extensions, const std::string& issuer) {
    std::string key = dir + "/" + name + ".key";
    std::string cert = dir + "/" + name + ".pem";
    if (!Run(openssl,
             {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key},
             log, error)) {
      return false;
    }
    std::vector<std::string> args = {"req",      "-x509", "-config", config, "-extensions",
                                     extensions, "-key",  key,       "-out", cert,
                                     "-days",    "2",     "-subj",   subject};
    if (!issuer.empty()) {
      args.insert(args.end(),
                  {"-CA", dir + "/" + issuer + ".pem", "-CAkey", dir + "/" + issuer + ".key"});
    }
    return Run(openssl, args, log, error);
  };
  if (!make("ca", "/CN=gatilho-test-ca", "ca_ext", "") ||
      !make("other-ca", "/CN=gatilho-other-ca", "ca_ext", "") ||
      !make("server", "/CN=127.0.0.1", "server_ext", "ca") ||
      !make("client", "/CN=gatilho-test-client", "client_ext", "ca")) {
    return false;
  }
  *pki = TestPki{.ca_cert = dir + "/ca.pem",
                 .server_cert = dir + "/server.pem",
                 .server_key = dir + "/server.key",
                 .client_cert = dir + "/client.pem",
                 .client_key = dir + "/client.key",
                 .other_ca_cert = dir + "/other-ca.pem"};
  return true;
}

struct TlsLoopbackServer::State {
  // Declared first so that it outlives the connections, which are destroyed with `io`.
  ssl::context tls{ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  int port = 0;
  std::atomic<int> accepted{0};
  std::atomic<int> failed{0};
  mutable std::mutex mu;
  std::vector<Request> requests;  // GUARDED_BY(mu)
  std::thread thread;

  void Accept();
};

namespace {

// One connection: the handshake, then requests answered one after the other while the client
// keeps the connection alive. Each step's handler holds the session alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, TlsLoopbackServer::State& server)
      : stream_(std::move(socket), server.tls), server_(server) {}

  void Start() {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](const boost::system::error_code& ec) {
                              if (ec) {
                                ++self->server_.failed;
                                return;
                              }
                              self->subject_ = PeerSubject(self->stream_.native_handle());
                              self->ReadHead();
                            });
  }

 private:
  void ReadHead() {
    asio::async_read_until(
        stream_, buffer_, "\r\n\r\n",
        [self = shared_from_this()](const boost::system::error_code& ec, size_t head_size) {
          if (ec) return;
          std::string head = self->Take(head_size);
          TlsLoopbackServer::Request request;
          long content_length = ParseHead(head.substr(0, head.size() - 4), request);
          if (content_length < 0) return;
          self->ReadBody(std::move(request), static_cast<size_t>(content_length));
        });
  }

  void ReadBody(TlsLoopbackServer::Request request, size_t length) {
    if (buffer_.size() >= length) {
      request.body = Take(length);
      Answer(std::move(request));
      return;
    }
    asio::async_read(stream_, buffer_, asio::transfer_exactly(length - buffer_.size()),
                     [self = shared_from_this(), request = std::move(request), length](
                         const boost::system::error_code& ec, size_t) mutable {
                       if (ec) return;
                       request.body = self->Take(length);
                       self->Answer(std::move(request));
                     });
  }

  void Answer(TlsLoopbackServer::Request request) {
    bool keep_alive = Lowercase(request.Header("connection")) != "close";
    request.client_subject = subject_;
    {
      std::lock_guard lock(server_.mu);
      server_.requests.push_back(std::move(request));
    }
    reply_ = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n";
    if (!keep_alive) reply_ += "Connection: close\r\n";
    reply_ += "\r\nok";
    asio::async_write(
        stream_, asio::buffer(reply_),
        [self = shared_from_this(), keep_alive](const boost::system::error_code& ec, size_t) {
          if (!ec && keep_alive) self->ReadHead();
        });
  }

  // Removes the first `size` bytes read and returns them.
  std::string Take(size_t size) {
    auto begin = asio::buffers_begin(buffer_.data());
    std::string bytes(begin, begin + static_cast<std::ptrdiff_t>(size));
    buffer_.consume(size);
    return bytes;
  }

  ssl::stream<tcp::socket> stream_;
  TlsLoopbackServer::State& server_;
  asio::streambuf buffer_;
  std::string subject_;
  std::string reply_;
};

}  // namespace

void TlsLoopbackServer::State::Accept() {
  acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      ++accepted;
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    Accept();
  });
}

TlsLoopbackServer::TlsLoopbackServer(const Options& options) : state_(std::make_unique<State>()) {
  try {
    ssl::context& tls = state_->tls;
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(options.cert_file);
    tls.use_private_key_file(options.key_file, ssl::context::pem);
    if (!options.client_ca_file.empty()) {
      tls.load_verify_file(options.client_ca_file);
      tls.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      // Tells the client which CAs to pick its certificate by.
      SSL_CTX_set_client_CA_list(tls.native_handle(),
                                 SSL_load_client_CA_file(options.client_ca_file.c_str()));
    }
    tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    state_->acceptor.open(endpoint.protocol());
    state_->acceptor.bind(endpoint);
    state_->acceptor.listen();
    state_->port = state_->acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(std::string("TlsLoopbackServer: ") + e.what());
  }
  state_->Accept();
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

TlsLoopbackServer::~TlsLoopbackServer() {
  state_->io.stop();
  state_->thread.join();
  // The handlers still pending, and the connections they hold, go with the io_context.
}

int TlsLoopbackServer::port() const {
  return state_->port;
}

std::string TlsLoopbackServer::Url(std::string_view path) const {
  return "https://127.0.0.1:" + std::to_string(state_->port) + std::string(path);
}

std::vector<TlsLoopbackServer::Request> TlsLoopbackServer::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->requests;
}

int TlsLoopbackServer::connections_accepted() const {
  return state_->accepted.load();
}

int TlsLoopbackServer::handshakes_failed() const {
  return state_->failed.load();
}

}  // namespace gatilho::testing
