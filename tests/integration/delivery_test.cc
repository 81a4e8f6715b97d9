// Delivery as an operator meets it, black-box: the file sink, `gatilho events`, `gatilho
// redeliver` and `gatilho endpoint`, with the real daemon, simulator and receiver.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

// Fast processing, and every document authorised, so each one gives exactly one event.
const std::vector<std::string> kFastApi = {"--time-scale",  "20", "--median-ms", "nfse=20000",
                                           "--reject-rate", "0",  "--deny-rate", "0",
                                           "--seed",        "5"};

class DeliveryTest : public BridgeFixture {
 protected:
  // Every regular file under `dir`, by path relative to it.
  static std::map<std::string, std::string> FilesUnder(const std::string& dir) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::ifstream in(it->path(), std::ios::binary);
      files[std::filesystem::relative(it->path(), dir, ec).string()] =
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return files;
  }

  // Polls `done` every 100 ms for up to timeout_s; returns its last answer.
  static bool WaitUntil(const std::function<bool()>& done, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }
};

TEST_F(DeliveryTest, FileSinkGetsEveryEventAsACompleteFileInItsFolder) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  dir_.WriteFile("companies/acme.conf", "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcme.token +
                                            "\nbase_url = " + api_url_ +
                                            "\n\n[file]\ndir = ../outbox\n");
  StartDaemon();
  std::vector<std::string> refs;
  for (int i = 0; i < 8; ++i) {
    refs.push_back("FILE" + std::to_string(i));
    Submit(kAcme, i % 2 == 0 ? "nfe" : "nfse", refs.back());
  }
  Watch(kAcme, "nfe", {"FILE0", "FILE2", "FILE4", "FILE6"});
  Watch(kAcme, "nfse", {"FILE1", "FILE3", "FILE5", "FILE7"});
  WaitForSimulatorToFinish(60);

  const std::string outbox = dir_.Sub("outbox");
  ASSERT_TRUE(WaitUntil([&] { return FilesUnder(outbox).size() >= 8; }, 60))
      << FilesUnder(outbox).size() << " files";
  std::map<std::string, std::string> files = FilesUnder(outbox);
  EXPECT_EQ(files.size(), 8u) << "one file per event, no temp files left";
  for (const SimDocument& document : SimDocuments()) {
    const std::string name =
        "acme/" + document.type + "/" + document.ref + ".1." + document.status + ".json";
    ASSERT_EQ(files.count(name), 1u) << name;
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(files[name], ec);
    ASSERT_FALSE(ec) << name << ": " << files[name];
    EXPECT_EQ(body.at("status").as_string(), document.status) << name;
  }
  EXPECT_TRUE(Deliveries().empty()) << "a file company posts nothing";
}

TEST_F(DeliveryTest, EventsShowAttemptsAndRedeliverResendsWithTheSameWebhookId) {
  StartApi(kFastApi);
  StartReceiver({"--fail-first", "1"});
  WriteConfig({kAcme});
  StartDaemon();
  Submit(kAcme, "nfe", "EV1");
  Watch(kAcme, "nfe", {"EV1"});
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme});
  std::vector<Delivery> first = WaitForEvents(expected, 60);
  ASSERT_EQ(first.size(), 1u);

  CliRun events = Cli({"events", "--state", "delivered"});
  ASSERT_EQ(events.exit_code, 0);
  EXPECT_NE(events.out.find(first[0].webhook_id), std::string::npos) << events.out;
  EXPECT_NE(events.out.find("#1"), std::string::npos) << events.out;
  EXPECT_NE(events.out.find("  503  "), std::string::npos) << "the failed first attempt\n"
                                                           << events.out;
  EXPECT_NE(events.out.find("#2"), std::string::npos) << events.out;
  EXPECT_EQ(Cli({"events", "--state", "dead"}).out, "no events match\n");
  CliRun json = Cli({"events", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  boost::system::error_code ec;
  boost::json::value line = boost::json::parse(json.out, ec);
  ASSERT_FALSE(ec) << json.out;
  EXPECT_EQ(line.at("id").as_string(), first[0].webhook_id);
  EXPECT_EQ(line.at("state").as_string(), "delivered");
  EXPECT_EQ(line.at("ref").as_string(), "EV1");
  ASSERT_EQ(line.at("attempt_log").as_array().size(), 2u);
  EXPECT_EQ(line.at("attempt_log").as_array()[0].at("http_status").as_int64(), 503);

  CliRun redeliver = Cli({"redeliver", first[0].webhook_id});
  ASSERT_EQ(redeliver.exit_code, 0) << redeliver.out;
  EXPECT_NE(redeliver.out.find("queued for delivery again"), std::string::npos) << redeliver.out;
  ASSERT_TRUE(WaitUntil([&] { return Deliveries().size() >= 2; }, 30));
  std::vector<Delivery> all = Deliveries();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].webhook_id, all[0].webhook_id);
  EXPECT_EQ(all[1].body, all[0].body);
  EXPECT_TRUE(all[1].signature_ok);
}

TEST_F(DeliveryTest, DisabledEndpointHoldsEventsUntilItIsEnabled) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  StartDaemon();
  const std::string acme_url = receiver_url_ + "/erp/acme";
  CliRun disabled = Cli({"endpoint", "disable", acme_url});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.out;
  CliRun list = Cli({"endpoint", "list"});
  EXPECT_NE(list.out.find(acme_url + "  disabled (disabled by the operator"), std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find(receiver_url_ + "/erp/beta  enabled"), std::string::npos) << list.out;
  CliRun status = Cli({"status"});
  EXPECT_NE(status.out.find("endpoint " + acme_url + " is disabled (disabled by the operator"),
            std::string::npos)
      << status.out;

  for (int i = 0; i < 3; ++i) {
    Submit(kAcme, "nfe", "HOLD" + std::to_string(i));
    Submit(kBeta, "nfe", "FLOW" + std::to_string(i));
  }
  Watch(kAcme, "nfe", {"HOLD0", "HOLD1", "HOLD2"});
  Watch(kBeta, "nfe", {"FLOW0", "FLOW1", "FLOW2"});
  WaitForSimulatorToFinish(60);
  // ExpectedEvents() names documents of other tokens with an empty company; keep beta's.
  std::set<EventKey> beta_events;
  for (const EventKey& event : ExpectedEvents({kBeta})) {
    if (std::get<0>(event) == "beta") beta_events.insert(event);
  }
  ASSERT_EQ(beta_events.size(), 3u);
  WaitForEvents(beta_events, 60);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (const Delivery& delivery : Deliveries())
    EXPECT_EQ(delivery.company, "beta") << "acme's endpoint is disabled";
  CliRun pending = Cli({"events", "--company", "acme", "--state", "pending"});
  EXPECT_NE(pending.out.find("HOLD2"), std::string::npos) << pending.out;
  // The ATTEMPTS column, last and right-aligned, of HOLD2's row.
  size_t row = pending.out.find("acme/nfe/HOLD2");
  ASSERT_NE(row, std::string::npos) << pending.out;
  std::string line = pending.out.substr(row, pending.out.find('\n', row) - row);
  EXPECT_TRUE(line.ends_with(" 0")) << "waiting costs no attempt\n" << pending.out;

  ASSERT_EQ(Cli({"endpoint", "enable", acme_url}).exit_code, 0);
  std::vector<Delivery> all = WaitForEvents(ExpectedEvents({kAcme, kBeta}), 60);
  ExpectEveryEventOnceWithStableIds(ExpectedEvents({kAcme, kBeta}), all);
}

TEST_F(DeliveryTest, DaemonSignaturesVerifyWithTheReferenceLibraryDuringARotation) {
  // A second secret, as during a rotation: the ERP may hold either.
  const std::string kNextSecret = "whsec_bmV4dC1zZWNyZXQtZm9yLXRoZS1yb3RhdGlvbg==";
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  dir_.WriteFile("companies/acme.conf",
                 "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcme.token + "\nbase_url = " + api_url_ +
                     "\n\n[webhook]\nurl = " + receiver_url_ + "/erp/acme\nsecret = " +
                     kWebhookSecret + "\nsecret = " + kNextSecret + "\npayload = envelope\n");
  StartDaemon();
  for (int i = 0; i < 4; ++i)
    Submit(kAcme, "nfe", "SIG" + std::to_string(i));
  Watch(kAcme, "nfe", {"SIG0", "SIG1", "SIG2", "SIG3"});
  WaitForSimulatorToFinish(60);
  std::vector<Delivery> deliveries = WaitForEvents(ExpectedEvents({kAcme}), 60);
  ASSERT_EQ(deliveries.size(), 4u);

  // Every delivery as the daemon sent it, checked with each secret alone; one tampered copy.
  boost::json::array cases;
  auto add = [&](const std::string& name, const Delivery& d, const std::string& secret,
                 const std::string& body, bool valid) {
    cases.push_back(boost::json::object{{"name", name},
                                        {"secret", secret},
                                        {"id", d.webhook_id},
                                        {"timestamp", d.timestamp},
                                        {"signature", d.signature},
                                        {"body", body},
                                        {"expect", valid ? "valid" : "invalid"}});
  };
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const Delivery& d = deliveries[i];
    ASSERT_NE(d.signature.find(' '), std::string::npos) << "one signature per secret";
    add("old-" + std::to_string(i), d, kWebhookSecret, d.body, true);
    add("new-" + std::to_string(i), d, kNextSecret, d.body, true);
  }
  std::string tampered = deliveries[0].body;
  tampered.replace(tampered.find("autorizado"), 10, "cancelado!");
  add("tampered", deliveries[0], kNextSecret, tampered, false);
  dir_.WriteFile("cases.json", boost::json::serialize(cases));

  std::unique_ptr<Subprocess> node = Subprocess::Start(
      "/usr/bin/env",
      {"node", std::string(GATILHO_INTEROP_DIR) + "/verify.mjs", dir_.Sub("cases.json")});
  ASSERT_NE(node, nullptr);
  std::string out;
  while (std::optional<std::string> line = node->ReadLine(30'000))
    out += *line + "\n";
  EXPECT_EQ(node->Wait(), 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), static_cast<long>(cases.size())) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST_F(DeliveryTest, OperatorCommandsRefuseBadInputWithStatus2AndChangeNothing) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  EXPECT_EQ(Cli({"redeliver", "evt_no_such_id"}).exit_code, 2);
  EXPECT_EQ(Cli({"redeliver"}).exit_code, 2);
  EXPECT_EQ(Cli({"redeliver", "--dead", "evt_x"}).exit_code, 2);
  EXPECT_EQ(Cli({"events", "--state", "lost"}).exit_code, 2);
  EXPECT_EQ(Cli({"events", "--since", "yesterday"}).exit_code, 2);
  EXPECT_EQ(Cli({"events", "--company", "nobody"}).exit_code, 2);
  EXPECT_EQ(Cli({"endpoint", "disable", "http://127.0.0.1:1/elsewhere"}).exit_code, 2);
  EXPECT_EQ(Cli({"endpoint", "frobnicate", receiver_url_ + "/erp/acme"}).exit_code, 2);
  EXPECT_EQ(Cli({"endpoint", "disable"}).exit_code, 2);
  CliRun list = Cli({"endpoint", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("/erp/acme  enabled"), std::string::npos) << list.out;
  EXPECT_EQ(Cli({"events", "--since", "2h"}).out, "no events match\n");
}

}  // namespace
}  // namespace gatilho::testing
