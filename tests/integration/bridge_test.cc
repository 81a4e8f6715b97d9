// The whole bridge, black-box: documents submitted to gatilho-sim, watched with `gatilho watch`,
// polled by `gatilho run`, delivered to the receiver. Each test checks what an ERP would see.
#include <signal.h>

#include <sstream>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

const std::vector<std::string> kTypes = {"nfe", "nfce", "nfse", "nfsen", "cte", "mdfe", "nfcom"};

// Submits `count` documents of mixed types, alternating companies, and watches them in batches
// (one `gatilho watch` per company and type), as an ERP's integration would.
void SubmitAndWatch(
    BridgeFixture& f, int count, const std::string& prefix,
    const std::function<void(const Company&, const std::string&, const std::string&)>& submit,
    const std::function<void(const Company&, const std::string&, const std::vector<std::string>&)>&
        watch) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> batches;
  for (int i = 0; i < count; ++i) {
    const Company& company = i % 2 == 0 ? kAcme : kBeta;
    const std::string& type = kTypes[i % kTypes.size()];
    std::string ref = prefix + std::to_string(i);
    submit(company, type, ref);
    batches[{company.id, type}].push_back(ref);
  }
  for (const auto& [company_type, refs] : batches) {
    watch(company_type.first == kAcme.id ? kAcme : kBeta, company_type.second, refs);
  }
  (void)f;
}

class BridgeTest : public BridgeFixture {
 protected:
  void SubmitAndWatch(int count, const std::string& prefix) {
    testing::SubmitAndWatch(
        *this, count, prefix,
        [this](const Company& c, const std::string& t, const std::string& r) { Submit(c, t, r); },
        [this](const Company& c, const std::string& t, const std::vector<std::string>& refs) {
          Watch(c, t, refs);
        });
  }
};

// Fast processing for tests: NF-e in a fraction of a second, NFS-e in about a second.
const std::vector<std::string> kFastApi = {
    "--time-scale",  "20",   "--median-ms", "nfse=20000", "--median-ms", "nfsen=10000",
    "--reject-rate", "0.15", "--deny-rate", "0.05",       "--seed",      "11"};

TEST_F(BridgeTest, MixedDocumentsOfTwoCompaniesAllReachTheErpSignedAndUnchanged) {
  std::vector<std::string> api = kFastApi;
  // A higher limit than the real API's keeps the test short; the daemon reads it from the
  // Rate-Limit-Limit header like any other.
  api.insert(api.end(), {"--rate-limit", "600"});
  StartApi(api);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  StartDaemon();
  SubmitAndWatch(200, "MIX");

  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});
  ASSERT_EQ(expected.size(), 200u);
  std::vector<Delivery> deliveries = WaitForEvents(expected, 120);

  ExpectEveryEventOnceWithStableIds(expected, deliveries);
  std::set<std::string> outcomes;
  for (const EventKey& key : expected)
    outcomes.insert(std::get<2>(key));
  EXPECT_GE(outcomes.size(), 3u) << "the workload should mix autorizado, erro and denegado";
  for (const Delivery& d : deliveries) {
    EXPECT_TRUE(d.signature_ok) << d.webhook_id;
    // The body is the API's consult JSON byte for byte: the ERP sees what a poll would show.
    std::string token = d.company == kAcme.id ? kAcme.token : kBeta.token;
    HttpResult consult = HttpCall("GET", api_url_ + "/v2/" + d.document, "", token);
    EXPECT_EQ(d.body, consult.body) << d.document;
  }
  EXPECT_EQ(SimStat("rate_limited"), 0) << "gatilho caused a 429";

  // What an operator reads afterwards: per token the limit, the share and what polling spent,
  // and per company and type how long documents took; never a token.
  ASSERT_EQ(StopDaemon(), 0);
  CliRun status = Cli({"status"});
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("tokens (rate limit per minute"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("acme"), std::string::npos);
  bool token_line = false;
  std::istringstream lines(status.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("token:") == std::string::npos || line.find("acme") == std::string::npos) {
      continue;
    }
    token_line = true;
    EXPECT_NE(line.find(" 600 "), std::string::npos) << "the limit the API announced: " << line;
    EXPECT_NE(line.find(" 480 "), std::string::npos) << "gatilho's share of it: " << line;
    EXPECT_NE(line.find(" 120 "), std::string::npos) << "the ERP's share: " << line;
  }
  EXPECT_TRUE(token_line) << status.out;
  EXPECT_NE(status.out.find("learned time to finish"), std::string::npos) << status.out;
  // The row of beta's NF-S-e timings, whatever width the table's columns have.
  bool beta_nfse = false;
  std::istringstream rows(status.out);
  for (std::string row; std::getline(rows, row);) {
    std::istringstream words(row);
    std::string company, type;
    words >> company >> type;
    beta_nfse = beta_nfse || (company == "beta" && type == "nfse");
  }
  EXPECT_TRUE(beta_nfse) << status.out;
  EXPECT_EQ(status.out.find(kAcme.token), std::string::npos);
  EXPECT_EQ(status.out.find(kBeta.token), std::string::npos);
}

TEST_F(BridgeTest, NothingIsLostWhenTheDaemonIsKilledMidRun) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  StartDaemon();
  SubmitAndWatch(60, "KILL");
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});

  // Kill it hard while it is busy, twice, restarting each time.
  for (size_t received_before_kill : {size_t{10}, size_t{30}}) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Deliveries().size() < received_before_kill &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    KillDaemon();
    StartDaemon();
  }
  std::vector<Delivery> deliveries = WaitForEvents(expected, 120);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
  CliRun status = Cli({"status"});
  EXPECT_EQ(status.exit_code, 0) << "the store did not open cleanly after the kills";
}

TEST_F(BridgeTest, ReceiverThatFailsForAWhileGetsEverythingAfterItRecovers) {
  StartApi(kFastApi);
  StartReceiver({"--status", "503"});
  WriteConfig({kAcme, kBeta});
  StartDaemon();
  SubmitAndWatch(30, "DOWN");
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});

  // Let several attempts fail, then bring the ERP back.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (JsonGet(receiver_url_ + "/__receiver/stats")["received"].to_number<int64_t>() < 40 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(Deliveries().empty()) << "a 503 answer must not count as delivered";
  HttpResult mode = HttpCall("POST", receiver_url_ + "/__receiver/mode", R"({"status":204})");
  ASSERT_EQ(mode.status, 200) << mode.body;

  std::vector<Delivery> deliveries = WaitForEvents(expected, 90);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
}

TEST_F(BridgeTest, MisbehavingApiNeverProducesAWrongOrLostEvent) {
  std::vector<std::string> api = kFastApi;
  api.insert(api.end(), {"--rate-limit", "600"});
  StartApi(api);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  // The ERP's own submissions go through before the API starts misbehaving: this test is about
  // gatilho's polls meeting 5xx, garbage, HTML pages and dropped connections.
  testing::SubmitAndWatch(
      *this, 40, "FAULT",
      [this](const Company& c, const std::string& t, const std::string& r) { Submit(c, t, r); },
      [](const Company&, const std::string&, const std::vector<std::string>&) {});
  HttpResult faults =
      HttpCall("POST", api_url_ + "/__sim/faults",
               R"({"fault_5xx":0.1,"fault_malformed":0.05,"fault_html":0.05,"fault_drop":0.05})");
  ASSERT_EQ(faults.status, 200) << faults.body;
  StartDaemon();
  testing::SubmitAndWatch(
      *this, 40, "FAULT", [](const Company&, const std::string&, const std::string&) {},
      [this](const Company& c, const std::string& t, const std::vector<std::string>& refs) {
        Watch(c, t, refs);
      });
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});

  // A document's failed polls back off exponentially (5 s, 10 s, 20 s...), so with a quarter
  // of all answers broken the unluckiest document may need a couple of minutes.
  std::vector<Delivery> deliveries = WaitForEvents(expected, 240);
  // ExpectEveryEventOnceWithStableIds also fails on any event the API's state does not justify.
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
  EXPECT_GT(SimStat("faults_injected"), 0);
}

TEST_F(BridgeTest, CancellationAfterAuthorisationIsAnEventToo) {
  StartApi({"--reject-rate", "0", "--deny-rate", "0", "--time-scale", "20"});
  StartReceiver();
  WriteConfig({kAcme});
  StartDaemon();
  Submit(kAcme, "nfce", "CANCEL1");  // synchronous: authorised at once
  Watch(kAcme, "nfce", {"CANCEL1"});
  std::vector<Delivery> deliveries = WaitForEvents({{"acme", "nfce/CANCEL1", "autorizado"}}, 30);
  ASSERT_EQ(deliveries.size(), 1u);

  HttpResult cancel =
      HttpCall("DELETE", api_url_ + "/v2/nfce/CANCEL1",
               R"({"justificativa":"Cancelamento solicitado pelo cliente"})", kAcme.token);
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  // The followed document's next scheduled poll is half an hour away; watching it again is how
  // the ERP says "look now" after its own cancellation.
  Watch(kAcme, "nfce", {"CANCEL1"});
  deliveries = WaitForEvents(
      {{"acme", "nfce/CANCEL1", "autorizado"}, {"acme", "nfce/CANCEL1", "cancelado"}}, 30);
  ExpectEveryEventOnceWithStableIds(
      {{"acme", "nfce/CANCEL1", "autorizado"}, {"acme", "nfce/CANCEL1", "cancelado"}}, deliveries);
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].event, "autorizado") << "events of a document arrive in order";
  EXPECT_NE(deliveries[1].body.find("\"cancelado\""), std::string::npos);
}

}  // namespace
}  // namespace gatilho::testing
