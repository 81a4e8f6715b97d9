#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_call.h"

namespace gatilho {
namespace {

using testing::HttpCall;
using testing::HttpResult;

std::unique_ptr<HttpServer> StartOrDie(ServerHandler handler, HttpServer::Options options = {}) {
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

std::string UrlOf(const HttpServer& server, const std::string& target) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + target;
}

// A raw client: sends `bytes` on one connection and reads until the server closes it or
// `timeout_ms` passes.
std::string RawExchange(int port, const std::string& bytes, int timeout_ms = 3000) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "";
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buffer[4096];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

TEST(HttpServer, KnowsTheHopByHopHeaders) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Authorization", "proxy-connection",
                           "TE", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    EXPECT_TRUE(IsHopByHopHeader(name)) << name;
  }
  for (const char* name : {"Authorization", "Content-Type", "Rate-Limit-Remaining", "Host"}) {
    EXPECT_FALSE(IsHopByHopHeader(name)) << name;
  }
}

TEST(HttpServer, HandlerSeesMethodTargetHeadersAndBody) {
  std::mutex mu;
  ServerRequest seen;
  auto server = StartOrDie([&](const ServerRequest& request, ResponseWriter& writer) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = request;
    }
    (void)writer.Send(201, {{"Content-Type", "application/json"}, {"X-Echo", "yes"}},
                      "{\"ok\":true}");
  });
  ASSERT_NE(server, nullptr);
  HttpResult result = HttpCall("POST", UrlOf(*server, "/v1/watches?x=1&y=2"), "{\"a\":1}", {},
                               {{"X-Custom", "Value"}});
  EXPECT_EQ(result.status, 201);
  EXPECT_EQ(result.body, "{\"ok\":true}");
  EXPECT_EQ(result.Header("x-echo"), "yes");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/watches?x=1&y=2");
  EXPECT_EQ(seen.Path(), "/v1/watches");
  EXPECT_EQ(seen.Query(), "x=1&y=2");
  EXPECT_EQ(seen.body, "{\"a\":1}");
  EXPECT_EQ(seen.Header("x-custom"), "Value");
  EXPECT_EQ(seen.Header("X-CUSTOM"), "Value");
  EXPECT_EQ(seen.Header("absent"), "");
  EXPECT_NE(seen.peer.find("127.0.0.1:"), std::string::npos);
}

TEST(HttpServer, StreamedAnswerArrivesWholeInOrder) {
  std::string expected;
  for (int i = 0; i < 2000; ++i)
    expected += "chunk " + std::to_string(i) + "\n";
  auto server = StartOrDie([&](const ServerRequest&, ResponseWriter& writer) {
    ASSERT_TRUE(writer.Begin(200, {{"Content-Type", "text/plain"}}).ok());
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(writer.Write("chunk " + std::to_string(i) + "\n").ok());
    }
    ASSERT_TRUE(writer.End().ok());
  });
  ASSERT_NE(server, nullptr);
  HttpResult result = HttpCall("GET", UrlOf(*server, "/big"));
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(result.body, expected);
}

TEST(HttpServer, StreamedAnswerWithContentLengthIsNotChunked) {
  auto server = StartOrDie([&](const ServerRequest&, ResponseWriter& writer) {
    (void)writer.Begin(200, {{"Content-Length", "10"}, {"Transfer-Encoding", "chunked"}});
    (void)writer.Write("01234");
    (void)writer.Write("56789");
    (void)writer.End();
  });
  ASSERT_NE(server, nullptr);
  HttpResult result = HttpCall("GET", UrlOf(*server, "/"));
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("content-length"), "10");
  EXPECT_EQ(result.Header("transfer-encoding"), "");
  EXPECT_EQ(result.body, "0123456789");
}

TEST(HttpServer, OversizedBodyIsRefusedWith413BeforeTheHandler) {
  std::atomic<int> calls{0};
  HttpServer::Options options;
  options.max_body_bytes = 1000;
  auto server = StartOrDie(
      [&](const ServerRequest&, ResponseWriter& writer) {
        ++calls;
        (void)writer.Send(200, {}, "");
      },
      options);
  ASSERT_NE(server, nullptr);
  HttpResult result = HttpCall("POST", UrlOf(*server, "/"), std::string(5000, 'x'));
  EXPECT_EQ(result.status, 413) << result.error;
  EXPECT_NE(result.body.find("\"error\":\"body_too_large\""), std::string::npos) << result.body;
  EXPECT_NE(result.body.find("1000-byte limit"), std::string::npos) << result.body;
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(HttpCall("POST", UrlOf(*server, "/"), std::string(1000, 'x')).status, 200);
}

TEST(HttpServer, LargeBodySentAfter100ContinueReachesTheHandler) {
  HttpServer::Options options;
  options.max_body_bytes = 8 << 20;
  std::atomic<size_t> seen{0};
  auto server = StartOrDie(
      [&](const ServerRequest& request, ResponseWriter& writer) {
        seen = request.body.size();
        (void)writer.Send(200, {}, "");
      },
      options);
  ASSERT_NE(server, nullptr);
  // libcurl asks for "100 Continue" before sending a body this large.
  HttpResult result = HttpCall("POST", UrlOf(*server, "/"), std::string(3 << 20, 'x'));
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_EQ(seen.load(), size_t{3} << 20);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  auto server = StartOrDie([&](const ServerRequest& request, ResponseWriter& writer) {
    ++calls;
    (void)writer.Send(200, {}, request.target);
  });
  ASSERT_NE(server, nullptr);
  std::string reply = RawExchange(server->port(),
                                  "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_NE(reply.find("/one"), std::string::npos) << reply;
  EXPECT_NE(reply.find("/two"), std::string::npos) << reply;
}

TEST(HttpServer, HandlerThatDoesNotAnswerYieldsA500) {
  auto server = StartOrDie([](const ServerRequest&, ResponseWriter&) {});
  ASSERT_NE(server, nullptr);
  HttpResult result = HttpCall("GET", UrlOf(*server, "/"));
  EXPECT_EQ(result.status, 500);
  EXPECT_NE(result.body.find("\"error\":\"internal\""), std::string::npos);
}

TEST(HttpServer, ConnectionsPastTheLimitGetA503) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> inside{0};
  HttpServer::Options options;
  options.max_connections = 1;
  auto server = StartOrDie(
      [&](const ServerRequest&, ResponseWriter& writer) {
        ++inside;
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return release; });
        (void)writer.Send(200, {}, "late");
      },
      options);
  ASSERT_NE(server, nullptr);
  std::thread first([&] { EXPECT_EQ(HttpCall("GET", UrlOf(*server, "/")).status, 200); });
  while (inside.load() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  HttpResult second = HttpCall("GET", UrlOf(*server, "/"));
  EXPECT_EQ(second.status, 503);
  EXPECT_NE(second.body.find("too_many_connections"), std::string::npos);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
}

TEST(HttpServer, StopClosesIdleConnectionsWithoutWaitingForTheirTimeout) {
  HttpServer::Options options;
  options.idle_timeout_ms = 60'000;
  auto server = StartOrDie(
      [](const ServerRequest&, ResponseWriter& writer) { (void)writer.Send(200, {}, "ok"); },
      options);
  ASSERT_NE(server, nullptr);
  // A client that connects and says nothing holds a connection thread in its read.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server->port()));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(HttpCall("GET", UrlOf(*server, "/")).status, 200);
  auto start = std::chrono::steady_clock::now();
  server->Stop();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5));
  close(fd);
}

TEST(HttpServer, StopWaitsForAHandlerInFlight) {
  std::atomic<bool> finished{false};
  std::atomic<bool> entered{false};
  auto server = StartOrDie([&](const ServerRequest&, ResponseWriter& writer) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)writer.Send(200, {}, "done");
    finished = true;
  });
  ASSERT_NE(server, nullptr);
  std::thread client([&] { EXPECT_EQ(HttpCall("GET", UrlOf(*server, "/")).body, "done"); });
  while (!entered.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->Stop();
  EXPECT_TRUE(finished.load());
  client.join();
}

TEST(HttpServer, SilentClientIsCutAfterTheIdleTimeout) {
  HttpServer::Options options;
  options.idle_timeout_ms = 200;
  auto server = StartOrDie(
      [](const ServerRequest&, ResponseWriter& writer) { (void)writer.Send(200, {}, "ok"); },
      options);
  ASSERT_NE(server, nullptr);
  auto start = std::chrono::steady_clock::now();
  // Half a request and then silence: the server gives up on it.
  std::string reply = RawExchange(server->port(), "GET / HTTP/1.1\r\nHost:", 5000);
  EXPECT_EQ(reply, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpServer, AddressThatIsNotNumericIsRefusedClearly) {
  HttpServer::Options options;
  options.address = "localhost";
  options.name = "local API";
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, [](const ServerRequest&, ResponseWriter&) {});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().ToString().find("local API"), std::string::npos);
  EXPECT_NE(server.status().ToString().find("127.0.0.1"), std::string::npos);
}

TEST(HttpServer, PortInUseIsAnErrorNamingTheAddress) {
  auto first = StartOrDie([](const ServerRequest&, ResponseWriter&) {});
  ASSERT_NE(first, nullptr);
  HttpServer::Options options;
  options.port = first->port();
  Result<std::unique_ptr<HttpServer>> second =
      HttpServer::Start(options, [](const ServerRequest&, ResponseWriter&) {});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().ToString().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos)
      << second.status().ToString();
}

// CPU seconds this process has used, all threads together.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(HttpServer, OutOfDescriptorsPausesAcceptingSaysSoOnceAndServesAgainAfter) {
  std::mutex mu;
  std::vector<std::pair<bool, std::string>> reports;
  HttpServer::Options options;
  options.name = "test server";
  options.on_trouble = [&](bool trouble, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu);
    reports.emplace_back(trouble, message);
  };
  auto server = StartOrDie(
      [](const ServerRequest&, ResponseWriter& writer) {
        (void)writer.Send(200, {{"Content-Type", "text/plain"}}, "ok");
      },
      options);
  ASSERT_NE(server, nullptr);
  // The client's socket exists before the descriptors run out; only accept() needs a new one.
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit low = original;
  low.rlim_cur = static_cast<rlim_t>(client + 1);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;  // the free numbers below the limit, taken
  for (int fd = dup(0); fd >= 0; fd = dup(0))
    fillers.push_back(fd);

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server->port()));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  const int connected = connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  const double cpu_before = ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const double cpu_used = ProcessCpuSeconds() - cpu_before;

  for (int fd : fillers)
    close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_EQ(connected, 0) << std::strerror(errno);
  // A spinning accept loop burns the whole interval; a paused one almost nothing.
  EXPECT_LT(cpu_used, 0.2);

  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(client, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  timeval tv{5, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string answer;
  char buffer[1024];
  for (ssize_t n; (n = recv(client, buffer, sizeof(buffer), 0)) > 0;)
    answer.append(buffer, static_cast<size_t>(n));
  close(client);
  EXPECT_NE(answer.find("200"), std::string::npos) << answer;

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_TRUE(reports[0].first);
  EXPECT_NE(reports[0].second.find("test server: cannot accept connections"), std::string::npos)
      << reports[0].second;
  EXPECT_NE(reports[0].second.find("LimitNOFILE"), std::string::npos);
  EXPECT_FALSE(reports[1].first);
  EXPECT_EQ(reports[1].second, "test server: accepting connections again");
}

}  // namespace
}  // namespace gatilho
