// SIGHUP, black-box: the real daemon reloads its company files while it runs.
#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

const std::vector<std::string> kFastApi = {"--time-scale", "20", "--reject-rate", "0",
                                           "--deny-rate",  "0",  "--seed",        "9"};

class ReloadTest : public BridgeFixture {
 protected:
  // The events of `company` among those the simulator finished.
  std::set<EventKey> EventsOf(const Company& company) {
    std::set<EventKey> mine;
    for (const EventKey& event : ExpectedEvents({kAcme, kBeta})) {
      if (std::get<0>(event) == company.id) mine.insert(event);
    }
    return mine;
  }

  // Whether every event in `expected` reached the receiver within timeout_s.
  bool Delivered(const std::set<EventKey>& expected, int timeout_s) {
    std::set<EventKey> seen;
    for (const Delivery& d : WaitForEvents(expected, timeout_s))
      seen.insert({d.company, d.document, d.event});
    return std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
  }
};

TEST_F(ReloadTest, SighupStartsANewCompanyAndABrokenFileKeepsTheRunningConfig) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  StartDaemon();
  Submit(kAcme, "nfe", "A1");
  Watch(kAcme, "nfe", {"A1"});
  WaitForSimulatorToFinish(60);
  ASSERT_TRUE(Delivered(EventsOf(kAcme), 60));

  // A new company: its file is added and the daemon told, without a restart.
  WriteConfig({kAcme, kBeta});
  daemon_->Signal(SIGHUP);
  Submit(kBeta, "nfe", "B1");
  Watch(kBeta, "nfe", {"B1"});
  WaitForSimulatorToFinish(60);
  std::set<EventKey> beta = EventsOf(kBeta);
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_TRUE(Delivered(beta, 60)) << "beta is polled after the reload";

  // A broken file: the reload is refused and the daemon goes on with what it had.
  dir_.WriteFile("companies/broken.conf", "cnpj = not-a-cnpj\n");
  daemon_->Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::filesystem::remove(dir_.Sub("companies/broken.conf"));
  Submit(kAcme, "nfe", "A2");
  Watch(kAcme, "nfe", {"A2"});
  WaitForSimulatorToFinish(60);
  EXPECT_TRUE(Delivered(EventsOf(kAcme), 60)) << "still running after the refused reload";
  EXPECT_EQ(StopDaemon(), 0);
}

TEST_F(ReloadTest, RemovedCompanyStopsButItsEventsStayInTheStore) {
  StartApi(kFastApi);
  StartReceiver({"--status", "503"});  // nothing is delivered, so beta's event stays pending
  WriteConfig({kAcme, kBeta});
  StartDaemon();
  Submit(kBeta, "nfe", "B1");
  Watch(kBeta, "nfe", {"B1"});
  WaitForSimulatorToFinish(60);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Cli({"events", "--company", "beta"}).out.find("B1") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  std::filesystem::remove(dir_.Sub("companies/beta.conf"));
  daemon_->Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(StopDaemon(), 0);

  // Back with the file, the event is still there, pending, under its id.
  WriteConfig({kAcme, kBeta});
  CliRun events = Cli({"events", "--company", "beta", "--state", "pending"});
  EXPECT_NE(events.out.find("beta/nfe/B1"), std::string::npos) << events.out;
}

}  // namespace
}  // namespace gatilho::testing
