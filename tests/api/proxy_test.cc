#include "api/proxy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/loopback_server.h"
#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using testing::LoopbackServer;
using ::testing::Not;
using testing::TempDir;
using Reply = LoopbackServer::Reply;
using Request = LoopbackServer::Request;

constexpr char kToken[] = "tok-acme-very-secret-4d3c2b";
constexpr char kOtherToken[] = "tok-stranger-secret-9a8b7c";
// base64("tok-acme-very-secret-4d3c2b:")
constexpr char kBasicAcme[] = "Basic dG9rLWFjbWUtdmVyeS1zZWNyZXQtNGQzYzJiOg==";
// base64("tok-stranger-secret-9a8b7c:")
constexpr char kBasicStranger[] = "Basic dG9rLXN0cmFuZ2VyLXNlY3JldC05YThiN2M6";

// The ResponseWriter side of a connection, recorded.
class RecordingWriter : public ResponseWriter {
 public:
  Status Send(int code, const HeaderList& answer_headers, std::string_view answer) override {
    sent = true;
    status = code;
    headers = answer_headers;
    body = std::string(answer);
    return Status::Ok();
  }
  Status Begin(int code, const HeaderList& answer_headers) override {
    begun = true;
    status = code;
    headers = answer_headers;
    return Status::Ok();
  }
  Status Write(std::string_view chunk) override {
    ++writes;
    body.append(chunk);
    return Status::Ok();
  }
  Status End() override {
    ended = true;
    return Status::Ok();
  }

  bool sent = false, begun = false, ended = false;
  int status = 0;
  int writes = 0;
  HeaderList headers;
  std::string body;
};

// The loop's side of IntakeLink, recorded.
class RecordingLink : public IntakeLink {
 public:
  void StoreChanged() override {
    std::lock_guard<std::mutex> lock(mu);
    ++store_changed;
  }
  void ErpRequest(ErpRequestSeen seen) override {
    std::lock_guard<std::mutex> lock(mu);
    erp_requests.push_back(std::move(seen));
  }
  void SyncAnswerSeen(SyncAnswer answer) override {
    std::lock_guard<std::mutex> lock(mu);
    sync_answers.push_back(std::move(answer));
  }
  RuntimeFigures Figures() const override { return {}; }

  std::mutex mu;
  int store_changed = 0;
  std::vector<ErpRequestSeen> erp_requests;
  std::vector<SyncAnswer> sync_answers;
};

// What the fake API answers, by method and path.
Reply ApiAnswer(const Request& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  HeaderList rate = {{"Rate-Limit-Limit", "100"},
                     {"Rate-Limit-Remaining", "57"},
                     {"Rate-Limit-Reset", "31"},
                     {"Content-Type", "application/json"}};
  if (request.method == "POST" && path == "/v2/nfe") {
    return Reply{202, rate, R"({"ref":"N1","status":"processando_autorizacao"})"};
  }
  if (request.method == "POST" && path == "/v2/nfce") {
    return Reply{201, rate, R"({"ref":"C1","status":"autorizado","numero":"7"})"};
  }
  if (request.method == "POST" && path == "/v2/mdfe") {
    return Reply{422, rate, R"({"codigo":"erro_validacao_schema","mensagem":"x"})"};
  }
  if (request.method == "DELETE" && path == "/v2/nfe/N1") {
    return Reply{200, rate, R"({"status":"cancelado","status_sefaz":"135"})"};
  }
  if (request.method == "DELETE" && path == "/v2/nfe/N2") {
    return Reply{200, rate, R"({"status":"erro_cancelamento","status_sefaz":"501"})"};
  }
  if (request.method == "POST" && path == "/v2/nfe/N1/carta_correcao") {
    return Reply{200, rate, R"({"status":"autorizado","numero_carta_correcao":2})"};
  }
  if (path == "/v2/big") return Reply{200, rate, std::string(8u << 20, 'z')};
  return Reply{404, rate, R"({"codigo":"nao_encontrado"})"};
}

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options store_options;
    store_options.dir = dir_.Sub("data");
    Result<std::unique_ptr<Store>> store = Store::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Result<std::unique_ptr<HttpForwarder>> forwarder = HttpForwarder::Create({});
    ASSERT_TRUE(forwarder.ok()) << forwarder.status().ToString();
    forwarder_ = std::move(forwarder).value();

    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10'000);
    auto logger = std::make_shared<spdlog::logger>("proxy-test", sink_);
    logger->set_level(spdlog::level::trace);
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(logger);

    Proxy::Options options;
    options.upstream = stranger_api_.Url("");
    proxy_ = std::make_unique<Proxy>(*store_, link_, *forwarder_, clock_, options);
    SetBaseUrl(api_.Url(""));
  }

  void TearDown() override { spdlog::set_default_logger(previous_logger_); }

  void SetBaseUrl(const std::string& base_url) {
    CompanyConfig acme;
    acme.id = "acme";
    acme.cnpj = "11222333000181";
    acme.token = kToken;
    acme.base_url = base_url;
    proxy_->SetCompanies({{"acme", acme}});
  }

  RecordingWriter Send(const std::string& method, const std::string& target,
                       const std::string& authorization = kBasicAcme,
                       const std::string& body = "{}") {
    ServerRequest request;
    request.method = method;
    request.target = target;
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body;
    request.peer = "127.0.0.1:50000";
    RecordingWriter writer;
    proxy_->Handle(request, writer);
    return writer;
  }

  std::vector<std::string> LogLines() { return sink_->last_formatted(); }

  TempDir dir_;
  VirtualClock clock_;
  LoopbackServer api_{ApiAnswer};
  LoopbackServer stranger_api_{ApiAnswer};
  std::unique_ptr<Store> store_;
  std::unique_ptr<HttpForwarder> forwarder_;
  RecordingLink link_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  std::unique_ptr<Proxy> proxy_;
};

TEST_F(ProxyTest, AnEmissionIsRelayedAndRegistersTheWatch) {
  RecordingWriter writer = Send("POST", "/v2/nfe?ref=N1", kBasicAcme, R"({"cnpj_emitente":"1"})");

  // A small answer goes out whole.
  ASSERT_TRUE(writer.sent);
  EXPECT_FALSE(writer.begun);
  EXPECT_EQ(writer.status, 202);
  EXPECT_EQ(writer.body, R"({"ref":"N1","status":"processando_autorizacao"})");
  auto header = [&](std::string_view name) {
    for (const auto& [key, value] : writer.headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  EXPECT_EQ(header("Rate-Limit-Remaining"), "57");
  EXPECT_EQ(header("Content-Type"), "application/json");
  ASSERT_EQ(api_.requests().size(), 1u);
  EXPECT_EQ(api_.requests()[0].Header("authorization"), kBasicAcme);
  EXPECT_EQ(api_.requests()[0].body, R"({"cnpj_emitente":"1"})");

  Result<WatchRecord> watch = store_->GetWatch(WatchKey{"acme", DocType::kNfe, "N1"});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  EXPECT_EQ(watch->state, WatchState::kPending);
  EXPECT_GT(watch->next_poll_ms, clock_.WallMs());
  EXPECT_EQ(link_.store_changed, 1);
  // Queued for the polls: nothing synchronous to tell.
  EXPECT_TRUE(link_.sync_answers.empty());
  ASSERT_EQ(link_.erp_requests.size(), 1u);
  EXPECT_EQ(link_.erp_requests[0].company, "acme");
  EXPECT_EQ(link_.erp_requests[0].http_status, 202);
  EXPECT_EQ(link_.erp_requests[0].limit, 100);
  EXPECT_EQ(link_.erp_requests[0].remaining, 57);
  EXPECT_EQ(link_.erp_requests[0].reset_seconds, 31);
}

TEST_F(ProxyTest, AnNfceAnsweredSynchronouslyIsHandedToTheLoop) {
  RecordingWriter writer = Send("POST", "/v2/nfce?ref=C1&completa=0");

  EXPECT_EQ(writer.status, 201);
  EXPECT_TRUE(store_->GetWatch(WatchKey{"acme", DocType::kNfce, "C1"}).ok());
  ASSERT_EQ(link_.sync_answers.size(), 1u);
  const SyncAnswer& answer = link_.sync_answers[0];
  EXPECT_EQ(answer.company, "acme");
  EXPECT_EQ(answer.type, DocType::kNfce);
  EXPECT_EQ(answer.ref, "C1");
  EXPECT_EQ(answer.kind, SyncAnswerKind::kEmission);
  EXPECT_EQ(answer.http_status, 201);
  EXPECT_EQ(answer.body, R"({"ref":"C1","status":"autorizado","numero":"7"})");
}

TEST_F(ProxyTest, CancellationAndCorrectionAnswersAreSynchronous) {
  Send("DELETE", "/v2/nfe/N1", kBasicAcme, R"({"justificativa":"cancelando a nota por erro"})");
  Send("POST", "/v2/nfe/N1/carta_correcao", kBasicAcme, R"({"correcao":"texto corrigido"})");
  // A failed cancellation changes nothing about the document.
  Send("DELETE", "/v2/nfe/N2");

  ASSERT_EQ(link_.sync_answers.size(), 2u);
  EXPECT_EQ(link_.sync_answers[0].kind, SyncAnswerKind::kCancellation);
  EXPECT_EQ(link_.sync_answers[0].ref, "N1");
  EXPECT_EQ(link_.sync_answers[1].kind, SyncAnswerKind::kCorrection);
  EXPECT_EQ(link_.erp_requests.size(), 3u);
  // Only emissions register watches; the loop registers one for a synchronous answer.
  EXPECT_FALSE(store_->GetWatch(WatchKey{"acme", DocType::kNfe, "N1"}).ok());
}

TEST_F(ProxyTest, ARefusedEmissionRegistersNothing) {
  RecordingWriter writer = Send("POST", "/v2/mdfe?ref=M1");
  EXPECT_EQ(writer.status, 422);
  EXPECT_FALSE(store_->GetWatch(WatchKey{"acme", DocType::kMdfe, "M1"}).ok());
  EXPECT_TRUE(link_.sync_answers.empty());
  EXPECT_EQ(link_.erp_requests.size(), 1u);  // it still spent a credit
}

TEST_F(ProxyTest, TheTokenQueryParameterFindsTheCompanyToo) {
  RecordingWriter writer =
      Send("POST", std::string("/v2/nfe?ref=N1&token=") + kToken, /*authorization=*/"");
  EXPECT_EQ(writer.status, 202);
  EXPECT_EQ(api_.requests().size(), 1u);
  EXPECT_TRUE(store_->GetWatch(WatchKey{"acme", DocType::kNfe, "N1"}).ok());
}

TEST_F(ProxyTest, AnUnknownTokenGoesToTheUpstreamAndTeachesNothing) {
  Send("POST", "/v2/nfe?ref=S1", kBasicStranger);
  Send("POST", "/v2/nfce?ref=S2", kBasicStranger);

  EXPECT_EQ(api_.requests().size(), 0u);
  ASSERT_EQ(stranger_api_.requests().size(), 2u);
  EXPECT_EQ(stranger_api_.requests()[0].Header("authorization"), kBasicStranger);
  EXPECT_TRUE(link_.erp_requests.empty());
  EXPECT_TRUE(link_.sync_answers.empty());
  EXPECT_EQ(link_.store_changed, 0);
  Result<std::vector<DueWatch>> watches = store_->DueWatches(INT64_MAX, 10);
  ASSERT_TRUE(watches.ok());
  EXPECT_TRUE(watches->empty());
  int warnings = 0;
  for (const std::string& line : LogLines()) {
    if (line.find("matches no company") != std::string::npos) ++warnings;
  }
  EXPECT_EQ(warnings, 1);  // once per token
}

TEST_F(ProxyTest, AnUnreachableApiIsA502WithAJsonBodyNamingTheHost) {
  std::string base;
  {
    LoopbackServer gone([](const Request&) { return Reply{}; });
    base = gone.Url("");
  }
  SetBaseUrl(base);
  RecordingWriter writer = Send("POST", std::string("/v2/nfe?ref=N1&token=") + kToken, "");

  ASSERT_TRUE(writer.sent);
  EXPECT_EQ(writer.status, 502);
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(writer.body, ec);
  ASSERT_FALSE(ec) << writer.body;
  std::string message(json.at("mensagem").as_string());
  EXPECT_THAT(message, HasSubstr(base.substr(std::string("http://").size())));
  EXPECT_THAT(writer.body, Not(HasSubstr(kToken)));
  // The API never saw it: no credit spent, no watch.
  EXPECT_TRUE(link_.erp_requests.empty());
  EXPECT_FALSE(store_->GetWatch(WatchKey{"acme", DocType::kNfe, "N1"}).ok());
}

TEST_F(ProxyTest, ALargeAnswerStreamsThroughInChunks) {
  RecordingWriter writer = Send("GET", "/v2/big");
  EXPECT_FALSE(writer.sent);
  EXPECT_TRUE(writer.begun);
  EXPECT_TRUE(writer.ended);
  EXPECT_EQ(writer.body.size(), 8u << 20);
  EXPECT_GT(writer.writes, 8);
}

TEST_F(ProxyTest, TheTokenNeverReachesTheLogsNorTheStore) {
  Send("POST", "/v2/nfe?ref=N1");
  Send("POST", "/v2/nfce?ref=C1");
  Send("DELETE", "/v2/nfe/N1");
  Send("POST", std::string("/v2/nfe?ref=N3&token=") + kToken, "");
  Send("GET", std::string("/v2/nfe/N3?token=") + kOtherToken, "");
  Send("POST", "/v2/nfe?ref=S1", kBasicStranger);
  SetBaseUrl("http://127.0.0.1:1");
  Send("GET", std::string("/v2/nfe/N1?token=") + kToken, "");

  std::vector<std::string> lines = LogLines();
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr(kToken)));
    EXPECT_THAT(line, Not(HasSubstr(kOtherToken)));
    EXPECT_THAT(line, Not(HasSubstr("dG9rLW")));  // nor its base64
  }
  store_.reset();  // everything on disk
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.Sub("data"))) {
    if (!entry.is_regular_file()) continue;
    std::string bytes = testing::ReadFile(entry.path().string());
    EXPECT_EQ(bytes.find(kToken), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find(kOtherToken), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace gatilho
