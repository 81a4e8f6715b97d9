// Running gatilho as an operator does, black-box: overlapping cron passes, the exit status of
// `run --once`, SIGTERM draining what is in flight, and `status --json`.
#include <signal.h>

#include <algorithm>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

const std::vector<std::string> kFastApi = {"--time-scale", "20", "--reject-rate", "0",
                                           "--deny-rate",  "0",  "--seed",        "11"};

class OperationsTest : public BridgeFixture {
 protected:
  void SetApiLatency(int ms) {
    HttpResult result =
        HttpCall("POST", api_url_ + "/__sim/faults", "{\"latency_ms\":" + std::to_string(ms) + "}");
    ASSERT_EQ(result.status, 200) << result.body << result.error;
  }

  void SetReceiver(int status, int delay_ms) {
    HttpResult result = HttpCall("POST", receiver_url_ + "/__receiver/mode",
                                 "{\"status\":" + std::to_string(status) +
                                     ",\"delay_ms\":" + std::to_string(delay_ms) + "}");
    ASSERT_EQ(result.status, 200) << result.body << result.error;
  }

  static int64_t Count(boost::json::object& status, const char* group, const char* state) {
    return status[group].as_object()[state].to_number<int64_t>();
  }

  static bool WaitUntil(const std::function<bool()>& done, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
};

TEST_F(OperationsTest, OverlappingOncePassesAreSafeAndTheSecondExitsWith3) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  Submit(kAcme, "nfce", "LOCK1");
  Submit(kAcme, "nfce", "LOCK2");
  Watch(kAcme, "nfce", {"LOCK1", "LOCK2"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));  // the first polls fall due
  // Each poll takes 7 s, longer than the 5 s a second pass waits for the lock.
  SetApiLatency(7'000);

  std::vector<std::string> args = {"run", "--config", ConfigPath(), "--once"};
  std::unique_ptr<Subprocess> first = Subprocess::Start(GATILHO_BIN, args);
  std::unique_ptr<Subprocess> second = Subprocess::Start(GATILHO_BIN, args);
  ASSERT_TRUE(first && second);
  first->Drain(Subprocess::DrainMode::kDiscard);
  second->Drain(Subprocess::DrainMode::kDiscard);
  std::vector<int> codes = {first->Wait(), second->Wait()};
  std::sort(codes.begin(), codes.end());

  EXPECT_EQ(codes, (std::vector<int>{0, 3})) << "one pass ran, the other gave up on the lock";
  EXPECT_EQ(SimGets(), 2) << "each document polled once, not once per pass";
  std::vector<Delivery> deliveries = Deliveries();
  ExpectEveryEventOnceWithStableIds(ExpectedEvents({kAcme}), deliveries);
  EXPECT_EQ(deliveries.size(), 2u);
}

TEST_F(OperationsTest, OnceExitsWith4WhileAnEndpointIsGoneAnd0OnceItIsClean) {
  StartApi(kFastApi);
  StartReceiver({"--status", "410"});
  WriteConfig({kAcme});
  Submit(kAcme, "nfce", "GONE1");
  Watch(kAcme, "nfce", {"GONE1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));

  CliRun gone = Cli({"run", "--once"});
  EXPECT_EQ(gone.exit_code, 4) << "the 410 disabled the endpoint: needs attention";
  boost::json::object status = StatusJson();
  ASSERT_EQ(status["endpoints"].as_array().size(), 1u) << boost::json::serialize(status);
  EXPECT_TRUE(status["endpoints"].as_array()[0].at("disabled").as_bool());
  EXPECT_EQ(status["endpoints"].as_array()[0].at("reason").as_string(), "410 Gone");
  EXPECT_EQ(Count(status, "events", "pending"), 1);

  SetReceiver(204, 0);
  ASSERT_EQ(Cli({"endpoint", "enable", receiver_url_ + "/erp/acme"}).exit_code, 0);
  CliRun clean = Cli({"run", "--once"});
  EXPECT_EQ(clean.exit_code, 0) << "delivered, nothing left to look at";
  status = StatusJson();
  EXPECT_EQ(Count(status, "events", "delivered"), 1) << boost::json::serialize(status);
  EXPECT_FALSE(status["endpoints"].as_array()[0].at("disabled").as_bool());
  ExpectEveryEventOnceWithStableIds(ExpectedEvents({kAcme}), Deliveries());
}

TEST_F(OperationsTest, OnceExitsWith4WhenTheApiRefusesACompanysToken) {
  std::vector<std::string> args = kFastApi;
  args.insert(args.end(), {"--blocked-token", kBeta.token});
  StartApi(args);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  Submit(kAcme, "nfce", "TOK1");
  Watch(kAcme, "nfce", {"TOK1"});
  Watch(kBeta, "nfce", {"TOK2"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));

  CliRun once = Cli({"run", "--once"});

  EXPECT_EQ(once.exit_code, 4) << "beta's token was refused (403): needs attention";
  EXPECT_EQ(Deliveries().size(), 1u) << "acme's document went out all the same";
}

TEST_F(OperationsTest, SigtermDrainsPollsAndDeliveriesInFlightAndLosesNothing) {
  StartApi(kFastApi);
  StartReceiver({"--delay-ms", "3000"});
  WriteConfig({kAcme});
  std::vector<std::string> first_batch, second_batch;
  for (int i = 0; i < 5; ++i) {
    first_batch.push_back("DRA" + std::to_string(i));
    second_batch.push_back("DRB" + std::to_string(i));
    Submit(kAcme, "nfce", first_batch.back());
    Submit(kAcme, "nfce", second_batch.back());
  }
  SetApiLatency(2'000);
  StartDaemon();
  Watch(kAcme, "nfce", first_batch);
  // The first batch's deliveries reach the receiver (which answers 3 s later)...
  ASSERT_TRUE(WaitUntil([&] { return Deliveries().size() == 5; }, 20'000));
  Watch(kAcme, "nfce", second_batch);
  // ...and the second batch's polls reach the API (which answers 2 s later).
  ASSERT_TRUE(WaitUntil([&] { return SimGets() == 10; }, 10'000)) << SimGets();

  int64_t gets_at_signal = SimGets();
  auto signalled = std::chrono::steady_clock::now();
  daemon_->Signal(SIGTERM);
  int code = daemon_->Wait();
  auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - signalled)
                     .count();
  daemon_.reset();

  EXPECT_EQ(code, 0);
  EXPECT_LT(took_ms, 10'000 + 2'000) << "drain_ms (10 s) bounds the stop";
  EXPECT_EQ(SimGets(), gets_at_signal) << "no poll started after the signal";
  boost::json::object status = StatusJson();
  EXPECT_EQ(Count(status, "events", "delivered"), 5)
      << "the deliveries answered during the drain were committed\n"
      << boost::json::serialize(status);
  EXPECT_EQ(Count(status, "events", "pending"), 5)
      << "the polls answered during the drain made their events\n"
      << boost::json::serialize(status);
  EXPECT_EQ(Deliveries().size(), 5u) << "no delivery started after the signal";

  SetApiLatency(0);
  SetReceiver(204, 0);
  StartDaemon();
  std::set<EventKey> expected = ExpectedEvents({kAcme});
  ASSERT_EQ(expected.size(), 10u);
  ExpectEveryEventOnceWithStableIds(expected, WaitForEvents(expected, 30));
}

TEST_F(OperationsTest, StatusJsonHasCountsCompaniesEndpointsAndTokens) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme, kBeta});
  Watch(kAcme, "nfe", {"J1", "J2"});

  boost::json::object status = StatusJson();

  EXPECT_EQ(Count(status, "watches", "pending"), 2) << boost::json::serialize(status);
  EXPECT_EQ(Count(status, "events", "delivered"), 0);
  ASSERT_EQ(status["companies"].as_array().size(), 2u);
  EXPECT_EQ(status["companies"].as_array()[0].at("id").as_string(), "acme");
  EXPECT_EQ(status["companies"].as_array()[0].at("sink").as_string(), "webhook");
  EXPECT_EQ(status["endpoints"].as_array().size(), 2u);
  EXPECT_TRUE(status["tokens"].is_array());
  EXPECT_TRUE(status["learned"].is_array());
  std::string text = boost::json::serialize(status);
  EXPECT_EQ(text.find(kAcme.token), std::string::npos) << "never a token";
  EXPECT_EQ(text.find(kWebhookSecret), std::string::npos) << "never a secret";
}

}  // namespace
}  // namespace gatilho::testing
