#include "delivery/operator_notifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "support/loopback_server.h"

namespace gatilho {
namespace {

using ::gatilho::testing::LoopbackServer;

// "whsec_" + base64("operator-test-key-0123456789abcd")
constexpr char kSecret[] = "whsec_b3BlcmF0b3ItdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2Q=";

class OperatorNotifierTest : public ::testing::Test {
 protected:
  OperatorNotifierTest()
      : server_([this](const LoopbackServer::Request&) {
          std::lock_guard lock(mu_);
          return LoopbackServer::Reply{.status = status_};
        }) {
    Result<std::unique_ptr<HttpClient>> http = HttpClient::Create();
    EXPECT_TRUE(http.ok());
    if (http.ok()) http_ = std::move(*http);
  }

  std::unique_ptr<OperatorNotifier> Make(OperatorNotifier::Options options) {
    Result<std::unique_ptr<OperatorNotifier>> notifier =
        OperatorNotifier::Create(*http_, clock_, std::move(options));
    EXPECT_TRUE(notifier.ok()) << notifier.status().ToString();
    return notifier.ok() ? std::move(*notifier) : nullptr;
  }

  // Pumps the notifier and the HTTP client until nothing is in flight.
  void Run(OperatorNotifier& notifier) {
    notifier.Pump();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (http_->InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(http_->Poll(20, nullptr).ok());
    }
  }

  void SetStatus(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }

  std::mutex mu_;
  int status_ = 204;  // GUARDED_BY(mu_)
  LoopbackServer server_;
  VirtualClock clock_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(OperatorNotifierTest, PostsASignedEnvelope) {
  auto notifier = Make({.url = server_.Url("/ops"), .secrets = {kSecret}});
  notifier->Notify("endpoint_disabled", {{"endpoint", "http://erp/hook"}, {"reason", "410 Gone"}});
  Run(*notifier);

  ASSERT_EQ(server_.requests().size(), 1u);
  const LoopbackServer::Request request = server_.requests()[0];
  EXPECT_EQ(request.body,
            R"({"type":"gatilho.endpoint_disabled","timestamp":"2023-11-14T22:13:20.000Z",)"
            R"("data":{"endpoint":"http://erp/hook","reason":"410 Gone"}})");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_FALSE(request.Header("webhook-id").empty());
  EXPECT_EQ(request.Header("webhook-timestamp"), "1700000000");
  Result<Signer> signer = Signer::Create({kSecret});
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(request.Header("webhook-signature"),
            signer->Sign(request.Header("webhook-id"), 1'700'000'000, request.body));
  EXPECT_EQ(notifier->sent(), 1u);
  EXPECT_EQ(notifier->queued(), 0u);
}

TEST_F(OperatorNotifierTest, WithoutAUrlNothingIsQueued) {
  auto notifier = Make({});
  notifier->Notify("event_dead", {{"event_id", "x"}});
  EXPECT_FALSE(notifier->enabled());
  EXPECT_EQ(notifier->queued(), 0u);
  EXPECT_FALSE(notifier->NextWakeMs().has_value());
}

TEST_F(OperatorNotifierTest, RefusedPostIsRetriedWithBackoffThenGivenUp) {
  SetStatus(500);
  OperatorNotifier::Options options;
  options.url = server_.Url("/ops");
  options.max_tries = 3;
  options.first_retry_ms = 1000;
  auto notifier = Make(options);
  notifier->Notify("token_blocked", {{"company", "acme"}});

  Run(*notifier);
  ASSERT_EQ(notifier->NextWakeMs(), clock_.WallMs() + 1000);
  Run(*notifier);
  EXPECT_EQ(server_.requests().size(), 1u) << "not before its retry is due";
  clock_.Advance(1000);
  Run(*notifier);
  ASSERT_EQ(notifier->NextWakeMs(), clock_.WallMs() + 2000) << "the wait doubles";
  clock_.Advance(2000);
  Run(*notifier);
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_EQ(notifier->queued(), 0u);
  EXPECT_EQ(notifier->dropped(), 1u);
}

TEST_F(OperatorNotifierTest, ARetryKeepsItsWaitWhenTheWallClockIsSetBackADay) {
  SetStatus(500);
  OperatorNotifier::Options options;
  options.url = server_.Url("/ops");
  options.first_retry_ms = 1000;
  auto notifier = Make(options);
  notifier->Notify("token_blocked", {{"company", "acme"}});
  Run(*notifier);
  ASSERT_EQ(server_.requests().size(), 1u);

  clock_.JumpWall(-24 * 3600 * 1000LL);
  Run(*notifier);
  EXPECT_EQ(notifier->NextWakeMs(), clock_.WallMs() + 1000);
  SetStatus(204);
  clock_.Advance(1000);
  Run(*notifier);
  EXPECT_EQ(server_.requests().size(), 2u) << "the retry waited its second, not a day";
  EXPECT_EQ(notifier->sent(), 1u);
}

TEST_F(OperatorNotifierTest, FullQueueDropsTheOldestEvent) {
  OperatorNotifier::Options options;
  options.url = server_.Url("/ops");
  options.max_queued = 2;
  auto notifier = Make(options);
  notifier->Notify("event_dead", {{"n", "1"}});
  notifier->Notify("event_dead", {{"n", "2"}});
  notifier->Notify("event_dead", {{"n", "3"}});
  EXPECT_EQ(notifier->queued(), 2u);
  EXPECT_EQ(notifier->dropped(), 1u);
  Run(*notifier);
  Run(*notifier);
  ASSERT_EQ(server_.requests().size(), 2u);
  EXPECT_NE(server_.requests()[0].body.find(R"("n":"2")"), std::string::npos);
  EXPECT_NE(server_.requests()[1].body.find(R"("n":"3")"), std::string::npos);
}

TEST_F(OperatorNotifierTest, MalformedSecretIsRefusedWithoutShowingIt) {
  Result<std::unique_ptr<OperatorNotifier>> notifier = OperatorNotifier::Create(
      *http_, clock_, {.url = server_.Url("/ops"), .secrets = {"whsec_not base64!!"}});
  ASSERT_FALSE(notifier.ok());
  EXPECT_NE(notifier.status().message().find("operator_secret"), std::string::npos);
  EXPECT_EQ(notifier.status().message().find("not base64"), std::string::npos);
}

}  // namespace
}  // namespace gatilho
