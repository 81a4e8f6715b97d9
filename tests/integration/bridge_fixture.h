// BridgeFixture: the real gatilho and gatilho-sim binaries on loopback, for black-box tests.
//
// A fixture owns a temporary folder holding the config files and the store, a simulated API
// (`gatilho-sim api`), a webhook receiver (`gatilho-sim receiver`) that verifies signatures and
// records every delivery, and the daemon. Helpers submit documents the way an ERP would, run the
// CLI, and read back what the simulator and the receiver saw.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/digest.h"
#include "support/http_call.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace gatilho::testing {

inline constexpr char kWebhookSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Company {
  std::string id;
  std::string cnpj;
  std::string token;
};

inline const Company kAcme{"acme", "07504505000132", "token-acme-0123456789"};
inline const Company kBeta{"beta", "11222333000181", "token-beta-9876543210"};

// What the receiver recorded for one delivery.
struct Delivery {
  std::string webhook_id;
  std::string event;
  std::string company;
  std::string document;  // "type/ref"
  bool signature_ok = false;
  std::string body;
  std::string timestamp;  // the webhook-timestamp header
  std::string signature;  // the webhook-signature header
};

// What the simulator says about one document.
struct SimDocument {
  std::string token_hash;
  std::string type;
  std::string ref;
  std::string status;
  int64_t finished_ms = 0;
};

// The result of running the CLI once.
struct CliRun {
  int exit_code = -1;
  std::string out;  // standard output; standard error goes to the test log
};

class BridgeFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    if (daemon_) {
      daemon_->Signal(SIGTERM);
      daemon_->Wait();
    }
  }

  std::string ConfigPath() const { return dir_.Sub("gatilho.conf"); }
  std::string DataDir() const { return dir_.Sub("data"); }

  // Starts the simulated API with the two companies' tokens and `args`.
  void StartApi(std::vector<std::string> args) {
    std::vector<std::string> all = {"api",       "--port",  "0",        "--token",
                                    kAcme.token, "--token", kBeta.token};
    all.insert(all.end(), args.begin(), args.end());
    api_ = Subprocess::Start(GATILHO_SIM_BIN, all);
    ASSERT_NE(api_, nullptr);
    int port = WaitForListeningPort(*api_, 10'000);
    ASSERT_GT(port, 0) << "gatilho-sim api did not start";
    api_->Drain(Subprocess::DrainMode::kDiscard);
    api_url_ = "http://127.0.0.1:" + std::to_string(port);
  }

  // Starts the receiver; it checks signatures made with kWebhookSecret.
  void StartReceiver(std::vector<std::string> args = {}) {
    std::vector<std::string> all = {
        "receiver", "--port",       "0",        "--quiet",
        "--secret", kWebhookSecret, "--record", dir_.Sub("received.jsonl")};
    all.insert(all.end(), args.begin(), args.end());
    receiver_ = Subprocess::Start(GATILHO_SIM_BIN, all);
    ASSERT_NE(receiver_, nullptr);
    int port = WaitForListeningPort(*receiver_, 10'000);
    ASSERT_GT(port, 0) << "gatilho-sim receiver did not start";
    receiver_->Drain(Subprocess::DrainMode::kDiscard);
    receiver_url_ = "http://127.0.0.1:" + std::to_string(port);
  }

  // Writes the global file and one file per company, pointing at the simulator and receiver.
  void WriteConfig(const std::vector<Company>& companies, const std::string& extra_global = "") {
    dir_.WriteFile("gatilho.conf",
                   "data_dir = data\ncompanies_dir = companies\n"
                   "log_level = warn\n" +
                       extra_global);
    for (const Company& company : companies) {
      std::string path =
          dir_.WriteFile("companies/" + company.id + ".conf",
                         "cnpj = " + company.cnpj + "\ntoken = " + company.token +
                             "\nbase_url = " + api_url_ + "\n\n[webhook]\nurl = " + receiver_url_ +
                             "/erp/" + company.id + "\nsecret = " + kWebhookSecret + "\n");
      // It holds a token and a secret: readable by others, gatilho would warn at every start.
      chmod(path.c_str(), 0600);
    }
  }

  // Runs `gatilho ARGS`; the config flag is added after the subcommand.
  CliRun Cli(std::vector<std::string> args) {
    if (!args.empty()) {
      args.insert(args.begin() + 1, {"--config", ConfigPath()});
    }
    CliRun run;
    std::unique_ptr<Subprocess> process = Subprocess::Start(GATILHO_BIN, args);
    if (!process) return run;
    while (std::optional<std::string> line = process->ReadLine(60'000))
      run.out += *line + "\n";
    run.exit_code = process->Wait();
    return run;
  }

  void StartDaemon() {
    daemon_ = Subprocess::Start(GATILHO_BIN, {"run", "--config", ConfigPath()});
    ASSERT_NE(daemon_, nullptr);
    daemon_->Drain(Subprocess::DrainMode::kDiscard);
  }

  // SIGTERM, as systemd stops it: the daemon finishes, checkpoints and exits.
  int StopDaemon() {
    daemon_->Signal(SIGTERM);
    int code = daemon_->Wait();
    daemon_.reset();
    return code;
  }

  void KillDaemon() {
    daemon_->Signal(SIGKILL);
    daemon_->Wait();
    daemon_.reset();
  }

  // The ERP's side: submits a document to the API, as its own emission would.
  void Submit(const Company& company, const std::string& type, const std::string& ref) {
    HttpResult result = HttpCall("POST", api_url_ + "/v2/" + type + "?ref=" + ref,
                                 R"({"natureza_operacao":"Venda"})", company.token);
    ASSERT_TRUE(result.status == 201 || result.status == 202)
        << "submitting " << type << "/" << ref << ": HTTP " << result.status << " " << result.body
        << result.error;
  }

  void Watch(const Company& company, const std::string& type,
             const std::vector<std::string>& refs) {
    std::vector<std::string> args = {"watch", "--quiet", company.id, type};
    args.insert(args.end(), refs.begin(), refs.end());
    CliRun run = Cli(args);
    ASSERT_EQ(run.exit_code, 0) << run.out;
  }

  std::vector<SimDocument> SimDocuments() {
    std::vector<SimDocument> out;
    HttpResult result = HttpCall("GET", api_url_ + "/__sim/documents");
    EXPECT_EQ(result.status, 200) << result.error;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(result.body, ec);
    if (ec || !parsed.is_array()) return out;
    for (const boost::json::value& item : parsed.as_array()) {
      const boost::json::object& doc = item.as_object();
      out.push_back(SimDocument{
          std::string(doc.at("token_hash").as_string()), std::string(doc.at("type").as_string()),
          std::string(doc.at("ref").as_string()), std::string(doc.at("status").as_string()),
          doc.at("finished_ms").to_number<int64_t>()});
    }
    return out;
  }

  boost::json::object JsonGet(const std::string& url) {
    HttpResult result = HttpCall("GET", url);
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(result.body, ec);
    if (ec || !parsed.is_object()) return {};
    return parsed.as_object();
  }

  int64_t SimStat(const std::string& name) {
    boost::json::object stats = JsonGet(api_url_ + "/__sim/stats");
    return stats.contains(name) ? stats.at(name).to_number<int64_t>() : -1;
  }

  // The GETs (consult polls) the simulator has answered, or -1.
  int64_t SimGets() {
    boost::json::object stats = JsonGet(api_url_ + "/__sim/stats");
    if (!stats.contains("by_method")) return -1;
    return stats.at("by_method").at("GET").to_number<int64_t>();
  }

  // `gatilho status --json`, parsed; an empty object (and a test failure) when it is not JSON.
  boost::json::object StatusJson() {
    CliRun run = Cli({"status", "--json"});
    EXPECT_EQ(run.exit_code, 0) << run.out;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(run.out, ec);
    EXPECT_FALSE(ec) << run.out;
    return !ec && parsed.is_object() ? parsed.as_object() : boost::json::object{};
  }

  std::vector<Delivery> Deliveries() {
    std::vector<Delivery> out;
    std::istringstream lines(ReadFile(dir_.Sub("received.jsonl")));
    std::string line;
    while (std::getline(lines, line)) {
      boost::system::error_code ec;
      boost::json::value parsed = boost::json::parse(line, ec);
      if (ec || !parsed.is_object()) continue;  // a line still being written
      const boost::json::object& d = parsed.as_object();
      auto text = [&](const char* key) {
        return d.contains(key) && d.at(key).is_string() ? std::string(d.at(key).as_string())
                                                        : std::string();
      };
      out.push_back(Delivery{text("webhook_id"), text("event"), text("company"), text("document"),
                             d.contains("signature_ok") && d.at("signature_ok").as_bool(),
                             text("body"), text("timestamp"), text("signature")});
    }
    return out;
  }

  // (company, "type/ref", event) for each document the simulator finished, whose event the ERP
  // must receive.
  using EventKey = std::tuple<std::string, std::string, std::string>;
  std::set<EventKey> ExpectedEvents(const std::vector<Company>& companies) {
    std::map<std::string, std::string> company_by_hash;
    for (const Company& c : companies)
      company_by_hash[Sha256Hex(c.token).substr(0, 8)] = c.id;
    std::set<EventKey> expected;
    for (const SimDocument& doc : SimDocuments()) {
      if (doc.status == "processando_autorizacao") continue;
      std::string type = doc.type == "cte_os" ? "cte" : doc.type;
      expected.insert({company_by_hash[doc.token_hash], type + "/" + doc.ref, doc.status});
    }
    return expected;
  }

  // Waits until every expected event reached the receiver; returns the deliveries then.
  std::vector<Delivery> WaitForEvents(const std::set<EventKey>& expected, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::vector<Delivery> deliveries;
    for (;;) {
      deliveries = Deliveries();
      std::set<EventKey> seen;
      for (const Delivery& d : deliveries)
        seen.insert({d.company, d.document, d.event});
      bool all = std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
      if (all || std::chrono::steady_clock::now() > deadline) return deliveries;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Waits until the simulator has finished processing every document.
  void WaitForSimulatorToFinish(int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      bool all_done = true;
      for (const SimDocument& doc : SimDocuments()) {
        all_done = all_done && doc.status != "processando_autorizacao";
      }
      if (all_done) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "the simulator did not finish its documents in " << timeout_s << " s";
  }

  // Checks the two delivery guarantees: every expected event arrived at least once, and every
  // repeat of an event carried the same webhook-id.
  static void ExpectEveryEventOnceWithStableIds(const std::set<EventKey>& expected,
                                                const std::vector<Delivery>& deliveries) {
    std::map<EventKey, std::set<std::string>> ids;
    for (const Delivery& d : deliveries)
      ids[{d.company, d.document, d.event}].insert(d.webhook_id);
    for (const EventKey& key : expected) {
      EXPECT_EQ(ids.count(key), 1u) << "never delivered: " << std::get<0>(key) << " "
                                    << std::get<1>(key) << " " << std::get<2>(key);
    }
    for (const auto& [key, id_set] : ids) {
      EXPECT_EQ(id_set.size(), 1u) << "one event delivered under several ids: " << std::get<1>(key)
                                   << " " << std::get<2>(key);
      EXPECT_EQ(expected.count(key), 1u) << "unexpected event: " << std::get<0>(key) << " "
                                         << std::get<1>(key) << " " << std::get<2>(key);
    }
  }

  TempDir dir_;
  std::string api_url_;
  std::string receiver_url_;
  std::unique_ptr<Subprocess> api_;
  std::unique_ptr<Subprocess> receiver_;
  std::unique_ptr<Subprocess> daemon_;
};

}  // namespace gatilho::testing
