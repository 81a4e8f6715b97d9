// TlsLoopbackServer: a small HTTPS/1.1 server on 127.0.0.1 for tests that need real TLS.
//
// It listens on an ephemeral port with the certificate it is given, can require and verify a
// client certificate (mutual TLS), records every request with the subject of the client
// certificate that came with it, and answers each one 200 with the body "ok". Connections are
// kept alive (Content-Length bodies only, no chunked encoding). A failed handshake is counted
// and the connection dropped.
//
// MakeTestPki() writes the certificates such tests need, made by the `openssl` command line
// (3.0 or later, for `req -x509 -CA`): a private CA, a server certificate for IP 127.0.0.1 and a
// client certificate, both signed by it.
//
// Threads: the server runs on one thread of its own; the accessors are thread-safe. Lifetime:
// the destructor stops that thread and closes every connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/loopback_server.h"

namespace gatilho::testing {

// PEM files made by MakeTestPki(); keys are unencrypted.
struct TestPki {
  std::string ca_cert;      // the private CA, self-signed
  std::string server_cert;  // CN and subjectAltName IP:127.0.0.1, signed by the CA
  std::string server_key;
  std::string client_cert;  // CN=gatilho-test-client, for client authentication, signed by the CA
  std::string client_key;
  std::string other_ca_cert;  // a second CA that signed nothing here: trusting it is not enough
};

// Writes a fresh TestPki into `dir` (an existing folder, e.g. a TempDir). Returns false, with the
// reason in `error`, when `openssl` is not on PATH or one of its commands fails.
bool MakeTestPki(const std::string& dir, TestPki* pki, std::string* error);

class TlsLoopbackServer {
 public:
  struct Options {
    std::string cert_file = {};  // the server's certificate (PEM; may be followed by its chain)
    std::string key_file = {};   // its private key (PEM)
    // When not empty, a client certificate signed by one of these CAs (PEM) is required; a
    // handshake without one, or with another, fails.
    std::string client_ca_file = {};
  };

  struct Request : LoopbackServer::Request {
    // The client certificate's subject as OpenSSL prints it ("/CN=..."), or "" when none came.
    std::string client_subject;
  };

  // Starts listening at once; throws std::runtime_error when the certificate, the key or the
  // socket cannot be set up.
  explicit TlsLoopbackServer(const Options& options);
  ~TlsLoopbackServer();
  TlsLoopbackServer(const TlsLoopbackServer&) = delete;
  TlsLoopbackServer& operator=(const TlsLoopbackServer&) = delete;

  int port() const;
  // "https://127.0.0.1:<port>" followed by `path`.
  std::string Url(std::string_view path) const;

  // Every request received so far, in arrival order.
  std::vector<Request> requests() const;
  // Connections accepted so far, and those of them whose TLS handshake failed.
  int connections_accepted() const;
  int handshakes_failed() const;

  struct State;  // the implementation, in the .cc file

 private:
  std::unique_ptr<State> state_;
};

}  // namespace gatilho::testing
