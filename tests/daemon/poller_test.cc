#include "daemon/poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/digest.h"
#include "fiscal/event_id.h"
#include "support/base64.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "support/test_parts.h"

namespace gatilho {
namespace {

using ::gatilho::testing::Base64;
using ::gatilho::testing::LoopbackServer;
using ::gatilho::testing::TempDir;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

constexpr char kAutorizado[] =
    R"({"cnpj_emitente":"07504505000132","ref":"R1","status":"autorizado",)"
    R"("status_sefaz":"100","mensagem_sefaz":"Autorizado o uso da NF-e",)"
    R"("chave_nfe":"NFe41190607504505000132550010000000011000000019","numero":"1","serie":"1"})";

// The Authorization header the API expects for `token`: Basic with an empty password.
std::string BasicAuth(const std::string& token) {
  return "Basic " + Base64(token + ":");
}

LoopbackServer::Reply Autorizado() {
  return LoopbackServer::Reply{
      .status = 200, .headers = {{"Content-Type", "application/json"}}, .body = kAutorizado};
}

class PollerTest : public ::testing::Test {
 protected:
  PollerTest()
      : server_([this](const LoopbackServer::Request& request) { return Answer(request); }) {}

  void SetUp() override {
    ASSERT_TRUE(testing::OpenStoreAndClient(dir_.Sub("data"), &store_, &http_));
  }

  // Replaces how the fiscal API answers; the default is the autorizado consult body.
  void SetAnswer(LoopbackServer::Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  LoopbackServer::Reply Answer(const LoopbackServer::Request& request) {
    std::lock_guard lock(mu_);
    if (handler_) return handler_(request);
    return Autorizado();
  }

  void AddCompany(const std::string& id, const std::string& token) {
    CompanyConfig company;
    company.id = id;
    company.cnpj = "07504505000132";
    company.token = token;
    company.base_url = server_.Url("");
    company.types = {kAllDocTypes.begin(), kAllDocTypes.end()};
    company.webhook.url = server_.Url("/hook");
    company.source_file = "/etc/gatilho/companies/" + id + ".conf";
    companies_[id] = company;
  }

  Poller& MakePoller(Poller::Options options = {}) {
    poller_ = std::make_unique<Poller>(*store_, *http_, clock_, companies_, PollPolicy::Defaults(),
                                       options);
    return *poller_;
  }

  // Registers `refs` of `company` as NF-e watches whose first poll is `first_poll_in_ms` from
  // now.
  void Watch(const std::string& company, const std::vector<std::string>& refs,
             int64_t first_poll_in_ms = 0) {
    std::vector<WatchKey> keys;
    for (const std::string& ref : refs)
      keys.push_back(WatchKey{company, DocType::kNfe, ref});
    const int64_t now = clock_.WallMs();
    Result<std::vector<Store::AddOutcome>> added =
        store_->AddWatches(keys, now, now + first_poll_in_ms);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  static std::vector<std::string> Refs(const std::string& prefix, int count) {
    std::vector<std::string> refs;
    for (int i = 0; i < count; ++i)
      refs.push_back(prefix + std::to_string(i));
    return refs;
  }

  WatchRecord GetWatch(const std::string& company, const std::string& ref) {
    Result<WatchRecord> record = store_->GetWatch(WatchKey{company, DocType::kNfe, ref});
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    return record.ok() ? *record : WatchRecord{};
  }

  std::vector<EventRecord> EventsOf(const std::string& company, const std::string& ref) {
    Result<std::vector<EventRecord>> events =
        store_->EventsFor(WatchKey{company, DocType::kNfe, ref});
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<EventRecord>{};
  }

  // Starts the polls that are due, returning how many went out.
  size_t Pump() {
    Status s = poller_->Pump();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return http_->InFlight();
  }

  // Runs the real HTTP exchanges in flight to completion, bounded by a real-time deadline.
  void RunHttp() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (http_->InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
      Status s = http_->Poll(50, nullptr);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_EQ(http_->InFlight(), 0u) << "polls did not finish in time";
    EXPECT_EQ(poller_->in_flight(), 0u);
  }

  void Flush() {
    Status s = poller_->Flush();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  // One turn of the daemon's loop: start due polls, receive their answers, commit. Returns how
  // many polls it started.
  size_t Turn() {
    size_t started = Pump();
    RunHttp();
    Flush();
    return started;
  }

  // Turns until one starts no poll (the budget or the schedule holds the rest back), without
  // moving the clock. Returns how many polls went out in all.
  size_t TurnUntilQuiet() {
    size_t total = 0;
    for (int i = 0; i < 100; ++i) {
      size_t started = Turn();
      if (started == 0) return total;
      total += started;
    }
    ADD_FAILURE() << "the poller never stopped starting polls";
    return total;
  }

  // How many requests the API received with `token`.
  size_t RequestsWith(const std::string& token) const {
    size_t count = 0;
    for (const LoopbackServer::Request& request : server_.requests()) {
      if (request.Header("authorization") == BasicAuth(token)) ++count;
    }
    return count;
  }

  std::mutex mu_;
  LoopbackServer::Handler handler_;  // GUARDED_BY(mu_)
  LoopbackServer server_;
  TempDir dir_;
  VirtualClock clock_;
  std::unique_ptr<Store> store_;
  std::map<std::string, CompanyConfig> companies_;
  std::unique_ptr<Poller> poller_;
  // Declared last so it is destroyed first: the poller must outlive its transfers.
  std::unique_ptr<HttpClient> http_;
};

TEST_F(PollerTest, PollsDueWatchWithBasicAuthAndCommitsTheEvent) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});

  EXPECT_EQ(Turn(), 1u);

  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/v2/nfe/R1");
  EXPECT_EQ(requests[0].Header("authorization"), BasicAuth("tok-acme"));
  std::vector<EventRecord> events = EventsOf("acme", "R1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "autorizado");
  EXPECT_EQ(events[0].payload, kAutorizado);
  EXPECT_EQ(events[0].state, EventState::kPending);
  EXPECT_EQ(events[0].next_attempt_ms, clock_.WallMs());
  const WatchRecord watch = GetWatch("acme", "R1");
  EXPECT_EQ(watch.state, WatchState::kFollowing);
  EXPECT_EQ(watch.last_status, "autorizado");
  EXPECT_EQ(watch.poll_count, 1u);
  EXPECT_GT(watch.next_poll_ms, clock_.WallMs());
  EXPECT_EQ(poller_->counters().polls, 1u);
  EXPECT_EQ(poller_->counters().events, 1u);
}

TEST_F(PollerTest, TokensReportEachBudgetByHandleWithItsCompanies) {
  SetAnswer([](const LoopbackServer::Request&) {
    LoopbackServer::Reply reply = Autorizado();
    reply.headers.emplace_back("Rate-Limit-Limit", "50");
    return reply;
  });
  AddCompany("acme", "tok-shared");
  AddCompany("beta", "tok-shared");
  AddCompany("gamma", "tok-gamma");
  MakePoller();
  Watch("acme", {"R1", "R2"});
  Turn();

  std::vector<TokenFigures> tokens = poller_->Tokens();
  ASSERT_EQ(tokens.size(), 2u);
  const TokenFigures* shared =
      tokens[0].handle == SecretHandle("tok-shared") ? &tokens[0] : &tokens[1];
  EXPECT_EQ(shared->handle, SecretHandle("tok-shared"));
  EXPECT_EQ(shared->companies, "acme,beta");
  EXPECT_EQ(shared->limit, 50);
  EXPECT_EQ(shared->share_cap, 40);  // floor(0.8 * 50)
  EXPECT_EQ(shared->used_in_window, 2);
  EXPECT_EQ(shared->available, 38);
  EXPECT_FALSE(shared->paused);
  EXPECT_EQ(shared->erp_requests, 0);
  for (const TokenFigures& token : tokens) {
    EXPECT_NE(token.handle, "tok-shared");
    EXPECT_NE(token.handle, "tok-gamma");
  }
}

TEST_F(PollerTest, NothingIsCommittedBeforeFlush) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});

  EXPECT_EQ(Pump(), 1u);
  RunHttp();

  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(poller_->unflushed(), 1u);
  EXPECT_TRUE(EventsOf("acme", "R1").empty());
  WatchRecord before = GetWatch("acme", "R1");
  EXPECT_EQ(before.state, WatchState::kPending);
  EXPECT_EQ(before.poll_count, 0u);
  EXPECT_EQ(before.last_status, "");
  EXPECT_EQ(poller_->counters().events, 0u);

  Flush();

  EXPECT_EQ(poller_->unflushed(), 0u);
  EXPECT_EQ(EventsOf("acme", "R1").size(), 1u);
  EXPECT_EQ(GetWatch("acme", "R1").state, WatchState::kFollowing);
  EXPECT_EQ(poller_->counters().events, 1u);
}

TEST_F(PollerTest, AnAnsweredWatchIsNotPolledAgainBeforeItsDecisionIsCommitted) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  EXPECT_EQ(Pump(), 1u);
  RunHttp();
  ASSERT_EQ(poller_->unflushed(), 1u);

  // The store still has R1 due on its old slot; a fresh read of it must not poll R1 again.
  poller_->ForgetDueBatch();
  EXPECT_EQ(Pump(), 0u);
  EXPECT_EQ(server_.requests().size(), 1u);

  Flush();
  EXPECT_EQ(GetWatch("acme", "R1").poll_count, 1u);
}

TEST_F(PollerTest, ForgettingTheDueBatchReadsTheStoreAgain) {
  AddCompany("acme", "tok-acme");
  Poller::Options options;
  options.max_in_flight = 1;
  MakePoller(options);
  Watch("acme", Refs("R", 3));
  EXPECT_EQ(Pump(), 1u);  // two more wait in the batch
  RunHttp();
  Flush();

  // The CLI changed the store: the next pass plans from a fresh read, not from the old batch.
  poller_->ForgetDueBatch();
  Watch("acme", {"LATE"});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 4u);
  EXPECT_EQ(GetWatch("acme", "LATE").poll_count, 1u);
}

TEST_F(PollerTest, MaybeFlushGroupsAnswersWhilePollsAreInFlight) {
  AddCompany("acme", "tok-acme");
  Poller::Options options;
  options.commit_delay_ms = 50;
  MakePoller(options);
  Watch("acme", {"R1"});
  EXPECT_EQ(Pump(), 1u);
  RunHttp();
  // Another poll goes out before the first answer is committed.
  Watch("acme", {"R2"});
  poller_->ForgetDueBatch();
  EXPECT_EQ(Pump(), 1u);

  ASSERT_TRUE(poller_->MaybeFlush().ok());
  EXPECT_EQ(poller_->unflushed(), 1u) << "committed before the delay with a poll in flight";
  EXPECT_EQ(GetWatch("acme", "R1").poll_count, 0u);
  Result<std::optional<int64_t>> wake = poller_->NextWakeMs();
  ASSERT_TRUE(wake.ok());
  ASSERT_TRUE(wake->has_value());
  EXPECT_LE(**wake, clock_.WallMs() + 50) << "the loop must wake up to commit";

  clock_.Advance(50);
  ASSERT_TRUE(poller_->MaybeFlush().ok());
  EXPECT_EQ(poller_->unflushed(), 0u);
  EXPECT_EQ(GetWatch("acme", "R1").poll_count, 1u);

  // With nothing left in flight the last answers are committed at once.
  RunHttp();
  ASSERT_TRUE(poller_->MaybeFlush().ok());
  EXPECT_EQ(GetWatch("acme", "R2").poll_count, 1u);
}

TEST_F(PollerTest, NotDueWatchIsNotPolled) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"}, /*first_poll_in_ms=*/2 * kSecond);

  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(2 * kSecond - 1);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_TRUE(server_.requests().empty());

  clock_.Advance(1);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(PollerTest, NeverExceedsTheTokenShareOfTheAnnouncedLimit) {
  // The API announces a limit of 10 per minute and counts down what remains in its window.
  std::atomic<int> served_in_window = 0;
  SetAnswer([&](const LoopbackServer::Request&) {
    int remaining = std::max(0, 10 - ++served_in_window);
    LoopbackServer::Reply reply = Autorizado();
    reply.headers.emplace_back("Rate-Limit-Limit", "10");
    reply.headers.emplace_back("Rate-Limit-Remaining", std::to_string(remaining));
    return reply;
  });
  AddCompany("acme", "tok-acme");
  Poller::Options options;
  options.budget_share = 0.8;
  // The limit is learnt from the first answers; more polls in flight before the first answer
  // than the share allows would overshoot before anyone could know.
  options.max_in_flight = 4;
  MakePoller(options);
  Watch("acme", Refs("R", 50));

  const size_t first_window = TurnUntilQuiet();

  EXPECT_LE(first_window, 8u);  // floor(0.8 * 10)
  EXPECT_GT(first_window, 0u);
  EXPECT_EQ(server_.requests().size(), first_window);

  clock_.Advance(60 * kSecond);
  served_in_window = 0;
  const size_t second_window = TurnUntilQuiet();

  EXPECT_GT(second_window, 0u);
  EXPECT_LE(second_window, 8u);
  EXPECT_EQ(server_.requests().size(), first_window + second_window);
}

// Every answer says nothing remains of the API's window for a minute: the ERP is spending the
// whole limit. The poller has one poll in flight at most and `floor` requests per minute.
class ErpSpendsTheWholeLimitTest : public PollerTest {
 protected:
  void Start(int64_t floor) {
    SetAnswer([&](const LoopbackServer::Request&) {
      LoopbackServer::Reply reply = Autorizado();
      reply.headers.emplace_back("Rate-Limit-Limit", "100");
      reply.headers.emplace_back("Rate-Limit-Remaining", "0");
      reply.headers.emplace_back("Rate-Limit-Reset", "60");
      return reply;
    });
    AddCompany("acme", "tok-acme");
    Poller::Options options;
    options.max_in_flight = 1;
    options.budget_floor = floor;
    MakePoller(options);
    Watch("acme", Refs("R", 20));
  }
};

TEST_F(ErpSpendsTheWholeLimitTest, TheFloorKeepsPolling) {
  Start(/*floor=*/3);
  // The first poll learns that nothing remains; the floor allows two more in that minute.
  EXPECT_EQ(TurnUntilQuiet(), 3u);
  clock_.Advance(30 * kSecond);
  EXPECT_EQ(TurnUntilQuiet(), 0u);
  clock_.Advance(31 * kSecond);
  EXPECT_EQ(TurnUntilQuiet(), 3u);
}

TEST_F(ErpSpendsTheWholeLimitTest, WithoutAFloorPollingWaitsForTheWindowToReset) {
  Start(/*floor=*/0);
  EXPECT_EQ(TurnUntilQuiet(), 1u);
  clock_.Advance(59 * kSecond);
  EXPECT_EQ(TurnUntilQuiet(), 0u);
}

TEST_F(PollerTest, A429PausesTheTokenUntilReset) {
  bool refused = false;
  SetAnswer([&](const LoopbackServer::Request&) {
    if (!refused) {
      refused = true;
      return LoopbackServer::Reply{
          .status = 429, .headers = {{"Rate-Limit-Reset", "30"}}, .body = "slow down"};
    }
    return Autorizado();
  });
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  Watch("acme", {"R2"}, /*first_poll_in_ms=*/10 * kSecond);
  const int64_t start = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);

  EXPECT_EQ(poller_->counters().rate_limited, 1u);
  Result<TokenRecord> token = store_->GetToken(SecretHandle("tok-acme"));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_GT(token->paused_until_ms, clock_.WallMs());
  EXPECT_EQ(token->paused_until_ms, start + 30 * kSecond);
  EXPECT_TRUE(EventsOf("acme", "R1").empty());

  // Both watches are due long before the pause ends; neither is polled.
  clock_.Advance(10 * kSecond);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(20 * kSecond - 1);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 1u);

  // A restarted poller obeys the stored pause too.
  MakePoller();
  EXPECT_EQ(Turn(), 0u);

  clock_.Advance(2);
  EXPECT_EQ(Turn(), 2u);
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_EQ(EventsOf("acme", "R1").size(), 1u);
  EXPECT_EQ(EventsOf("acme", "R2").size(), 1u);
}

TEST_F(PollerTest, TokensDoNotShareBudgets) {
  // Each token has its own limit of 10 at the API, counted separately.
  std::mutex counts_mu;
  std::map<std::string, int> served;
  SetAnswer([&](const LoopbackServer::Request& request) {
    int count = 0;
    {
      std::lock_guard lock(counts_mu);
      count = ++served[request.Header("authorization")];
    }
    LoopbackServer::Reply reply = Autorizado();
    reply.headers.emplace_back("Rate-Limit-Limit", "10");
    reply.headers.emplace_back("Rate-Limit-Remaining", std::to_string(std::max(0, 10 - count)));
    return reply;
  });
  AddCompany("alfa", "tok-alfa");
  AddCompany("beta", "tok-beta");
  Poller::Options options;
  // One poll at a time, so each answer's Rate-Limit-Remaining is exact and the share is met.
  options.max_in_flight = 1;
  MakePoller(options);
  Watch("alfa", Refs("A", 20));
  Watch("beta", Refs("B", 20));

  TurnUntilQuiet();

  // Each token spends its own share: one token's exhausted budget does not stop the other.
  EXPECT_EQ(RequestsWith("tok-alfa"), 8u);
  EXPECT_EQ(RequestsWith("tok-beta"), 8u);
}

TEST_F(PollerTest, ServerErrorsBackOffWithoutChangingState) {
  SetAnswer([](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = 500, .body = "<html>Internal Server Error</html>"};
  });
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});

  EXPECT_EQ(Turn(), 1u);

  const WatchRecord first = GetWatch("acme", "R1");
  EXPECT_EQ(first.state, WatchState::kPending);
  EXPECT_EQ(first.error_streak, 1u);
  EXPECT_EQ(first.last_status, "");
  const int64_t first_delay = first.next_poll_ms - clock_.WallMs();
  EXPECT_GT(first_delay, 0);
  EXPECT_TRUE(EventsOf("acme", "R1").empty());
  EXPECT_EQ(poller_->counters().failed, 1u);

  // Not polled again before the backoff ends; then the backoff grows.
  clock_.Advance(first_delay - 1);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(1);
  EXPECT_EQ(Turn(), 1u);

  const WatchRecord second = GetWatch("acme", "R1");
  EXPECT_EQ(second.state, WatchState::kPending);
  EXPECT_EQ(second.error_streak, 2u);
  EXPECT_GT(second.next_poll_ms - clock_.WallMs(), first_delay);
  EXPECT_TRUE(EventsOf("acme", "R1").empty());
  Result<StoreCounts> counts = store_->Counts();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->events_pending, 0u);
}

TEST_F(PollerTest, RefusedTokenIsReportedOncePerPause) {
  SetAnswer([](const LoopbackServer::Request& request) {
    if (request.Header("authorization") == BasicAuth("tok-acme")) {
      return LoopbackServer::Reply{.status = 403, .body = R"({"codigo":"permissao_negada"})"};
    }
    return Autorizado();
  });
  AddCompany("acme", "tok-acme");
  AddCompany("beta", "tok-beta");
  std::vector<std::pair<std::string, int>> reported;
  Poller::Options options;
  options.on_token_blocked = [&](const std::string& company, int http_status) {
    reported.emplace_back(company, http_status);
  };
  MakePoller(options);
  Watch("acme", {"R1", "R2"});
  Watch("beta", {"R1"});

  Turn();
  ASSERT_EQ(RequestsWith("tok-acme"), 2u);
  EXPECT_EQ(reported, (std::vector<std::pair<std::string, int>>{{"acme", 403}}))
      << "two refused polls in one pause are one report; beta is fine";
  clock_.Advance(5 * kMinute + 1);
  Turn();
  EXPECT_EQ(reported.size(), 2u) << "the next pause is reported again";
}

TEST_F(PollerTest, UnauthorizedPausesTheCompany) {
  SetAnswer([](const LoopbackServer::Request& request) {
    if (request.Header("authorization") == BasicAuth("tok-acme")) {
      return LoopbackServer::Reply{.status = 401, .body = R"({"codigo":"nao_autorizado"})"};
    }
    return Autorizado();
  });
  AddCompany("acme", "tok-acme");
  AddCompany("beta", "tok-beta");
  MakePoller();
  Watch("acme", {"R1"});
  Watch("acme", {"R2"}, /*first_poll_in_ms=*/kMinute);
  Watch("beta", {"R1"});
  Watch("beta", {"R2"}, /*first_poll_in_ms=*/kMinute);
  const int64_t start = clock_.WallMs();

  EXPECT_EQ(Turn(), 2u);
  EXPECT_EQ(RequestsWith("tok-acme"), 1u);
  EXPECT_EQ(RequestsWith("tok-beta"), 1u);
  EXPECT_EQ(GetWatch("acme", "R1").state, WatchState::kPending);
  EXPECT_TRUE(EventsOf("acme", "R1").empty());

  // While acme is paused its due watch waits; beta's is polled.
  clock_.Advance(kMinute);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(RequestsWith("tok-acme"), 1u);
  EXPECT_EQ(RequestsWith("tok-beta"), 2u);
  EXPECT_GE(GetWatch("acme", "R2").next_poll_ms, start + 5 * kMinute);

  // After the pause, acme is tried again.
  clock_.Advance(4 * kMinute + 1);
  EXPECT_EQ(Turn(), 2u);
  EXPECT_EQ(RequestsWith("tok-acme"), 3u);
}

TEST_F(PollerTest, CreditsTakenForOtherRequestsLeaveThePollsLess) {
  AddCompany("acme", "tok-acme");
  AddCompany("beta", "tok-beta");
  Poller::Options options;
  options.budget_share = 0.05;  // 5 of the default 100 per minute
  Poller& poller = MakePoller(options);
  Watch("acme", Refs("R", 10));

  HttpResponse answered;
  answered.status = 200;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(poller.TryAcquireCredit("acme"));
    poller.OnCreditResponse("acme", answered);
  }
  EXPECT_EQ(TurnUntilQuiet(), 2u);
  EXPECT_FALSE(poller.TryAcquireCredit("acme"));
  EXPECT_GT(poller.NextCreditWallMs("acme"), clock_.WallMs());
  EXPECT_FALSE(poller.TryAcquireCredit("nobody"));
  // Another token's budget is untouched.
  EXPECT_TRUE(poller.TryAcquireCredit("beta"));
  EXPECT_EQ(poller.NextCreditWallMs("beta"), clock_.WallMs());
}

TEST_F(PollerTest, A429AnsweredToAnotherRequestPausesThePolls) {
  AddCompany("acme", "tok-acme");
  Poller& poller = MakePoller();
  Watch("acme", {"R1"});
  ASSERT_TRUE(poller.TryAcquireCredit("acme"));
  HttpResponse refused;
  refused.status = 429;
  refused.headers = {{"rate-limit-reset", "30"}};
  poller.OnCreditResponse("acme", refused);

  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(poller.NextCreditWallMs("acme"), clock_.WallMs() + 30 * kSecond);
  clock_.Advance(30 * kSecond);
  EXPECT_EQ(Turn(), 1u);
}

TEST_F(PollerTest, WatchOfCompanyWithoutConfigIsDeferred) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("gone", {"G1"});
  Watch("acme", {"R1"});
  const int64_t now = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);

  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v2/nfe/R1");
  const WatchRecord deferred = GetWatch("gone", "G1");
  EXPECT_EQ(deferred.next_poll_ms, now + 10 * kMinute);
  EXPECT_EQ(deferred.state, WatchState::kPending);
  EXPECT_EQ(deferred.poll_count, 0u);
  EXPECT_TRUE(EventsOf("gone", "G1").empty());
}

// The consult body of a document still being processed.
LoopbackServer::Reply Processando() {
  return LoopbackServer::Reply{.status = 200,
                               .headers = {{"Content-Type", "application/json"}},
                               .body = R"({"ref":"R1","status":"processando_autorizacao"})"};
}

TEST_F(PollerTest, LearnsHowLongDocumentsTakeAndKeepsItAcrossRestarts) {
  // Every document is still processing until 20 s after the test starts, then authorised.
  const int64_t finish_at = clock_.WallMs() + 20 * kSecond;
  SetAnswer([&](const LoopbackServer::Request&) {
    return clock_.WallMs() < finish_at ? Processando() : Autorizado();
  });
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", Refs("R", 10));
  for (int step = 0; step < 120 && EventsOf("acme", "R9").empty(); ++step) {
    Turn();
    clock_.Advance(kSecond);
  }
  ASSERT_EQ(EventsOf("acme", "R9").size(), 1u);
  const CompletionModel& learned = poller_->learner().Model("acme", DocType::kNfe);
  EXPECT_EQ(learned.observations(), 10u);
  ASSERT_TRUE(poller_->Checkpoint().ok());

  Result<std::vector<ModelRecord>> models = store_->Models();
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ((*models)[0].company, "acme");
  EXPECT_EQ((*models)[0].type, DocType::kNfe);

  const int64_t learned_median = learned.Quantile(0.5);
  EXPECT_GE(learned_median, 10 * kSecond);
  EXPECT_LE(learned_median, 40 * kSecond);
  MakePoller();
  EXPECT_EQ(poller_->learner().Model("acme", DocType::kNfe).observations(), 10u);
  EXPECT_EQ(poller_->learner().Model("acme", DocType::kNfe).Quantile(0.5), learned_median);
}

TEST_F(PollerTest, DemandBeyondTheBudgetRaisesTheCompanysPressure) {
  // A limit of 10 per minute against 300 documents that never finish.
  SetAnswer([&](const LoopbackServer::Request&) {
    LoopbackServer::Reply reply = Processando();
    reply.headers.emplace_back("Rate-Limit-Limit", "10");
    return reply;
  });
  AddCompany("acme", "tok-acme");
  Poller::Options options;
  options.max_in_flight = 4;
  MakePoller(options);
  Watch("acme", Refs("R", 300));
  ASSERT_DOUBLE_EQ(poller_->learner().Pressure("acme"), 1.0);

  for (int step = 0; step < 60; ++step) {
    Turn();
    clock_.Advance(5 * kSecond);
  }

  EXPECT_GT(poller_->learner().Pressure("acme"), 1.5);
  // The pressure never bought a 429: the budget still held.
  EXPECT_EQ(poller_->counters().rate_limited, 0u);
  EXPECT_LE(server_.requests().size(), 8u * 5 + 8u);
}

}  // namespace
}  // namespace gatilho

namespace gatilho {
namespace {

// --- What the proxy hands the loop --------------------------------------------------------------

SyncAnswer ProxyAnswer(const std::string& ref, SyncAnswerKind kind, int status, std::string body) {
  return SyncAnswer{"acme", DocType::kNfe, ref, kind, status, std::move(body)};
}

TEST_F(PollerTest, ASynchronousAnswerIsTheEventAPollWouldMakeWithoutAPoll) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R2"});

  // R1 was never watched: the answer registers it.
  ASSERT_TRUE(
      poller_->OnSyncAnswer(ProxyAnswer("R1", SyncAnswerKind::kEmission, 201, kAutorizado)).ok());
  Flush();
  EXPECT_EQ(server_.requests().size(), 0u);
  std::vector<EventRecord> events = EventsOf("acme", "R1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "autorizado");
  EXPECT_EQ(events[0].payload, kAutorizado);
  EXPECT_EQ(GetWatch("acme", "R1").state, WatchState::kFollowing);

  // R2 is found by a poll of the same answer: both ids come from the same rule, so a poll
  // after a synchronous answer makes no second event (the outbox keeps one per id).
  EXPECT_EQ(Turn(), 1u);
  std::vector<EventRecord> polled = EventsOf("acme", "R2");
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(events[0].id, EventId(WatchKey{"acme", DocType::kNfe, "R1"}, 1, "autorizado", ""));
  EXPECT_EQ(polled[0].id, EventId(WatchKey{"acme", DocType::kNfe, "R2"}, 1, "autorizado", ""));
}

TEST_F(PollerTest, ACancellationAnswerIsAnEventAtOnce) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  EXPECT_EQ(Turn(), 1u);
  ASSERT_EQ(EventsOf("acme", "R1").size(), 1u);

  const std::string cancelled = R"({"status":"cancelado","status_sefaz":"135"})";
  ASSERT_TRUE(
      poller_->OnSyncAnswer(ProxyAnswer("R1", SyncAnswerKind::kCancellation, 200, cancelled)).ok());
  Flush();
  std::vector<EventRecord> events = EventsOf("acme", "R1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, "cancelado");
  EXPECT_EQ(events[1].payload, cancelled);
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(GetWatch("acme", "R1").last_status, "cancelado");

  // cancelado is final: nothing is left to poll for.
  EXPECT_EQ(GetWatch("acme", "R1").state, WatchState::kDone);
  EXPECT_EQ(Turn(), 0u);
}

TEST_F(PollerTest, AnAnswerForAWatchBeingPolledWaitsForThatPoll) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  EXPECT_EQ(Pump(), 1u);
  ASSERT_TRUE(poller_
                  ->OnSyncAnswer(ProxyAnswer("R1", SyncAnswerKind::kCancellation, 200,
                                             R"({"status":"cancelado"})"))
                  .ok());
  RunHttp();
  Flush();  // the poll's autorizado, then the answer decided on top of it and committed too
  std::vector<EventRecord> events = EventsOf("acme", "R1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "autorizado");
  EXPECT_EQ(events[1].type, "cancelado");
}

TEST_F(PollerTest, TheErpSpendingThroughTheProxyHoldsPollingBackAndIsCounted) {
  AddCompany("acme", "tok-acme");
  Poller::Options options;
  options.budget_floor = 0;
  MakePoller(options);
  Watch("acme", {"R1", "R2"});

  // 20 left of 100: exactly the ERP's reserve (share 0.8), so gatilho sends nothing.
  poller_->OnErpRequest(ErpRequestSeen{"acme", 201, 100, 20, 50});
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 0u);
  EXPECT_EQ(poller_->erp_requests().at(SecretHandle("tok-acme")), 1);
  ASSERT_TRUE(poller_->Checkpoint().ok());
  Result<TokenRecord> token = store_->GetToken(SecretHandle("tok-acme"));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->erp_requests_total, 1);
  EXPECT_EQ(token->remaining, 20);

  // A company with no config file teaches nothing.
  poller_->OnErpRequest(ErpRequestSeen{"ghost", 200, 100, 0, 50});
  EXPECT_EQ(poller_->erp_requests().size(), 1u);
}

TEST_F(PollerTest, A429SeenThroughTheProxyPausesPollingAndIsPersisted) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  const int64_t start = clock_.WallMs();

  poller_->OnErpRequest(ErpRequestSeen{"acme", 429, 100, 0, 30});
  EXPECT_EQ(Turn(), 0u);
  Result<TokenRecord> token = store_->GetToken(SecretHandle("tok-acme"));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->paused_until_ms, start + 30 * kSecond);

  clock_.Advance(30 * kSecond);
  EXPECT_EQ(Turn(), 1u);
}

// --- Wall clock steps ---------------------------------------------------------------------

constexpr int64_t kDay = 24 * 60 * kMinute;

LoopbackServer::Reply Processing() {
  return LoopbackServer::Reply{.status = 200,
                               .headers = {{"Content-Type", "application/json"}},
                               .body = R"({"ref":"R1","status":"processando_autorizacao"})"};
}

TEST_F(PollerTest, WallClockSetBackADayKeepsEachPollsWait) {
  SetAnswer([](const LoopbackServer::Request&) { return Processing(); });
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"});
  ASSERT_EQ(Turn(), 1u);
  const WatchRecord before = GetWatch("acme", "R1");
  const int64_t wait = before.next_poll_ms - clock_.WallMs();
  ASSERT_GT(wait, 0);
  const int64_t age = clock_.WallMs() - before.cycle_started_ms;

  clock_.JumpWall(-kDay);
  // The step is noticed on the next turn; nothing is due yet, as before the step.
  EXPECT_EQ(Turn(), 0u);
  const WatchRecord shifted = GetWatch("acme", "R1");
  EXPECT_EQ(shifted.next_poll_ms - clock_.WallMs(), wait);
  EXPECT_EQ(clock_.WallMs() - shifted.cycle_started_ms, age);

  // Without the shift the poll would wait a day; it goes out after the wait it had.
  clock_.Advance(wait - 1);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(1);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(GetWatch("acme", "R1").poll_count, 2u);
}

TEST_F(PollerTest, WallClockSetForwardADayBringsNoBurstOfPolls) {
  SetAnswer([](const LoopbackServer::Request&) { return Processing(); });
  AddCompany("acme", "tok-acme");
  MakePoller();
  // Ten watches whose first polls are spread over the coming hour.
  for (int i = 0; i < 10; ++i)
    Watch("acme", {"R" + std::to_string(i)}, (i + 1) * 6 * kMinute);
  EXPECT_EQ(Turn(), 0u);

  clock_.JumpWall(kDay);
  // Each watch still waits what it had left: none is due at once.
  EXPECT_EQ(Turn(), 0u);
  EXPECT_TRUE(server_.requests().empty());
  auto polled = [&](int i) {
    const std::string target = "/v2/nfe/R" + std::to_string(i);
    for (const LoopbackServer::Request& request : server_.requests()) {
      if (request.target == target) return true;
    }
    return false;
  };
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(6 * kMinute);
    Turn();
    EXPECT_TRUE(polled(i)) << "R" << i << " after " << (i + 1) * 6 << " minutes";
    if (i + 1 < 10) {
      EXPECT_FALSE(polled(i + 1)) << "R" << i + 1 << " before its time";
    }
  }
  // A document a day "older" on the wall clock is not timed out by the step.
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(EventsOf("acme", "R" + std::to_string(i)).empty()) << i;
}

TEST_F(PollerTest, TimesAfterAWallStepFollowTheNewWallClock) {
  AddCompany("acme", "tok-acme");
  MakePoller();
  Watch("acme", {"R1"}, kMinute);
  clock_.JumpWall(-kDay);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(kMinute);
  EXPECT_EQ(Turn(), 1u);

  // What happened is stamped with the wall time it happened at, the stepped one.
  std::vector<EventRecord> events = EventsOf("acme", "R1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].created_ms, clock_.WallMs());
  EXPECT_EQ(GetWatch("acme", "R1").last_polled_ms, clock_.WallMs());
}

}  // namespace
}  // namespace gatilho
