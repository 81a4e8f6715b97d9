#include "net/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "support/tls_loopback_server.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using testing::LoopbackServer;
using testing::TempDir;
using testing::TestPki;
using testing::TlsLoopbackServer;
using Reply = LoopbackServer::Reply;
using Request = LoopbackServer::Request;

constexpr char kToken[] = "tok-very-secret-9f8e7d";
constexpr char kPassword[] = "pw-very-secret-1a2b3c";

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<HttpClient>> created = HttpClient::Create();
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    client_ = std::move(created).value();
  }

  // Polls until `done` holds or 10 s pass; false on the timeout.
  bool PollUntil(const std::function<bool()>& done) {
    auto start = std::chrono::steady_clock::now();
    while (!done()) {
      if (ElapsedMs(start) > 10'000) return false;
      Status polled = client_->Poll(100, nullptr);
      EXPECT_TRUE(polled.ok()) << polled.ToString();
    }
    return true;
  }

  // Sends `request` and returns its response once the callback has run.
  HttpResponse Fetch(HttpRequest request) {
    std::optional<HttpResponse> response;
    client_->Start(std::move(request), [&](HttpResponse r) { response = std::move(r); });
    EXPECT_TRUE(PollUntil([&] { return response.has_value(); })) << "no callback in 10 s";
    return response.value_or(HttpResponse{});
  }

  HttpResponse Get(const std::string& url) {
    HttpRequest request;
    request.url = url;
    return Fetch(std::move(request));
  }

  // A private CA with a server and a client certificate, made afresh in dir_.
  void MakePki(TestPki* pki) {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(dir_.path(), pki, &error)) << error;
  }

  std::unique_ptr<HttpClient> client_;
  TempDir dir_;
};

// Sets an environment variable for the scope of a test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_F(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  LoopbackServer server([](const Request&) {
    return Reply{.status = 203, .headers = {{"X-Rate-Thing", "  42 \t"}}, .body = "hello"};
  });

  HttpResponse response = Get(server.Url("/v2/nfe/abc?completa=1"));

  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, 203);
  EXPECT_EQ(response.Header("x-rate-thing"), "42");
  EXPECT_EQ(response.body, "hello");
  ASSERT_EQ(server.requests().size(), 1u);
  Request seen = server.requests()[0];
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/v2/nfe/abc?completa=1");
  EXPECT_EQ(seen.Header("user-agent"), "gatilho/" GATILHO_VERSION);
  EXPECT_EQ(client_->InFlight(), 0u);
}

TEST_F(HttpClientTest, KeepsOnlyTheHeadersAskedFor) {
  LoopbackServer server([](const Request&) {
    return Reply{
        .status = 200, .headers = {{"Rate-Limit-Remaining", "7"}, {"X-Other", "x"}}, .body = "{}"};
  });
  HttpRequest request;
  request.url = server.Url("/v2/nfe/abc");
  request.keep_headers = {"rate-limit-remaining"};

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.Header("rate-limit-remaining"), "7");
  EXPECT_EQ(response.Header("x-other"), std::nullopt);
  EXPECT_EQ(response.Header("content-length"), std::nullopt);
  ASSERT_EQ(response.headers.size(), 1u);
  // Without a list every header is kept.
  EXPECT_EQ(Get(server.Url("/v2/nfe/abc")).Header("x-other"), "x");
}

TEST_F(HttpClientTest, BasicAuthSendsTokenAsUserWithEmptyPassword) {
  LoopbackServer server([](const Request&) { return Reply{}; });
  HttpRequest request;
  request.url = server.Url("/v2/nfe/1");
  request.basic_user = "tok-secret-123";

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(server.requests().size(), 1u);
  // base64("tok-secret-123:"): the token as user, a colon, an empty password.
  EXPECT_EQ(server.requests()[0].Header("authorization"), "Basic dG9rLXNlY3JldC0xMjM6");
  EXPECT_EQ(server.requests()[0].target.find("tok-secret"), std::string::npos);
}

TEST_F(HttpClientTest, BasicAuthSendsUserAndPassword) {
  LoopbackServer server([](const Request&) { return Reply{}; });
  HttpRequest request;
  request.url = server.Url("/hook");
  request.basic_user = "erp-user";
  request.basic_password = "pa:ss-w0rd";  // a colon is fine in the password
  HttpRequest token_only;
  token_only.url = server.Url("/v2/nfe/1");
  token_only.basic_user = "tok-secret-123";
  HttpRequest anonymous;
  anonymous.url = server.Url("/open");

  // One after the other, so each reuses the previous request's handle.
  EXPECT_EQ(Fetch(request).status, 200);
  EXPECT_EQ(Fetch(token_only).status, 200);
  EXPECT_EQ(Fetch(anonymous).status, 200);

  ASSERT_EQ(server.requests().size(), 3u);
  // base64("erp-user:pa:ss-w0rd").
  EXPECT_EQ(server.requests()[0].Header("authorization"), "Basic ZXJwLXVzZXI6cGE6c3MtdzByZA==");
  // base64("tok-secret-123:"): the previous request's password did not stay on the handle.
  EXPECT_EQ(server.requests()[1].Header("authorization"), "Basic dG9rLXNlY3JldC0xMjM6");
  EXPECT_EQ(server.requests()[2].Header("authorization"), "");
}

TEST_F(HttpClientTest, PostSendsBodyAndHeaders) {
  LoopbackServer server([](const Request&) { return Reply{.status = 201}; });
  // Large enough that libcurl would ask for 100-continue, with a NUL to prove byte fidelity.
  std::string body = std::string("{\"a\":\0\"b\"}", 10) + std::string(1'500'000, 'x');
  HttpRequest request;
  request.method = "POST";
  request.url = server.Url("/hook");
  request.headers = {{"Content-Type", "application/json"}, {"X-Custom", "yes"}};
  request.body = body;

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.status, 201);
  ASSERT_EQ(server.requests().size(), 1u);
  Request seen = server.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_TRUE(seen.body == body) << "body differs; size " << seen.body.size();
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(seen.Header("x-custom"), "yes");
  EXPECT_EQ(seen.Header("expect"), "");
}

TEST_F(HttpClientTest, OtherMethodsAreSentAsGiven) {
  LoopbackServer server([](const Request&) { return Reply{.status = 204}; });
  HttpRequest request;
  request.method = "DELETE";
  request.url = server.Url("/v2/nfe/1");

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.status, 204);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "DELETE");
}

TEST_F(HttpClientTest, ConnectionsAreReused) {
  LoopbackServer server([](const Request&) { return Reply{.body = "ok"}; });

  for (int i = 0; i < 20; ++i) {
    HttpResponse response = Get(server.Url("/" + std::to_string(i)));
    ASSERT_EQ(response.status, 200) << response.error;
  }

  EXPECT_EQ(server.requests().size(), 20u);
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_F(HttpClientTest, PollReturnsOnceACallbackHasRun) {
  LoopbackServer server([](const Request&) { return Reply{.body = "ok"}; });
  auto start = std::chrono::steady_clock::now();

  for (int i = 0; i < 10; ++i) {
    bool done = false;
    HttpRequest request;
    request.url = server.Url("/");
    client_->Start(std::move(request), [&](HttpResponse) { done = true; });
    while (!done && ElapsedMs(start) < 20'000)
      ASSERT_TRUE(client_->Poll(5'000, nullptr).ok());
  }

  // Ten answers from loopback take milliseconds; waiting out a timeout once would take 5 s.
  EXPECT_LT(ElapsedMs(start), 4'000);
}

TEST_F(HttpClientTest, ManyConcurrentRequestsAllComplete) {
  LoopbackServer server([](const Request& request) { return Reply{.body = request.target}; });
  constexpr int kRequests = 200;
  int completed = 0;
  int matching = 0;

  for (int i = 0; i < kRequests; ++i) {
    HttpRequest request;
    request.url = server.Url("/doc/" + std::to_string(i));
    std::string expected = "/doc/" + std::to_string(i);
    client_->Start(std::move(request), [&, expected](HttpResponse response) {
      ++completed;
      if (response.status == 200 && response.body == expected) ++matching;
    });
  }
  EXPECT_EQ(client_->InFlight(), static_cast<size_t>(kRequests));
  ASSERT_TRUE(PollUntil([&] { return completed == kRequests; }));

  EXPECT_EQ(matching, kRequests);
  EXPECT_EQ(server.requests().size(), static_cast<size_t>(kRequests));
  EXPECT_LE(server.connections_accepted(), 8);  // Options::max_connections_per_host
  EXPECT_EQ(client_->InFlight(), 0u);
}

TEST_F(HttpClientTest, CallbackMayStartAnotherRequest) {
  LoopbackServer server([](const Request& request) { return Reply{.body = request.target}; });
  std::optional<HttpResponse> second;
  HttpRequest first;
  first.url = server.Url("/first");

  client_->Start(std::move(first), [&](HttpResponse) {
    HttpRequest next;
    next.url = server.Url("/second");
    client_->Start(std::move(next), [&](HttpResponse response) { second = std::move(response); });
  });
  ASSERT_TRUE(PollUntil([&] { return second.has_value(); }));

  EXPECT_EQ(second->body, "/second");
}

TEST_F(HttpClientTest, TotalTimeoutFailsTheRequestWithAnError) {
  LoopbackServer server([](const Request&) { return Reply{.hang = true}; });
  HttpRequest request;
  request.url = server.Url("/slow");
  request.total_timeout_ms = 300;

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
  EXPECT_GE(response.duration_ms, 250);
  EXPECT_LT(response.duration_ms, 5'000);
}

TEST_F(HttpClientTest, ConnectionRefusedIsAnErrorNotACrash) {
  std::string url;
  {
    LoopbackServer gone([](const Request&) { return Reply{}; });
    url = gone.Url("/");
  }

  HttpResponse response = Get(url);

  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
  EXPECT_TRUE(response.never_sent) << "a refused connection carried no request";
}

TEST_F(HttpClientTest, AnAnswerOrACutConnectionIsNotNeverSent) {
  LoopbackServer server([](const Request&) { return Reply{.status = 503}; });
  HttpResponse answered = Get(server.Url("/"));
  EXPECT_EQ(answered.status, 503);
  EXPECT_FALSE(answered.never_sent);

  LoopbackServer dropping([](const Request&) { return Reply{.close_without_reply = true}; });
  HttpResponse dropped = Get(dropping.Url("/"));
  EXPECT_EQ(dropped.status, 0);
  EXPECT_FALSE(dropped.never_sent) << "the server read the request before it hung up";
}

TEST_F(HttpClientTest, OversizedResponseFailsWithAClearError) {
  LoopbackServer server([](const Request&) { return Reply{.body = std::string(100'000, 'z')}; });
  HttpRequest request;
  request.url = server.Url("/big");
  request.max_response_bytes = 1'000;

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.error, "response larger than 1000 bytes");
  EXPECT_EQ(response.body, "");
}

TEST_F(HttpClientTest, RedirectIsNotFollowed) {
  LoopbackServer server([](const Request& request) {
    if (request.target == "/from") return Reply{.status = 302, .headers = {{"Location", "/to"}}};
    return Reply{.body = "followed"};
  });

  HttpResponse response = Get(server.Url("/from"));

  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.Header("location"), "/to");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(HttpClientTest, ErrorsNeverContainTheToken) {
  LoopbackServer hanging([](const Request&) { return Reply{.hang = true}; });
  LoopbackServer dropping([](const Request&) { return Reply{.close_without_reply = true}; });
  LoopbackServer big([](const Request&) { return Reply{.body = std::string(5'000, 'z')}; });
  std::string refused_url;
  {
    LoopbackServer gone([](const Request&) { return Reply{}; });
    refused_url = gone.Url("/");
  }
  std::vector<std::string> urls = {hanging.Url("/"), dropping.Url("/"), big.Url("/"), refused_url,
                                   "http://127.0.0.1:notaport/"};

  for (const std::string& url : urls) {
    HttpRequest request;
    request.url = url;
    request.basic_user = kToken;
    request.total_timeout_ms = 300;
    request.max_response_bytes = 1'000;

    HttpResponse response = Fetch(std::move(request));

    EXPECT_NE(response.error, "") << url;
    EXPECT_EQ(response.error.find(kToken), std::string::npos) << response.error;
  }
}

TEST_F(HttpClientTest, ErrorsNeverContainThePassword) {
  LoopbackServer hanging([](const Request&) { return Reply{.hang = true}; });
  LoopbackServer dropping([](const Request&) { return Reply{.close_without_reply = true}; });
  LoopbackServer big([](const Request&) { return Reply{.body = std::string(5'000, 'z')}; });
  std::vector<std::string> urls = {hanging.Url("/"), dropping.Url("/"), big.Url("/"),
                                   "http://127.0.0.1:notaport/"};

  for (const std::string& url : urls) {
    HttpRequest request;
    request.url = url;
    request.basic_user = "erp-user";
    request.basic_password = kPassword;
    request.total_timeout_ms = 300;
    request.max_response_bytes = 1'000;

    HttpResponse response = Fetch(std::move(request));

    EXPECT_NE(response.error, "") << url;
    EXPECT_EQ(response.error.find(kPassword), std::string::npos) << response.error;
  }

  // libcurl quotes a malformed proxy URL whole in its error, credentials included.
  HttpRequest request;
  request.url = big.Url("/");
  request.proxy = std::string("http://proxy-user:") + kPassword + "@127.0.0.1:notaport";

  HttpResponse response = Fetch(std::move(request));

  EXPECT_NE(response.error, "");
  EXPECT_EQ(response.error.find(kPassword), std::string::npos) << response.error;
  EXPECT_THAT(response.error, HasSubstr("proxy-user:***@"));
}

TEST_F(HttpClientTest, TrustsPrivateCaWhenGivenCaBundle) {
  TestPki pki;
  ASSERT_NO_FATAL_FAILURE(MakePki(&pki));
  TlsLoopbackServer server({.cert_file = pki.server_cert, .key_file = pki.server_key});
  HttpRequest system_cas;
  system_cas.url = server.Url("/hook");
  HttpRequest other_ca = system_cas;
  other_ca.ca_bundle = pki.other_ca_cert;
  HttpRequest private_ca = system_cas;
  private_ca.ca_bundle = pki.ca_cert;

  HttpResponse untrusted = Fetch(system_cas);
  HttpResponse wrong_ca = Fetch(other_ca);
  HttpResponse trusted = Fetch(private_ca);
  // The handle and the kept-alive connection of the trusted request must not make the next
  // request without the bundle trust the server.
  HttpResponse untrusted_again = Fetch(system_cas);

  EXPECT_EQ(untrusted.status, 0);
  EXPECT_THAT(untrusted.error, HasSubstr("certificate"));
  EXPECT_EQ(wrong_ca.status, 0);
  EXPECT_THAT(wrong_ca.error, HasSubstr("certificate"));
  EXPECT_EQ(trusted.error, "");
  EXPECT_FALSE(trusted.certificate_rejected);
  EXPECT_EQ(trusted.status, 200);
  EXPECT_EQ(trusted.body, "ok");
  EXPECT_EQ(untrusted_again.status, 0);
  EXPECT_THAT(untrusted_again.error, HasSubstr("certificate"));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/hook");
}

TEST_F(HttpClientTest, UntrustedCertificateIsReportedAsAVerificationFailure) {
  TestPki pki;
  ASSERT_NO_FATAL_FAILURE(MakePki(&pki));
  TlsLoopbackServer server({.cert_file = pki.server_cert, .key_file = pki.server_key});
  HttpRequest request;
  request.url = server.Url("/hook");
  request.ca_bundle = pki.other_ca_cert;
  HttpRequest refused;
  {
    LoopbackServer gone([](const Request&) { return Reply{}; });
    refused.url = gone.Url("/hook");
  }

  HttpResponse untrusted = Fetch(request);
  HttpResponse no_server = Fetch(refused);

  EXPECT_EQ(untrusted.status, 0);
  EXPECT_TRUE(untrusted.certificate_rejected);
  EXPECT_THAT(untrusted.error, ::testing::StartsWith("TLS certificate verification failed: "));
  EXPECT_THAT(untrusted.error, HasSubstr("certificate"));
  EXPECT_FALSE(no_server.certificate_rejected) << no_server.error;
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST_F(HttpClientTest, PresentsClientCertificateForMutualTls) {
  TestPki pki;
  ASSERT_NO_FATAL_FAILURE(MakePki(&pki));
  TlsLoopbackServer server(
      {.cert_file = pki.server_cert, .key_file = pki.server_key, .client_ca_file = pki.ca_cert});
  HttpRequest anonymous;
  anonymous.url = server.Url("/hook");
  anonymous.ca_bundle = pki.ca_cert;
  HttpRequest with_cert = anonymous;
  with_cert.client_cert = pki.client_cert;
  with_cert.client_key = pki.client_key;
  // One file holding the certificate and its key needs no client_key.
  HttpRequest combined = anonymous;
  combined.client_cert = dir_.WriteFile(
      "combined.pem", testing::ReadFile(pki.client_cert) + testing::ReadFile(pki.client_key));

  HttpResponse refused = Fetch(anonymous);
  HttpResponse accepted = Fetch(with_cert);
  HttpResponse accepted_combined = Fetch(combined);
  // Neither the reused handle nor the open connection may present the certificate again.
  HttpResponse refused_again = Fetch(anonymous);

  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.error, "");
  EXPECT_EQ(accepted.error, "");
  EXPECT_EQ(accepted.status, 200);
  EXPECT_EQ(accepted_combined.error, "");
  EXPECT_EQ(accepted_combined.status, 200);
  EXPECT_EQ(refused_again.status, 0);
  EXPECT_NE(refused_again.error, "");
  // The server may count its side of a refusal only after the client has seen it.
  auto start = std::chrono::steady_clock::now();
  while (server.handshakes_failed() < 2 && ElapsedMs(start) < 5'000)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server.handshakes_failed(), 2);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].client_subject, "/CN=gatilho-test-client");
  EXPECT_EQ(server.requests()[1].client_subject, "/CN=gatilho-test-client");
}

TEST_F(HttpClientTest, SendsRequestsThroughConfiguredProxy) {
  LoopbackServer target([](const Request&) { return Reply{.body = "direct"}; });
  LoopbackServer proxy([](const Request&) { return Reply{.body = "via proxy"}; });
  HttpRequest proxied;
  proxied.url = target.Url("/hook?x=1");
  proxied.proxy = proxy.Url("");
  HttpRequest direct;
  direct.url = target.Url("/direct");

  HttpResponse through_proxy = Fetch(proxied);
  // The next request on the same handle, without a proxy, goes straight to the target.
  HttpResponse straight = Fetch(direct);

  EXPECT_EQ(through_proxy.status, 200);
  EXPECT_EQ(through_proxy.body, "via proxy");
  ASSERT_EQ(proxy.requests().size(), 1u);
  // A proxy is sent the absolute form of the target.
  EXPECT_EQ(proxy.requests()[0].target,
            "http://127.0.0.1:" + std::to_string(target.port()) + "/hook?x=1");
  EXPECT_EQ(proxy.requests()[0].Header("host"), "127.0.0.1:" + std::to_string(target.port()));
  EXPECT_EQ(straight.body, "direct");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(target.requests()[0].target, "/direct");
}

TEST_F(HttpClientTest, ConfiguredProxyIsUsedWhateverNoProxySays) {
  ScopedEnv no_proxy("no_proxy", "127.0.0.1,localhost");
  ScopedEnv no_proxy_upper("NO_PROXY", "127.0.0.1,localhost");
  LoopbackServer target([](const Request&) { return Reply{.body = "direct"}; });
  LoopbackServer proxy([](const Request&) { return Reply{.body = "via proxy"}; });
  HttpRequest request;
  request.url = target.Url("/hook");
  request.proxy = proxy.Url("");

  HttpResponse response = Fetch(std::move(request));

  EXPECT_EQ(response.body, "via proxy");
  EXPECT_EQ(proxy.requests().size(), 1u);
  EXPECT_TRUE(target.requests().empty());
}

TEST_F(HttpClientTest, ExtraFdWakesPoll) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::vector<HttpClient::WaitFd> extra = {{.fd = fds[0]}};

  ASSERT_TRUE(client_->Poll(20, &extra).ok());
  EXPECT_FALSE(extra[0].ready);

  ASSERT_EQ(write(fds[1], "x", 1), 1);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_->Poll(10'000, &extra).ok());

  EXPECT_TRUE(extra[0].ready);
  EXPECT_LT(ElapsedMs(start), 5'000);
  close(fds[0]);
  close(fds[1]);
}

TEST_F(HttpClientTest, WakeupInterruptsPoll) {
  auto start = std::chrono::steady_clock::now();
  std::thread waker([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    client_->Wakeup();
  });

  Status polled = client_->Poll(10'000, nullptr);
  waker.join();

  EXPECT_TRUE(polled.ok()) << polled.ToString();
  EXPECT_LT(ElapsedMs(start), 5'000);
}

}  // namespace
}  // namespace gatilho
