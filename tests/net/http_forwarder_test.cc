#include "net/http_forwarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "support/tls_loopback_server.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using testing::LoopbackServer;
using ::testing::Not;
using testing::TempDir;
using testing::TestPki;
using testing::TlsLoopbackServer;
using Reply = LoopbackServer::Reply;
using Request = LoopbackServer::Request;

// What the callbacks saw of one relayed answer.
struct Relayed {
  int status = 0;
  HeaderList headers;
  std::vector<std::string> chunks;
  int heads = 0;

  std::string Body() const {
    std::string out;
    for (const std::string& chunk : chunks)
      out += chunk;
    return out;
  }
  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
};

class HttpForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(HttpForwarder::Options{}); }

  void Make(HttpForwarder::Options options) {
    Result<std::unique_ptr<HttpForwarder>> created = HttpForwarder::Create(std::move(options));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    forwarder_ = std::move(created).value();
  }

  ForwardResult Forward(const std::string& base, const ForwardRequest& request, Relayed& out) {
    return forwarder_->Forward(
        base, request,
        [&](int status, const HeaderList& headers) {
          out.status = status;
          out.headers = headers;
          ++out.heads;
          return Status::Ok();
        },
        [&](std::string_view chunk) {
          out.chunks.emplace_back(chunk);
          return Status::Ok();
        });
  }

  std::unique_ptr<HttpForwarder> forwarder_;
};

TEST_F(HttpForwarderTest, RelaysMethodTargetHeadersAndBodyUnchanged) {
  LoopbackServer upstream([](const Request&) {
    return Reply{201,
                 {{"Rate-Limit-Remaining", "42"},
                  {"X-Request-Id", "abc 123"},
                  {"Content-Type", "application/json"}},
                 R"({"status":"autorizado"})"};
  });
  ForwardRequest request{"POST",
                         "/v2/nfce?ref=C1&completa=1",
                         {{"Authorization", "Basic dG9rOg=="},
                          {"Content-Type", "application/json"},
                          {"X-Erp-Trace", "t-1"},
                          {"Host", "127.0.0.1:8471"},
                          {"Connection", "keep-alive, X-Hop"},
                          {"Keep-Alive", "timeout=5"},
                          {"X-Hop", "only for this connection"},
                          {"Proxy-Authorization", "Basic cHJveHk6"},
                          {"Content-Length", "19"}},
                         R"({"natureza":"venda"})"};
  Relayed out;
  // A trailing '/' on the base is tolerated.
  ForwardResult result = Forward(upstream.Url("/"), request, out);

  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  ASSERT_EQ(upstream.requests().size(), 1u);
  const Request seen = upstream.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v2/nfce?ref=C1&completa=1");
  EXPECT_EQ(seen.Header("authorization"), "Basic dG9rOg==");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(seen.Header("x-erp-trace"), "t-1");
  EXPECT_EQ(seen.Header("host"), "127.0.0.1:" + std::to_string(upstream.port()));
  EXPECT_EQ(seen.Header("content-length"), std::to_string(request.body.size()));
  EXPECT_EQ(seen.Header("keep-alive"), "");
  EXPECT_EQ(seen.Header("x-hop"), "");
  EXPECT_EQ(seen.Header("proxy-authorization"), "");
  EXPECT_EQ(seen.Header("accept"), "");  // nothing of libcurl's own
  EXPECT_EQ(seen.Header("user-agent"), "");
  EXPECT_EQ(seen.body, request.body);

  EXPECT_EQ(out.heads, 1);
  EXPECT_EQ(out.status, 201);
  EXPECT_EQ(result.http_status, 201);
  EXPECT_EQ(out.Header("Rate-Limit-Remaining"), "42");
  EXPECT_EQ(out.Header("X-Request-Id"), "abc 123");
  EXPECT_EQ(out.Header("Content-Type"), "application/json");
  EXPECT_EQ(out.Body(), R"({"status":"autorizado"})");
}

TEST_F(HttpForwarderTest, SendsADeleteWithItsBodyAndAGetWithout) {
  LoopbackServer upstream([](const Request&) { return Reply{200, {}, "{}"}; });
  Relayed out;
  ASSERT_TRUE(
      Forward(upstream.Url(""), {"DELETE", "/v2/nfe/R1", {}, R"({"justificativa":"x"})"}, out)
          .status.ok());
  ASSERT_TRUE(Forward(upstream.Url(""), {"GET", "/v2/nfe/R1?completa=1", {}, ""}, out).status.ok());
  std::vector<Request> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "DELETE");
  EXPECT_EQ(seen[0].body, R"({"justificativa":"x"})");
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/v2/nfe/R1?completa=1");
  EXPECT_EQ(seen[1].body, "");
}

TEST_F(HttpForwarderTest, RelaysARedirectInsteadOfFollowingIt) {
  LoopbackServer upstream([](const Request& request) {
    if (request.target == "/elsewhere") return Reply{200, {}, "followed"};
    return Reply{302, {{"Location", "/elsewhere"}}, ""};
  });
  Relayed out;
  ForwardResult result =
      Forward(upstream.Url(""), {"GET", "/v2/nfes_recebidas/K.pdf", {}, ""}, out);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(out.status, 302);
  EXPECT_EQ(out.Header("Location"), "/elsewhere");
  EXPECT_EQ(upstream.requests().size(), 1u);
}

TEST_F(HttpForwarderTest, RelaysCompressedBytesAsTheyCame) {
  // Not valid gzip: a forwarder that decoded would fail or change the bytes.
  const std::string bytes("\x1f\x8b\x08\x00not-really-gzip\x00\xff", 21);
  LoopbackServer upstream([&](const Request&) {
    return Reply{200, {{"Content-Encoding", "gzip"}}, bytes};
  });
  Relayed out;
  ForwardResult result =
      Forward(upstream.Url(""), {"GET", "/v2/nfe/R1", {{"Accept-Encoding", "gzip"}}, ""}, out);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(upstream.requests()[0].Header("accept-encoding"), "gzip");
  EXPECT_EQ(out.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(out.Body(), bytes);
}

TEST_F(HttpForwarderTest, StreamsALargeBodyInManyChunks) {
  std::string big(9u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + (i * 7) % 26);
  LoopbackServer upstream([&](const Request&) { return Reply{200, {}, big}; });
  Relayed out;
  ForwardResult result = Forward(upstream.Url(""), {"GET", "/v2/backups/x.zip", {}, ""}, out);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_GT(out.chunks.size(), 8u);
  EXPECT_EQ(result.body_bytes, big.size());
  EXPECT_TRUE(out.Body() == big);
}

TEST_F(HttpForwarderTest, AnUpstreamThatRefusesIsUnavailableNamingOnlyItsHost) {
  std::string base;
  {
    LoopbackServer gone([](const Request&) { return Reply{}; });
    base = gone.Url("");
  }
  Relayed out;
  ForwardResult result = Forward(base, {"GET", "/v2/nfe/R1?token=tok-never-shown", {}, ""}, out);
  EXPECT_FALSE(result.answered);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(result.status.message(), HasSubstr(HttpForwarder::HostOf(base)));
  EXPECT_THAT(result.status.message(), Not(HasSubstr("tok-never-shown")));
  EXPECT_EQ(out.heads, 0);
}

TEST_F(HttpForwarderTest, ASlowUpstreamTimesOut) {
  HttpForwarder::Options options;
  options.total_timeout_ms = 200;
  Make(options);
  LoopbackServer upstream([](const Request&) { return Reply{.hang = true}; });
  Relayed out;
  ForwardResult result = Forward(upstream.Url(""), {"GET", "/v2/nfe/R1", {}, ""}, out);
  EXPECT_FALSE(result.answered);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.status.code(), Status::Code::kUnavailable);
}

TEST_F(HttpForwarderTest, ACallbackErrorStopsTheExchange) {
  LoopbackServer upstream([](const Request&) { return Reply{200, {}, std::string(1 << 20, 'x')}; });
  int chunks = 0;
  ForwardResult result = forwarder_->Forward(
      upstream.Url(""), {"GET", "/v2/nfe/R1", {}, ""},
      [](int, const HeaderList&) { return Status::Ok(); },
      [&](std::string_view) {
        ++chunks;
        return Status::IoError("the client went away");
      });
  EXPECT_TRUE(result.answered);
  EXPECT_EQ(result.status.message(), "the client went away");
  EXPECT_EQ(chunks, 1);
}

TEST_F(HttpForwarderTest, VerifiesTlsAgainstTheGivenCaBundle) {
  TempDir dir;
  TestPki pki;
  std::string error;
  ASSERT_TRUE(testing::MakeTestPki(dir.path(), &pki, &error)) << error;
  TlsLoopbackServer upstream({.cert_file = pki.server_cert, .key_file = pki.server_key});

  // The system's CAs do not know the test CA: the handshake must fail.
  Relayed refused;
  ForwardResult untrusted =
      Forward(upstream.Url(""), {"POST", "/v2/nfe?ref=T1", {}, "{}"}, refused);
  EXPECT_FALSE(untrusted.answered);
  EXPECT_EQ(untrusted.status.code(), Status::Code::kUnavailable);
  EXPECT_THAT(untrusted.status.message(), HasSubstr("127.0.0.1"));

  HttpForwarder::Options options;
  options.ca_bundle = pki.ca_cert;
  Make(options);
  Relayed out;
  ForwardResult result =
      Forward(upstream.Url(""), {"POST", "/v2/nfe?ref=T1", {{"X-Erp", "1"}}, R"({"a":1})"}, out);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.Body(), "ok");
  ASSERT_EQ(upstream.requests().size(), 1u);
  EXPECT_EQ(upstream.requests()[0].method, "POST");
  EXPECT_EQ(upstream.requests()[0].target, "/v2/nfe?ref=T1");
  EXPECT_EQ(upstream.requests()[0].Header("x-erp"), "1");
  EXPECT_EQ(upstream.requests()[0].body, R"({"a":1})");
}

TEST(HttpForwarderHost, NamesHostAndPortOnly) {
  EXPECT_EQ(HttpForwarder::HostOf("https://api.focusnfe.com.br"), "api.focusnfe.com.br");
  EXPECT_EQ(HttpForwarder::HostOf("http://u:p@127.0.0.1:9/v2?token=x"), "127.0.0.1:9");
}

}  // namespace
}  // namespace gatilho
