// The gatilho command line, black-box: exit statuses, messages and what reaches the store.
#include <signal.h>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

class CliTest : public BridgeFixture {
 protected:
  void SetUp() override {
    StartApi({"--time-scale", "20", "--reject-rate", "0", "--deny-rate", "0"});
    StartReceiver();
    WriteConfig({kAcme, kBeta});
  }
};

TEST_F(CliTest, WatchRefusesUnknownCompanyTypeOrRefWithStatus2AndWritesNothing) {
  CliRun company = Cli({"watch", "nobody", "nfe", "R1"});
  EXPECT_EQ(company.exit_code, 2);
  CliRun type = Cli({"watch", "acme", "nfx", "R1"});
  EXPECT_EQ(type.exit_code, 2);
  // One bad ref refuses the whole batch, so a typo never leaves half a batch behind.
  CliRun ref = Cli({"watch", "acme", "nfe", "GOOD1", "bad ref"});
  EXPECT_EQ(ref.exit_code, 2);

  CliRun status = Cli({"status", "acme"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("(no watches)"), std::string::npos) << status.out;
}

TEST_F(CliTest, WatchThenStatusShowsThePendingDocument) {
  CliRun watch = Cli({"watch", "acme", "nfe", "PED-1", "PED-2"});
  ASSERT_EQ(watch.exit_code, 0);
  EXPECT_NE(watch.out.find("acme/nfe/PED-1: watching (cycle 1)"), std::string::npos) << watch.out;
  CliRun again = Cli({"watch", "acme", "nfe", "PED-1"});
  EXPECT_NE(again.out.find("already watched"), std::string::npos) << again.out;

  CliRun overview = Cli({"status"});
  EXPECT_NE(overview.out.find("watches: 2 pending"), std::string::npos) << overview.out;
  CliRun one = Cli({"status", "acme", "nfe", "PED-1"});
  EXPECT_EQ(one.exit_code, 0);
  EXPECT_NE(one.out.find("state pending"), std::string::npos) << one.out;
}

TEST_F(CliTest, BadConfigExitsWith2BeforeDoingAnything) {
  dir_.WriteFile("companies/acme.conf", "cnpj = 07504505000132\ntoken = x\nbase_url = " + api_url_ +
                                            "\ncolour = blue\n[webhook]\nurl = " + receiver_url_ +
                                            "\n");
  std::unique_ptr<Subprocess> check =
      Subprocess::Start(GATILHO_BIN, {"check", "--config", ConfigPath()});
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->Wait(), 2);
  // The message itself goes to stderr; the file and line are checked in the config unit tests.
  CliRun run = Cli({"run", "--once"});
  EXPECT_EQ(run.exit_code, 2);
}

TEST_F(CliTest, CheckMasksTokensAndNeverPrintsSecrets) {
  CliRun check = Cli({"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out.find(kAcme.token), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find(std::string(kWebhookSecret).substr(6)), std::string::npos);
  EXPECT_NE(check.out.find("configuration is valid"), std::string::npos);
}

TEST_F(CliTest, CheckShowsEachSinkAndItsOptionsButNoCredentials) {
  dir_.WriteFile("companies/acme.conf",
                 "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcme.token + "\nbase_url = " + api_url_ +
                     "\n[webhook]\nurl = http://erp-user:url-secret-1@127.0.0.1:9/hook?key=q-2\n"
                     "bearer_token = bearer-secret-3\nheader = X-Tenant: header-secret-4\n"
                     "proxy = socks5h://proxy-user:proxy-secret-5@127.0.0.1:1080\n"
                     "payload = envelope\nmax_in_flight = 4\nrate_per_second = 2.5\n"
                     "catch_up = latest\n");
  dir_.WriteFile("companies/beta.conf", "cnpj = " + kBeta.cnpj + "\ntoken = " + kBeta.token +
                                            "\nbase_url = " + api_url_ +
                                            "\n[file]\ndir = spool/beta\nretention_days = 7\n");

  CliRun check = Cli({"check"});

  ASSERT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("webhook   http://127.0.0.1:9/hook?...\n"), std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("auth      bearer token\n"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("headers   X-Tenant\n"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("proxy     socks5h://127.0.0.1:1080\n"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("delivery  envelope payload, 4 in flight, at most 2.5/s, catch up "
                           "latest\n"),
            std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("file      " + dir_.Sub("companies/spool/beta") + " (kept 7 days)\n"),
            std::string::npos)
      << check.out;
  for (const char* secret : {"erp-user", "url-secret-1", "q-2", "bearer-secret-3",
                             "header-secret-4", "proxy-user", "proxy-secret-5"}) {
    EXPECT_EQ(check.out.find(secret), std::string::npos) << secret << "\n" << check.out;
  }
}

TEST_F(CliTest, UnwritableDataDirIsAClearFailure) {
  dir_.WriteFile("not-a-dir", "x");
  dir_.WriteFile("gatilho.conf",
                 "data_dir = not-a-dir/data\ncompanies_dir = companies\nlog_level = warn\n");
  CliRun watch = Cli({"watch", "acme", "nfe", "R1"});
  EXPECT_EQ(watch.exit_code, 1);
  CliRun run = Cli({"run", "--once"});
  EXPECT_EQ(run.exit_code, 1);
}

TEST_F(CliTest, RunningDaemonNoticesANewWatchAtOnce) {
  StartDaemon();
  // Give the daemon time to settle into its long sleep: nothing is watched yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Submit(kAcme, "nfce", "FAST1");  // synchronous: authorised before it is watched
  auto start = std::chrono::steady_clock::now();
  Watch(kAcme, "nfce", {"FAST1"});
  std::vector<Delivery> deliveries = WaitForEvents({{"acme", "nfce/FAST1", "autorizado"}}, 10);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  ASSERT_EQ(deliveries.size(), 1u);
  // NFC-e's first poll is one second after the watch; a daemon that only re-read its schedule
  // on its periodic wake-up would take a minute.
  EXPECT_LT(elapsed, 3'000);
}

TEST_F(CliTest, RunOnceDeliversWhatIsDueAndExits) {
  Submit(kAcme, "nfce", "ONCE1");
  Submit(kBeta, "nfce", "ONCE2");
  Watch(kAcme, "nfce", {"ONCE1"});
  Watch(kBeta, "nfce", {"ONCE2"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));  // the first poll falls due
  CliRun once = Cli({"run", "--once"});
  EXPECT_EQ(once.exit_code, 0);
  std::vector<Delivery> deliveries = Deliveries();
  EXPECT_EQ(deliveries.size(), 2u);
  CliRun status = Cli({"status"});
  EXPECT_NE(status.out.find("2 delivered"), std::string::npos) << status.out;
}

TEST_F(CliTest, SecondDaemonOnTheSameStoreIsRefused) {
  StartDaemon();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CliRun second = Cli({"run"});
  EXPECT_EQ(second.exit_code, 3) << "the documented code for a data directory in use";
}

TEST_F(CliTest, SigtermStopsTheDaemonWithStatus0) {
  StartDaemon();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0);
  daemon_.reset();
}

TEST_F(CliTest, HelpAndVersionWorkEverywhere) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--version"},
                                        {"--help"},
                                        {"run", "--help"},
                                        {"watch", "--help"},
                                        {"status", "--help"},
                                        {"check", "--help"}}) {
    std::unique_ptr<Subprocess> process = Subprocess::Start(GATILHO_BIN, args);
    ASSERT_NE(process, nullptr);
    std::optional<std::string> first = process->ReadLine(5'000);
    EXPECT_TRUE(first.has_value()) << args[0];
    process->Drain(Subprocess::DrainMode::kDiscard);
    EXPECT_EQ(process->Wait(), 0) << args[0];
  }
  std::unique_ptr<Subprocess> unknown = Subprocess::Start(GATILHO_BIN, {"frobnicate"});
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->Wait(), 2);
}

}  // namespace
}  // namespace gatilho::testing
