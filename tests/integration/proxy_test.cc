// The transparent proxy, black-box: an ERP-like client sends its API calls to gatilho's proxy
// instead of the API (gatilho-sim); the answers must be the API's, unchanged, and gatilho must
// learn from them: emissions become watches, synchronous answers become events without a poll,
// and every call counts in the token's accounting. The token never shows in the daemon's log.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "integration/bridge_fixture.h"
#include "support/loopback_server.h"

namespace gatilho::testing {
namespace {

// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

const std::vector<std::string> kDeterministicApi = {"--time-scale", "20", "--reject-rate", "0",
                                                    "--deny-rate",  "0",  "--seed",        "5"};

class ProxyTest : public BridgeFixture {
 protected:
  // Starts the simulator, the receiver and the daemon with the proxy on; returns once the
  // daemon says the proxy listens. Its log (stderr) is collected.
  void StartAll(const std::vector<std::string>& api_args, const std::string& extra_global = "") {
    StartApi(api_args);
    StartReceiver();
    WriteConfig({kAcme});
    proxy_port_ = FreePort();
    dir_.WriteFile("gatilho.conf",
                   "data_dir = data\ncompanies_dir = companies\n"
                   "log_level = debug\nproxy_listen = 127.0.0.1:" +
                       std::to_string(proxy_port_) + "\nproxy_upstream = " + api_url_ + "\n" +
                       extra_global);
    proxy_url_ = "http://127.0.0.1:" + std::to_string(proxy_port_);
    daemon_ = Subprocess::Start(
        "/bin/sh",
        {"-c", std::string("exec '") + GATILHO_BIN + "' run --config '" + ConfigPath() + "' 2>&1"});
    ASSERT_NE(daemon_, nullptr);
    bool listening = false;
    while (std::optional<std::string> line = daemon_->ReadLine(10'000)) {
      log_.push_back(*line);
      if (line->find("proxy listening on") != std::string::npos) {
        listening = true;
        break;
      }
    }
    ASSERT_TRUE(listening) << "the daemon did not start its proxy";
    daemon_->Drain(Subprocess::DrainMode::kCollect);
  }

  std::vector<std::string> DaemonLog() const {
    std::vector<std::string> lines = log_;
    if (!daemon_) return lines;
    for (std::string& line : daemon_->CollectedLines())
      lines.push_back(std::move(line));
    return lines;
  }

  HttpResult ViaProxy(const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& token = kAcme.token) {
    return HttpCall(method, proxy_url_ + target, body, token);
  }

  int64_t SimGets() {
    boost::json::object stats = JsonGet(api_url_ + "/__sim/stats");
    if (!stats.contains("by_method")) return -1;
    return stats.at("by_method").at("GET").to_number<int64_t>();
  }

  // Waits until the receiver got `event` for `document` ("type/ref"); the delivery, or nullopt.
  std::optional<Delivery> WaitForDelivery(const std::string& document, const std::string& event,
                                          int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const Delivery& d : Deliveries()) {
        if (d.document == document && d.event == event) return d;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  void ExpectNoTokenInTheLog() {
    std::vector<std::string> lines = DaemonLog();
    EXPECT_FALSE(lines.empty());
    for (const std::string& line : lines) {
      EXPECT_EQ(line.find(kAcme.token), std::string::npos) << line;
      EXPECT_EQ(line.find(kStrangerToken), std::string::npos) << line;
    }
  }

  static constexpr char kStrangerToken[] = "token-stranger-5555555555";
  int proxy_port_ = 0;
  std::string proxy_url_;
  std::vector<std::string> log_;
};

TEST_F(ProxyTest, NfeEmittedThroughTheProxyIsWatchedPolledAndDelivered) {
  StartAll(kDeterministicApi);
  for (const char* ref : {"PXN1", "PXN2", "PXN3"}) {
    HttpResult answer =
        ViaProxy("POST", std::string("/v2/nfe?ref=") + ref, R"({"natureza_operacao":"Venda"})");
    ASSERT_EQ(answer.status, 202) << answer.body << answer.error;
  }
  // No `gatilho watch`: the proxy registered them.
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme});
  ASSERT_EQ(expected.size(), 3u);
  std::vector<Delivery> deliveries = WaitForEvents(expected, 60);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
  for (const Delivery& d : deliveries)
    EXPECT_EQ(d.event, "autorizado") << d.document;
  EXPECT_GT(SimGets(), 0) << "async documents are found by polling";
  EXPECT_EQ(SimStat("rate_limited"), 0);

  // The ERP's three requests show in the token's accounting once the daemon checkpoints.
  daemon_->Signal(SIGTERM);
  ASSERT_EQ(daemon_->Wait(), 0);
  log_ = DaemonLog();
  daemon_.reset();
  CliRun status = Cli({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  std::istringstream lines(status.out);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.find("  token:") != 0) continue;
    std::istringstream fields(line);
    std::vector<std::string> columns;
    for (std::string field; fields >> field;)
      columns.push_back(field);
    ASSERT_GE(columns.size(), 10u) << line;
    EXPECT_EQ(columns[9], "3") << "VIA PROXY column in: " << line;
    found = true;
  }
  EXPECT_TRUE(found) << status.out;
  EXPECT_EQ(status.out.find(kAcme.token), std::string::npos);
  ExpectNoTokenInTheLog();
}

TEST_F(ProxyTest, NfceAnsweredSynchronouslyIsDeliveredWithoutAnyPoll) {
  StartAll(kDeterministicApi);
  auto sent = std::chrono::steady_clock::now();
  HttpResult answer = ViaProxy("POST", "/v2/nfce?ref=PXC1", R"({"natureza_operacao":"Venda"})");
  ASSERT_EQ(answer.status, 201) << answer.body << answer.error;

  std::optional<Delivery> delivery = WaitForDelivery("nfce/PXC1", "autorizado", 20);
  ASSERT_TRUE(delivery.has_value()) << "the synchronous answer never became an event";
  auto latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent)
          .count();
  std::printf("[ measured ] NFC-e sync answer to delivered event: %lld ms\n",
              static_cast<long long>(latency_ms));
  EXPECT_TRUE(delivery->signature_ok);
  // The payload is the API's answer, byte for byte.
  EXPECT_EQ(delivery->body, answer.body);
  // Past the NFC-e's first poll slot (1 s): a poll would have happened by now without the proxy.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_EQ(SimGets(), 0) << "the daemon polled a document whose answer it already had";
  EXPECT_EQ(Deliveries().size(), 1u);
  ExpectNoTokenInTheLog();
}

TEST_F(ProxyTest, CancellationThroughTheProxyIsDeliveredAtOnce) {
  StartAll(kDeterministicApi);
  ASSERT_EQ(ViaProxy("POST", "/v2/nfe?ref=PXK1", R"({"natureza_operacao":"Venda"})").status, 202);
  ASSERT_TRUE(WaitForDelivery("nfe/PXK1", "autorizado", 60).has_value());
  int64_t gets_before = SimGets();

  auto sent = std::chrono::steady_clock::now();
  HttpResult cancel =
      ViaProxy("DELETE", "/v2/nfe/PXK1", R"({"justificativa":"Cancelamento pedido pelo cliente"})");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  ASSERT_NE(cancel.body.find("cancelado"), std::string::npos) << cancel.body;
  std::optional<Delivery> delivery = WaitForDelivery("nfe/PXK1", "cancelado", 10);
  ASSERT_TRUE(delivery.has_value()) << "the cancellation never became an event";
  auto latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent)
          .count();
  std::printf("[ measured ] cancellation answer to delivered event: %lld ms\n",
              static_cast<long long>(latency_ms));
  EXPECT_EQ(delivery->body, cancel.body);
  EXPECT_EQ(SimGets(), gets_before) << "the cancellation was found by a poll, not the answer";
  ExpectNoTokenInTheLog();
}

TEST_F(ProxyTest, AnswersAreRelayedUnchanged) {
  StartAll(kDeterministicApi);
  Submit(kAcme, "nfe", "PXD1");  // directly, so both paths consult the same document
  WaitForSimulatorToFinish(30);
  struct Case {
    std::string method, target, body;
  } cases[] = {
      {"GET", "/v2/nfe/PXD1", ""},
      {"GET", "/v2/nfe/PXD1?completa=1", ""},
      {"GET", "/v2/nfe/NOSUCHREF", ""},
      {"POST", "/v2/nfe?ref=PXD1", R"({"natureza_operacao":"Venda"})"},  // 422: authorized
      {"GET", "/v2/nada", ""},
  };
  for (const Case& c : cases) {
    HttpResult direct = HttpCall(c.method, api_url_ + c.target, c.body, kAcme.token);
    HttpResult proxied = ViaProxy(c.method, c.target, c.body);
    EXPECT_EQ(proxied.status, direct.status) << c.method << " " << c.target;
    EXPECT_EQ(proxied.body, direct.body) << c.method << " " << c.target;
    for (const auto& [name, value] : direct.headers) {
      // These change from one request to the next.
      if (name == "date" || name == "rate-limit-remaining" || name == "rate-limit-reset") continue;
      if (name == "connection" || name == "keep-alive") continue;  // hop-by-hop
      EXPECT_EQ(proxied.Header(name), value) << name << " of " << c.method << " " << c.target;
    }
  }
  // A token of no company is relayed to proxy_upstream and answered by the API as it sees fit.
  HttpResult stranger = ViaProxy("GET", "/v2/nfe/PXD1", "", kStrangerToken);
  HttpResult stranger_direct = HttpCall("GET", api_url_ + "/v2/nfe/PXD1", "", kStrangerToken);
  EXPECT_EQ(stranger.status, stranger_direct.status);
  EXPECT_EQ(stranger.body, stranger_direct.body);
  ExpectNoTokenInTheLog();
}

TEST_F(ProxyTest, AProxyPortInUseIsAClearErrorAndANonZeroExit) {
  LoopbackServer taken([](const LoopbackServer::Request&) { return LoopbackServer::Reply{}; });
  StartApi(kDeterministicApi);
  StartReceiver();
  WriteConfig({kAcme}, "proxy_listen = 127.0.0.1:" + std::to_string(taken.port()) + "\n");
  std::unique_ptr<Subprocess> run = Subprocess::Start(
      "/bin/sh",
      {"-c", std::string("exec '") + GATILHO_BIN + "' run --config '" + ConfigPath() + "' 2>&1"});
  ASSERT_NE(run, nullptr);
  std::string out;
  while (std::optional<std::string> line = run->ReadLine(10'000))
    out += *line + "\n";
  EXPECT_NE(run->Wait(), 0);
  EXPECT_NE(out.find("proxy cannot listen on 127.0.0.1:" + std::to_string(taken.port())),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace gatilho::testing
