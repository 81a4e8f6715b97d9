// The spool folder, black-box: a legacy ERP drops watch files into spool_dir while the real
// daemon runs; their documents are polled and delivered, and bad files register nothing.
#include <stdio.h>

#include <filesystem>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

class SpoolTest : public BridgeFixture {
 protected:
  void SetUp() override {
    StartApi({"--time-scale", "20", "--reject-rate", "0", "--deny-rate", "0", "--seed", "3"});
    StartReceiver();
    WriteConfig({kAcme, kBeta}, "spool_dir = spool\n");
  }

  // Writes spool/<name> the way the format asks: under a .tmp name, then renamed.
  void Drop(const std::string& name, const std::string& contents) {
    dir_.WriteFile("spool/" + name + ".tmp", contents);
    ASSERT_EQ(rename(dir_.Sub("spool/" + name + ".tmp").c_str(), dir_.Sub("spool/" + name).c_str()),
              0);
  }

  static bool WaitForFile(const std::string& path, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!std::filesystem::exists(path)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
};

TEST_F(SpoolTest, DroppedFileGetsItsDocumentsPolledAndDelivered) {
  StartDaemon();
  Submit(kAcme, "nfce", "SP1");
  Submit(kAcme, "nfe", "SP2");
  Submit(kBeta, "nfe", "SP3");

  Drop("lote-1.txt", "# from the ERP\nacme nfce SP1\nacme nfe SP2\n\nbeta nfe SP3\n");

  ASSERT_TRUE(WaitForFile(dir_.Sub("spool/done/lote-1.txt"), 5)) << "taken within a second";
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("spool/lote-1.txt")));
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});
  ASSERT_EQ(expected.size(), 3u);
  std::vector<Delivery> deliveries = WaitForEvents(expected, 60);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
}

TEST_F(SpoolTest, BadFileIsRejectedWithAReasonAndRegistersNothing) {
  StartDaemon();

  Drop("lote-2.txt", "acme nfe OK1\nzeta nfe X1\nacme nfe OK2\n");

  ASSERT_TRUE(WaitForFile(dir_.Sub("spool/rejected/lote-2.txt.reason"), 5));
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("spool/rejected/lote-2.txt")));
  std::string reason = ReadFile(dir_.Sub("spool/rejected/lote-2.txt.reason"));
  EXPECT_NE(reason.find("line 2: unknown company 'zeta'"), std::string::npos) << reason;
  boost::json::object status = StatusJson();
  const boost::json::object& watches = status["watches"].as_object();
  int64_t total = 0;
  for (const auto& [state, count] : watches)
    total += count.to_number<int64_t>();
  EXPECT_EQ(total, 0) << boost::json::serialize(status) << ": all or nothing";
}

TEST_F(SpoolTest, RunOnceTakesTheSettledFilesPresentAtItsStart) {
  Submit(kAcme, "nfce", "ONCE9");
  Drop("lote-3.txt", "acme nfce ONCE9\n");
  // Dropped a while before the cron pass: a file that changed in the last 2 s waits.
  std::filesystem::last_write_time(
      dir_.Sub("spool/lote-3.txt"),
      std::filesystem::file_time_type::clock::now() - std::chrono::seconds(10));

  CliRun once = Cli({"run", "--once"});
  EXPECT_EQ(once.exit_code, 0);

  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("spool/done/lote-3.txt")));
  boost::json::object status = StatusJson();
  EXPECT_EQ(status["watches"].as_object()["pending"].to_number<int64_t>(), 1)
      << boost::json::serialize(status);
}

}  // namespace
}  // namespace gatilho::testing
