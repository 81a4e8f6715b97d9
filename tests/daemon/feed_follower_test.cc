#include "daemon/feed_follower.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "support/test_parts.h"

namespace gatilho {
namespace {

using ::gatilho::testing::LoopbackServer;
using ::gatilho::testing::TempDir;

constexpr int64_t kMinute = 60 * 1000;
constexpr char kCnpj[] = "44555666000177";

// The versao asked for in `target`, or -1 when absent.
int64_t VersaoOf(const std::string& target) {
  size_t at = target.find("versao=");
  return at == std::string::npos ? -1 : std::stoll(target.substr(at + 7));
}

class FeedFollowerTest : public ::testing::Test {
 protected:
  FeedFollowerTest()
      : server_([this](const LoopbackServer::Request& request) { return Answer(request); }) {}

  void SetUp() override {
    ASSERT_TRUE(testing::OpenStoreAndClient(dir_.Sub("data"), &store_, &http_));
  }

  void TearDown() override {
    // The follower must go before the poller it takes credits from.
    follower_.reset();
  }

  // Adds `count` documents to `path`'s feed (e.g. "nfes_recebidas"); each gets the next versao.
  void AddDocuments(const std::string& path, int count,
                    const std::string& situacao = "autorizada") {
    std::lock_guard lock(mu_);
    for (int i = 0; i < count; ++i) {
      ++last_versao_;
      documents_[path][last_versao_] = "K" + std::to_string(last_versao_) + "|" + situacao;
    }
  }

  // Gives document `chave` of `path` a new versao and situacao, as a cancellation does.
  void ChangeDocument(const std::string& path, const std::string& chave,
                      const std::string& situacao) {
    std::lock_guard lock(mu_);
    auto& feed = documents_[path];
    for (auto it = feed.begin(); it != feed.end(); ++it) {
      if (it->second.substr(0, it->second.find('|')) == chave) {
        feed.erase(it);
        break;
      }
    }
    feed[++last_versao_] = chave + "|" + situacao;
  }

  void SetStatus(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                 std::string body = "") {
    std::lock_guard lock(mu_);
    forced_status_ = status;
    forced_headers_ = std::move(headers);
    forced_body_ = std::move(body);
  }

  LoopbackServer::Reply Answer(const LoopbackServer::Request& request) {
    std::lock_guard lock(mu_);
    if (forced_status_ != 0) {
      return LoopbackServer::Reply{
          .status = forced_status_, .headers = forced_headers_, .body = forced_body_};
    }
    const std::string path = request.target.substr(4, request.target.find('?') - 4);
    const int64_t after = VersaoOf(request.target);
    std::string body = "[";
    int64_t total = 0;
    int64_t max_version = after;
    const std::string key = path == "nfes_recebidas" ? "chave_nfe" : "chave";
    const std::string state = path == "nfses_recebidas" ? "status" : "situacao";
    for (auto it = documents_[path].upper_bound(after); it != documents_[path].end(); ++it) {
      ++total;
      if (total > 100) continue;
      const size_t bar = it->second.find('|');
      if (body.size() > 1) body += ",";
      body += "{\"" + key + "\":\"" + it->second.substr(0, bar) + "\",\"" + state + "\":\"" +
              it->second.substr(bar + 1) + "\",\"versao\":" + std::to_string(it->first) + "}";
      max_version = it->first;
    }
    body += "]";
    return LoopbackServer::Reply{.status = 200,
                                 .headers = {{"X-Total-Count", std::to_string(total)},
                                             {"X-Max-Version", std::to_string(max_version)},
                                             {"Rate-Limit-Limit", "100"}},
                                 .body = body};
  }

  void AddCompany(const std::string& id, std::set<std::string> feeds, int interval_minutes = 30) {
    CompanyConfig company;
    company.id = id;
    company.cnpj = kCnpj;
    company.token = "tok-" + id;
    company.base_url = server_.Url("");
    company.environment = "producao";
    company.received.feeds = std::move(feeds);
    company.received.interval_minutes = interval_minutes;
    company.source_file = "/etc/gatilho/companies/" + id + ".conf";
    companies_[id] = company;
  }

  FeedFollower& Make(Poller::Options poller_options = {}) {
    follower_.reset();
    poller_ = std::make_unique<Poller>(*store_, *http_, clock_, companies_, PollPolicy::Defaults(),
                                       poller_options);
    follower_ = std::make_unique<FeedFollower>(*store_, *http_, clock_, companies_, *poller_,
                                               FeedFollower::Options{});
    return *follower_;
  }

  // Starts the fetches that are due and runs them to completion; returns how many went out.
  size_t Turn() {
    Status s = follower_->Pump();
    EXPECT_TRUE(s.ok()) << s.ToString();
    size_t started = http_->InFlight();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (http_->InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
      EXPECT_TRUE(http_->Poll(50, nullptr).ok());
    }
    EXPECT_EQ(follower_->in_flight(), 0u);
    return started;
  }

  // Turns until one starts nothing, without moving the clock; returns the fetches in all.
  size_t TurnUntilQuiet() {
    size_t total = 0;
    for (int i = 0; i < 100; ++i) {
      size_t started = Turn();
      if (started == 0) return total;
      total += started;
    }
    ADD_FAILURE() << "the follower never stopped fetching";
    return total;
  }

  std::vector<EventRecord> Events() {
    EventQuery query;
    query.limit = 100000;
    Result<std::vector<EventRecord>> events = store_->ListEvents(query);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<EventRecord>{};
  }

  int64_t Cursor(const std::string& feed) {
    Result<std::optional<FeedCursor>> cursor = store_->GetCursor({kCnpj, feed, "producao"});
    EXPECT_TRUE(cursor.ok());
    return cursor.ok() && cursor->has_value() ? (*cursor)->versao : -1;
  }

  std::vector<std::string> Targets() const {
    std::vector<std::string> out;
    for (const LoopbackServer::Request& request : server_.requests())
      out.push_back(request.target);
    return out;
  }

  std::mutex mu_;
  std::map<std::string, std::map<int64_t, std::string>> documents_;  // GUARDED_BY(mu_)
  int64_t last_versao_ = 0;                                          // GUARDED_BY(mu_)
  int forced_status_ = 0;                                            // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, std::string>> forced_headers_;  // GUARDED_BY(mu_)
  std::string forced_body_;                                          // GUARDED_BY(mu_)
  LoopbackServer server_;
  TempDir dir_;
  VirtualClock clock_;
  std::unique_ptr<Store> store_;
  std::map<std::string, CompanyConfig> companies_;
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<FeedFollower> follower_;
  // Declared last so it is destroyed first: the follower must outlive its transfers.
  std::unique_ptr<HttpClient> http_;
};

TEST_F(FeedFollowerTest, FirstFetchStartsFromZeroAndPagesWhileFull) {
  AddDocuments("nfes_recebidas", 250);
  AddCompany("acme", {"nfe"});
  Make();

  EXPECT_EQ(TurnUntilQuiet(), 3u);

  const std::string base = "/v2/nfes_recebidas?cnpj=" + std::string(kCnpj) + "&versao=";
  EXPECT_EQ(Targets(), (std::vector<std::string>{base + "0", base + "100", base + "200"}));
  std::vector<EventRecord> events = Events();
  ASSERT_EQ(events.size(), 250u);
  EXPECT_EQ(events[0].type, "nfe_recebida");
  EXPECT_EQ(events[0].key, (WatchKey{"acme", DocType::kNfe, "recebida:K1"}));
  EXPECT_EQ(events[0].payload, R"({"chave_nfe":"K1","situacao":"autorizada","versao":1})");
  EXPECT_EQ(Cursor("nfe"), 250);
  EXPECT_EQ(follower_->counters().events, 250u);
  // Paged to the end: the next fetch waits for the interval.
  EXPECT_EQ(follower_->NextWakeMs(), clock_.WallMs() + 30 * kMinute);
}

TEST_F(FeedFollowerTest, EachFeedHasItsOwnPathKeyAndEventType) {
  AddDocuments("ctes_recebidas", 1);
  AddDocuments("nfses_recebidas", 1, "cancelado");
  AddCompany("acme", {"cte", "nfse"});
  Make();

  EXPECT_EQ(TurnUntilQuiet(), 2u);

  std::vector<EventRecord> events = Events();
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, WatchKey> keys;
  for (const EventRecord& event : events)
    keys[event.type] = event.key;
  EXPECT_EQ(keys["cte_recebida"], (WatchKey{"acme", DocType::kCte, "recebida:K1"}));
  EXPECT_EQ(keys["nfse_recebida"], (WatchKey{"acme", DocType::kNfse, "recebida:K2"}));
  EXPECT_EQ(Cursor("cte"), 1);
  EXPECT_EQ(Cursor("nfse"), 2);
}

TEST_F(FeedFollowerTest, AChangedDocumentIsASecondEventAfterTheInterval) {
  AddDocuments("nfes_recebidas", 3);
  AddCompany("acme", {"nfe"}, /*interval_minutes=*/5);
  Make();
  ASSERT_EQ(TurnUntilQuiet(), 1u);

  ChangeDocument("nfes_recebidas", "K2", "cancelada");
  clock_.Advance(5 * kMinute - 1);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(1);
  EXPECT_EQ(Turn(), 1u);

  EXPECT_EQ(Targets().back(), "/v2/nfes_recebidas?cnpj=" + std::string(kCnpj) + "&versao=3");
  std::vector<EventRecord> events = Events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3].key, events[1].key);
  EXPECT_NE(events[3].id, events[1].id);
  EXPECT_EQ(events[3].payload, R"({"chave_nfe":"K2","situacao":"cancelada","versao":4})");
  EXPECT_EQ(Cursor("nfe"), 4);
}

TEST_F(FeedFollowerTest, ARestartResumesFromTheCursorWithoutFetchingAtOnce) {
  AddDocuments("nfes_recebidas", 2);
  AddCompany("acme", {"nfe"}, /*interval_minutes=*/10);
  Make();
  ASSERT_EQ(TurnUntilQuiet(), 1u);
  const int64_t fetched = clock_.WallMs();

  clock_.Advance(4 * kMinute);
  Make();  // a restart: a new follower (and poller) on the same store
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(follower_->NextWakeMs(), fetched + 10 * kMinute);

  AddDocuments("nfes_recebidas", 1);
  clock_.Advance(6 * kMinute);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Targets().back(), "/v2/nfes_recebidas?cnpj=" + std::string(kCnpj) + "&versao=2");
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(FeedFollowerTest, FetchAllNowMakesEveryFeedDueEvenBeforeTheCursorsAreRead) {
  AddCompany("acme", {"nfe", "cte"});
  Make();
  ASSERT_EQ(TurnUntilQuiet(), 2u);

  Make();
  follower_->FetchAllNow();
  EXPECT_EQ(Turn(), 2u);
  EXPECT_EQ(TurnUntilQuiet(), 0u);
}

TEST_F(FeedFollowerTest, FailedFetchesKeepTheCursorAndBackOff) {
  AddDocuments("nfes_recebidas", 5);
  AddCompany("acme", {"nfe"});
  Make();

  SetStatus(503, {{"Content-Type", "text/html"}}, "<html>manutenção</html>");
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Cursor("nfe"), -1);
  EXPECT_EQ(follower_->NextWakeMs(), clock_.WallMs() + kMinute);

  clock_.Advance(kMinute);
  SetStatus(200, {}, R"([{"chave_nfe":"K1","versao":1},{"chave_nfe":"K2")");
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Cursor("nfe"), -1);
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(follower_->NextWakeMs(), clock_.WallMs() + 2 * kMinute);  // doubled
  EXPECT_EQ(follower_->counters().failed, 2u);

  clock_.Advance(2 * kMinute);
  SetStatus(0);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Cursor("nfe"), 5);
  EXPECT_EQ(Events().size(), 5u);
}

TEST_F(FeedFollowerTest, ARefusedTokenPausesTheFeed) {
  AddCompany("acme", {"nfe"});
  Make();
  SetStatus(401, {}, R"({"codigo":"nao_autorizado"})");
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(follower_->NextWakeMs(), clock_.WallMs() + 30 * kMinute);
  clock_.Advance(29 * kMinute);
  EXPECT_EQ(Turn(), 0u);
}

TEST_F(FeedFollowerTest, A429PausesTheTokenForThePollsToo) {
  AddCompany("acme", {"nfe"});
  Make();
  SetStatus(429, {{"Rate-Limit-Reset", "30"}}, R"({"codigo":"limite_excedido"})");
  EXPECT_EQ(Turn(), 1u);

  // The token's budget, shared with the polls, holds every credit back until the reset.
  EXPECT_EQ(poller_->NextCreditWallMs("acme"), clock_.WallMs() + 30 * 1000);
  EXPECT_EQ(follower_->NextWakeMs(), clock_.WallMs() + 30 * 1000);
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(30 * 1000);
  SetStatus(0);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Cursor("nfe"), 0);
}

TEST_F(FeedFollowerTest, FeedsSpendTheTokensShareAndNoMore) {
  AddDocuments("nfes_recebidas", 1000);
  AddCompany("acme", {"nfe"});
  Poller::Options options;
  options.budget_share = 0.05;  // 5 of the token's 100 credits per minute
  Make(options);

  EXPECT_EQ(TurnUntilQuiet(), 5u);
  EXPECT_EQ(Cursor("nfe"), 500);
  EXPECT_GT(follower_->NextWakeMs().value_or(0), clock_.WallMs());

  clock_.Advance(kMinute + 1);
  EXPECT_EQ(TurnUntilQuiet(), 5u);
  EXPECT_EQ(Cursor("nfe"), 1000);
  EXPECT_EQ(Events().size(), 1000u);
}

TEST_F(FeedFollowerTest, TwoCompaniesOfOneCnpjDoNotShareAFeed) {
  AddDocuments("nfes_recebidas", 2);
  AddCompany("acme", {"nfe"});
  AddCompany("acme-filial", {"nfe", "cte"});  // the same CNPJ (kCnpj) and API
  Make();

  // Sharing the API's one cursor, each would miss what the other fetched: acme keeps nfe.
  EXPECT_EQ(follower_->followed(), 2u);
  EXPECT_EQ(TurnUntilQuiet(), 2u);
  for (const EventRecord& event : Events())
    EXPECT_EQ(event.key.company, "acme");
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(FeedFollowerTest, ACompanyWithoutFeedsFetchesNothing) {
  AddCompany("acme", {});
  Make();
  EXPECT_EQ(follower_->followed(), 0u);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_FALSE(follower_->NextWakeMs().has_value());
}

}  // namespace
}  // namespace gatilho
