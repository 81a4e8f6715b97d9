#include "api/local_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <mutex>
#include <sstream>

#include "support/http_call.h"
#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace json = boost::json;

constexpr char kToken[] = "local-api-token-0123456789";
constexpr size_t kMaxBody = 4096;

// The loop's side of the link, as the tests see it: what the API told it, and the figures it
// "published".
class RecordingLink : public IntakeLink {
 public:
  void StoreChanged() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++store_changed_;
  }
  void ErpRequest(ErpRequestSeen) override {}
  void SyncAnswerSeen(SyncAnswer) override {}
  RuntimeFigures Figures() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return figures_;
  }
  void Publish(RuntimeFigures figures) {
    std::lock_guard<std::mutex> lock(mu_);
    figures_ = std::move(figures);
  }
  int store_changed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return store_changed_;
  }

 private:
  mutable std::mutex mu_;
  int store_changed_ = 0;
  RuntimeFigures figures_;
};

CompanyConfig MakeCompany(const std::string& id, std::set<DocType> types) {
  CompanyConfig company;
  company.id = id;
  company.token = "focus-token-of-" + id;
  company.types = std::move(types);
  company.source_file = "/etc/gatilho/companies/" + id + ".conf";
  return company;
}

std::shared_ptr<const Config> MakeConfig(const std::string& token = kToken) {
  auto config = std::make_shared<Config>();
  config->global.companies_dir = "/etc/gatilho/companies";
  config->global.api_token = token;
  config->companies["acme"] = MakeCompany("acme", {DocType::kNfe, DocType::kNfse});
  config->companies["beta"] = MakeCompany("beta", {DocType::kCte});
  return config;
}

// What a refused request must leave as it was.
struct StoreSnapshot {
  StoreCounts counts;
  std::vector<std::string> watches;
  std::vector<std::string> events;

  bool operator==(const StoreSnapshot& other) const {
    auto tie = [](const StoreCounts& c) {
      return std::make_tuple(c.watches_pending, c.watches_following, c.watches_done,
                             c.watches_paused, c.events_pending, c.events_delivered, c.events_dead,
                             c.events_superseded);
    };
    return tie(counts) == tie(other.counts) && watches == other.watches && events == other.events;
  }
};

class LocalApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Store::Options options;
    options.dir = temp_.Sub("data");
    Result<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    api_ = std::make_unique<LocalApi>(*store_, MakeConfig(), link_, clock_);
    HttpServer::Options server_options;
    server_options.max_body_bytes = kMaxBody;
    server_options.name = "local API";
    Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(server_options, api_->Handler());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);

    log_ = std::make_shared<std::ostringstream>();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_);
    previous_logger_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }

  void TearDown() override {
    server_->Stop();
    spdlog::set_default_logger(previous_logger_);
  }

  testing::HttpResult Call(const std::string& method, const std::string& target,
                           const std::string& body = "", const std::string& token = kToken) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return testing::HttpCall(method, Url(target), body, std::nullopt, headers);
  }

  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + target;
  }

  StoreSnapshot Snapshot() {
    StoreSnapshot snapshot;
    Result<StoreCounts> counts = store_->Counts();
    EXPECT_TRUE(counts.ok());
    if (counts.ok()) snapshot.counts = *counts;
    Result<std::vector<DueWatch>> watches = store_->ListWatches("", std::nullopt, 1000);
    EXPECT_TRUE(watches.ok());
    if (watches.ok()) {
      for (const DueWatch& watch : *watches) {
        snapshot.watches.push_back(watch.key.ToString() + "#" + std::to_string(watch.record.cycle) +
                                   "@" + std::to_string(watch.record.next_poll_ms));
      }
    }
    EventQuery all;
    all.limit = 1000;
    Result<std::vector<EventRecord>> events = store_->ListEvents(all);
    EXPECT_TRUE(events.ok());
    if (events.ok()) {
      for (const EventRecord& event : *events) {
        snapshot.events.push_back(event.id + ":" + std::string(EventStateName(event.state)));
      }
    }
    return snapshot;
  }

  // Registers `key` and gives it one history line and one event.
  EventRecord AddWatchWithEvent(const WatchKey& key, const std::string& event_id) {
    auto added = store_->AddWatches({key}, clock_.WallMs(), clock_.WallMs() + 1000);
    EXPECT_TRUE(added.ok());
    WatchUpdate update;
    update.key = key;
    update.expected_cycle = 1;
    update.record = *store_->GetWatch(key);
    update.record.state = WatchState::kFollowing;
    update.record.last_status = "autorizado";
    update.record.poll_count = 1;
    update.history =
        HistoryEntry{clock_.WallMs(), 1, 200, "document", "autorizado", "event autorizado"};
    EventRecord event;
    event.id = event_id;
    event.key = key;
    event.type = "autorizado";
    event.payload = R"({"status":"autorizado"})";
    event.created_ms = clock_.WallMs();
    event.next_attempt_ms = clock_.WallMs();
    update.events = {event};
    EXPECT_TRUE(store_->Apply({update}).ok());
    Result<EventRecord> stored = store_->FindEvent(event_id);
    EXPECT_TRUE(stored.ok());
    return stored.ok() ? *stored : event;
  }

  void ExpectError(const testing::HttpResult& result, int status, const std::string& code,
                   const std::string& message_part) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_EQ(result.Header("content-type"), "application/json");
    json::error_code error;
    json::value body = json::parse(result.body, error);
    ASSERT_FALSE(error) << result.body;
    ASSERT_TRUE(body.is_object()) << result.body;
    EXPECT_EQ(body.as_object().size(), 2u) << result.body;
    EXPECT_EQ(json::value_to<std::string>(body.at("error")), code) << result.body;
    EXPECT_THAT(json::value_to<std::string>(body.at("message")), HasSubstr(message_part));
  }

  std::string Log() const { return log_->str(); }

  testing::TempDir temp_;
  VirtualClock clock_{1'800'000'000'000};
  RecordingLink link_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LocalApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<std::ostringstream> log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

json::value Parse(const std::string& text) {
  json::error_code error;
  json::value value = json::parse(text, error);
  EXPECT_FALSE(error) << text;
  return value;
}

// ---- POST /v1/watches ----------------------------------------------------------------------

TEST_F(LocalApiTest, PostingOneWatchRegistersItAndWakesTheLoop) {
  testing::HttpResult result =
      Call("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":"PED-1"})");

  ASSERT_EQ(result.status, 201) << result.body;
  json::value body = Parse(result.body);
  EXPECT_EQ(body.at("company"), "acme");
  EXPECT_EQ(body.at("type"), "nfe");
  EXPECT_EQ(body.at("ref"), "PED-1");
  EXPECT_EQ(body.at("cycle"), 1);
  EXPECT_EQ(body.at("created"), true);
  Result<WatchRecord> record = store_->GetWatch(WatchKey{"acme", DocType::kNfe, "PED-1"});
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, WatchState::kPending);
  EXPECT_GT(record->next_poll_ms, clock_.WallMs());
  EXPECT_EQ(link_.store_changed(), 1);
}

TEST_F(LocalApiTest, PostingABatchRegistersEveryWatchAndSaysWhichWereNew) {
  ASSERT_TRUE(store_
                  ->AddWatches({WatchKey{"acme", DocType::kNfe, "OLD"}}, clock_.WallMs(),
                               clock_.WallMs() + 60'000)
                  .ok());
  testing::HttpResult result = Call("POST", "/v1/watches",
                                    R"({"watches":[{"company":"acme","type":"nfe","ref":"OLD"},
                                                   {"company":"acme","type":"nfse","ref":"S-1"},
                                                   {"company":"beta","type":"cte","ref":"C-1"}]})");

  ASSERT_EQ(result.status, 201) << result.body;
  json::value body = Parse(result.body);
  const json::array& watches = body.at("watches").as_array();
  ASSERT_EQ(watches.size(), 3u);
  EXPECT_EQ(watches[0].at("created"), false);
  EXPECT_EQ(watches[1].at("created"), true);
  EXPECT_EQ(watches[2].at("company"), "beta");
  EXPECT_EQ(watches[2].at("created"), true);
  Result<StoreCounts> counts = store_->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->watches_pending, 3u);
  EXPECT_EQ(link_.store_changed(), 1);
}

TEST_F(LocalApiTest, MalformedJsonIs400AndChangesNothing) {
  StoreSnapshot before = Snapshot();
  testing::HttpResult result = Call("POST", "/v1/watches", R"({"company":"acme",)");
  ExpectError(result, 400, "malformed_json", "not valid JSON");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(link_.store_changed(), 0);
}

TEST_F(LocalApiTest, UnknownCompanyIs404NamingItAndChangesNothing) {
  StoreSnapshot before = Snapshot();
  testing::HttpResult result = Call("POST", "/v1/watches",
                                    R"({"watches":[{"company":"acme","type":"nfe","ref":"A"},
                                                   {"company":"zeta","type":"nfe","ref":"B"}]})");
  ExpectError(result, 404, "unknown_company", "watches[1]: unknown company 'zeta'");
  EXPECT_THAT(result.body, HasSubstr("known: acme, beta"));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(LocalApiTest, InvalidTypeOrRefIs422NamingTheItemAndTheRuleAndChangesNothing) {
  StoreSnapshot before = Snapshot();
  testing::HttpResult bad_type = Call("POST", "/v1/watches",
                                      R"({"watches":[{"company":"acme","type":"nfe","ref":"A"},
                                                     {"company":"acme","type":"nfx","ref":"B"}]})");
  ExpectError(bad_type, 422, "invalid_type", "watches[1].type: unknown document type 'nfx'");

  testing::HttpResult not_enabled =
      Call("POST", "/v1/watches", R"({"company":"beta","type":"nfe","ref":"A"})");
  ExpectError(not_enabled, 422, "invalid_type", "company beta does not watch nfe documents");

  testing::HttpResult bad_ref = Call("POST", "/v1/watches",
                                     R"({"watches":[{"company":"acme","type":"nfe","ref":"A"},
                   {"company":"acme","type":"nfe","ref":"B"},
                   {"company":"acme","type":"nfe","ref":"a b"}]})");
  ExpectError(bad_ref, 422, "invalid_ref", "watches[2].ref: ref 'a b' has a space");

  testing::HttpResult missing = Call("POST", "/v1/watches", R"({"company":"acme","type":"nfe"})");
  ExpectError(missing, 422, "invalid_watch", "the watch.ref is missing");

  testing::HttpResult not_a_string =
      Call("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":12})");
  ExpectError(not_a_string, 422, "invalid_watch", "ref must be a string");

  testing::HttpResult extra =
      Call("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":"A","refs":"B"})");
  ExpectError(extra, 422, "invalid_watch", "unknown field 'refs'");

  testing::HttpResult empty = Call("POST", "/v1/watches", R"({"watches":[]})");
  ExpectError(empty, 422, "invalid_batch", "no watches");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(link_.store_changed(), 0);
}

TEST_F(LocalApiTest, BatchOverTheCapIs422AndChangesNothing) {
  LocalApi::Options options;
  options.max_batch = 2;
  server_->Stop();  // it calls the handler of the api_ about to be replaced
  api_ = std::make_unique<LocalApi>(*store_, MakeConfig(), link_, clock_, options);
  HttpServer::Options server_options;
  server_options.max_body_bytes = kMaxBody;
  Result<std::unique_ptr<HttpServer>> started = HttpServer::Start(server_options, api_->Handler());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  server_ = std::move(*started);
  StoreSnapshot before = Snapshot();

  testing::HttpResult result = Call("POST", "/v1/watches",
                                    R"({"watches":[{"company":"acme","type":"nfe","ref":"A"},
                                                   {"company":"acme","type":"nfe","ref":"B"},
                                                   {"company":"acme","type":"nfe","ref":"C"}]})");
  ExpectError(result, 422, "batch_too_large", "holds 3 watches; send at most 2");
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(LocalApiTest, OversizedBodyIs413NamingTheLimitAndChangesNothing) {
  StoreSnapshot before = Snapshot();
  std::string body = R"({"watches":[)";
  for (int i = 0; i < 200; ++i) {
    body += std::string(i == 0 ? "" : ",") + R"({"company":"acme","type":"nfe","ref":"R)" +
            std::to_string(i) + R"("})";
  }
  body += "]}";
  ASSERT_GT(body.size(), kMaxBody);

  testing::HttpResult result = Call("POST", "/v1/watches", body);

  EXPECT_EQ(result.status, 413) << result.body;
  EXPECT_THAT(result.body, HasSubstr(std::to_string(kMaxBody)));
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(link_.store_changed(), 0);
}

// ---- authorization, routes, methods --------------------------------------------------------

TEST_F(LocalApiTest, MissingOrWrongTokenIs401WithWwwAuthenticateAndChangesNothing) {
  StoreSnapshot before = Snapshot();
  const std::string watch = R"({"company":"acme","type":"nfe","ref":"PED-1"})";

  testing::HttpResult none = Call("POST", "/v1/watches", watch, "");
  ExpectError(none, 401, "unauthorized", "Authorization: Bearer");
  EXPECT_THAT(none.Header("www-authenticate"), HasSubstr("Bearer"));

  testing::HttpResult wrong = Call("POST", "/v1/watches", watch, "not-the-token-at-all");
  ExpectError(wrong, 401, "unauthorized", "token is wrong");
  EXPECT_THAT(wrong.Header("www-authenticate"), HasSubstr("Bearer"));

  testing::HttpResult prefix = Call("GET", "/metrics", "", std::string(kToken).substr(0, 10));
  EXPECT_EQ(prefix.status, 401);
  testing::HttpResult basic = testing::HttpCall("GET", Url("/healthz"), "", std::string(kToken));
  EXPECT_EQ(basic.status, 401);
  for (const char* target : {"/healthz", "/metrics", "/v1/status", "/v1/events", "/nowhere"}) {
    EXPECT_EQ(Call("GET", target, "", "").status, 401) << target;
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(link_.store_changed(), 0);
  EXPECT_THAT(Log(), HasSubstr("refused POST /v1/watches"));
  EXPECT_THAT(Log(), Not(HasSubstr("not-the-token-at-all")));
  EXPECT_THAT(Log(), Not(HasSubstr(kToken)));
  EXPECT_THAT(Log(), Not(HasSubstr("PED-1")));
}

TEST_F(LocalApiTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  StoreSnapshot before = Snapshot();
  ExpectError(Call("GET", "/v2/watches"), 404, "unknown_route", "no route /v2/watches");
  ExpectError(Call("GET", "/v1/watches/acme/nfe"), 404, "unknown_route", "/v1/watches");

  testing::HttpResult get_list = Call("GET", "/v1/watches");
  ExpectError(get_list, 405, "method_not_allowed", "use POST");
  EXPECT_EQ(get_list.Header("allow"), "POST");
  testing::HttpResult put_watch = Call("PUT", "/v1/watches/acme/nfe/A", "{}");
  ExpectError(put_watch, 405, "method_not_allowed", "GET, DELETE");
  EXPECT_EQ(put_watch.Header("allow"), "GET, DELETE");
  EXPECT_EQ(Call("POST", "/metrics", "{}").Header("allow"), "GET");
  EXPECT_EQ(Call("DELETE", "/v1/events/x/redeliver").Header("allow"), "POST");
  EXPECT_EQ(Call("POST", "/status", "", "").status, 405);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(LocalApiTest, ReloadedConfigurationAppliesToTheNextRequest) {
  auto config = std::make_shared<Config>(*MakeConfig("a-new-token-of-the-reload"));
  config->companies["gamma"] = MakeCompany("gamma", {DocType::kMdfe});
  api_->SetConfig(config);

  EXPECT_EQ(Call("GET", "/v1/status").status, 401);
  testing::HttpResult result =
      Call("POST", "/v1/watches", R"({"company":"gamma","type":"mdfe","ref":"M-1"})",
           "a-new-token-of-the-reload");
  EXPECT_EQ(result.status, 201) << result.body;
}

// ---- one watch -----------------------------------------------------------------------------

TEST_F(LocalApiTest, GetWatchShowsItsStateHistoryAndEventsWithAttempts) {
  const WatchKey key{"acme", DocType::kNfe, "PED-9"};
  EventRecord event = AddWatchWithEvent(key, "ev-ped-9");
  AttemptRecord attempt;
  attempt.number = 1;
  attempt.time_ms = clock_.WallMs() + 10;
  attempt.sink = "http://erp.local/hook";
  attempt.http_status = 500;
  attempt.duration_ms = 7;
  attempt.response_excerpt = "boom";
  ASSERT_TRUE(
      store_->RecordAttempt(event.seq, attempt, EventState::kPending, clock_.WallMs() + 60'000)
          .ok());

  testing::HttpResult result = Call("GET", "/v1/watches/acme/nfe/PED-9");

  ASSERT_EQ(result.status, 200) << result.body;
  json::value body = Parse(result.body);
  EXPECT_EQ(body.at("state"), "following");
  EXPECT_EQ(body.at("cycle"), 1);
  EXPECT_EQ(body.at("last_status"), "autorizado");
  ASSERT_EQ(body.at("history").as_array().size(), 1u);
  EXPECT_EQ(body.at("history").at(0).at("note"), "event autorizado");
  ASSERT_EQ(body.at("events").as_array().size(), 1u);
  const json::value& shown = body.at("events").at(0);
  EXPECT_EQ(shown.at("id"), "ev-ped-9");
  EXPECT_EQ(shown.at("attempts"), 1);
  EXPECT_EQ(shown.at("attempt_log").at(0).at("http_status"), 500);
  EXPECT_EQ(shown.at("attempt_log").at(0).at("response_excerpt"), "boom");
}

TEST_F(LocalApiTest, WatchPathIsCheckedLikeThePostedWatch) {
  ExpectError(Call("GET", "/v1/watches/zeta/nfe/A"), 404, "unknown_company", "'zeta'");
  ExpectError(Call("GET", "/v1/watches/acme/nfx/A"), 422, "invalid_watch", "'nfx'");
  ExpectError(Call("GET", "/v1/watches/acme/nfe/a%20b"), 422, "invalid_watch", "space");
  ExpectError(Call("GET", "/v1/watches/acme/nfe/NOPE"), 404, "unknown_watch",
              "no watch for acme/nfe/NOPE");
  ExpectError(Call("GET", "/v1/watches/acme/nfe/A%2"), 400, "malformed_path", "'%'");
}

TEST_F(LocalApiTest, DeleteStopsWatchingAndKeepsHistoryAndEvents) {
  const WatchKey key{"acme", DocType::kNfe, "PED-3"};
  AddWatchWithEvent(key, "ev-ped-3");

  testing::HttpResult result = Call("DELETE", "/v1/watches/acme/nfe/PED-3");

  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(store_->GetWatch(key).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->History(key)->size(), 1u);
  EXPECT_EQ(store_->EventsFor(key)->size(), 1u);
  EXPECT_EQ(link_.store_changed(), 1);
  StoreSnapshot before = Snapshot();
  ExpectError(Call("DELETE", "/v1/watches/acme/nfe/PED-3"), 404, "unknown_watch", "nothing");
  EXPECT_EQ(Snapshot(), before);
}

// ---- events --------------------------------------------------------------------------------

TEST_F(LocalApiTest, EventsAreListedWithTheCliObjectsAndFiltered) {
  AddWatchWithEvent(WatchKey{"acme", DocType::kNfe, "A"}, "ev-a");
  clock_.Advance(60'000);
  EventRecord beta = AddWatchWithEvent(WatchKey{"beta", DocType::kCte, "B"}, "ev-b");
  AttemptRecord attempt;
  attempt.number = 1;
  attempt.time_ms = clock_.WallMs();
  attempt.http_status = 503;
  ASSERT_TRUE(store_->RecordAttempt(beta.seq, attempt, EventState::kDead, 0).ok());

  json::value all = Parse(Call("GET", "/v1/events").body);
  ASSERT_EQ(all.at("events").as_array().size(), 2u);
  EXPECT_EQ(all.at("events").at(0).at("id"), "ev-a");
  EXPECT_EQ(all.at("events").at(0).as_object().size(), 12u);
  EXPECT_EQ(all.at("events").at(0).at("next_attempt").is_string(), true);

  json::value dead = Parse(Call("GET", "/v1/events?state=dead").body);
  ASSERT_EQ(dead.at("events").as_array().size(), 1u);
  EXPECT_EQ(dead.at("events").at(0).at("id"), "ev-b");
  json::value acme = Parse(Call("GET", "/v1/events?company=acme&limit=5").body);
  ASSERT_EQ(acme.at("events").as_array().size(), 1u);
  EXPECT_EQ(acme.at("events").at(0).at("company"), "acme");
  json::value recent = Parse(Call("GET", "/v1/events?since=30s").body);
  ASSERT_EQ(recent.at("events").as_array().size(), 1u);
  json::value one = Parse(Call("GET", "/v1/events?limit=1").body);
  EXPECT_EQ(one.at("events").as_array().size(), 1u);
  std::string since = FormatRfc3339(clock_.WallMs() - 1000);
  EXPECT_EQ(Parse(Call("GET", "/v1/events?since=" + since).body).at("events").as_array().size(),
            1u);

  ExpectError(Call("GET", "/v1/events?company=zeta"), 404, "unknown_company", "'zeta'");
  ExpectError(Call("GET", "/v1/events?state=lost"), 422, "invalid_parameter", "state 'lost'");
  ExpectError(Call("GET", "/v1/events?since=yesterday"), 422, "invalid_parameter", "since");
  ExpectError(Call("GET", "/v1/events?limit=0"), 422, "invalid_parameter", "from 1 to 1000");
  ExpectError(Call("GET", "/v1/events?limit=x"), 422, "invalid_parameter", "limit 'x'");
  ExpectError(Call("GET", "/v1/events?colour=red"), 422, "invalid_parameter", "'colour'");
}

TEST_F(LocalApiTest, RedeliverQueuesTheEventAgainAndWakesTheLoop) {
  EventRecord event = AddWatchWithEvent(WatchKey{"acme", DocType::kNfe, "A"}, "ev-dead");
  AttemptRecord attempt;
  attempt.number = 1;
  attempt.time_ms = clock_.WallMs();
  attempt.http_status = 500;
  ASSERT_TRUE(store_->RecordAttempt(event.seq, attempt, EventState::kDead, 0).ok());

  testing::HttpResult result = Call("POST", "/v1/events/ev-dead/redeliver");

  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(Parse(result.body).at("redelivered"), true);
  EXPECT_EQ(store_->FindEvent("ev-dead")->state, EventState::kPending);
  EXPECT_EQ(link_.store_changed(), 1);
  EXPECT_EQ(Parse(Call("POST", "/v1/events/ev-dead/redeliver").body).at("redelivered"), false);

  StoreSnapshot before = Snapshot();
  ExpectError(Call("POST", "/v1/events/ev-nope/redeliver"), 404, "unknown_event", "'ev-nope'");
  EXPECT_EQ(Snapshot(), before);
}

// ---- health, metrics, status ---------------------------------------------------------------

TEST_F(LocalApiTest, HealthzWantsRecentFiguresFromTheLoop) {
  ExpectError(Call("GET", "/healthz"), 503, "starting", "not published");

  RuntimeFigures figures;
  figures.published_ms = clock_.WallMs();
  link_.Publish(figures);
  testing::HttpResult healthy = Call("GET", "/healthz");
  ASSERT_EQ(healthy.status, 200) << healthy.body;
  EXPECT_EQ(Parse(healthy.body).at("status"), "ok");

  clock_.Advance(31'000);
  ExpectError(Call("GET", "/healthz"), 503, "loop_stalled", "31 s ago");
}

TEST_F(LocalApiTest, MetricsAreThePrometheusRenderingOfFiguresAndCounts) {
  AddWatchWithEvent(WatchKey{"acme", DocType::kNfe, "A"}, "ev-a");
  RuntimeFigures figures;
  figures.published_ms = clock_.WallMs();
  figures.polls = 42;
  link_.Publish(figures);

  testing::HttpResult result = Call("GET", "/metrics");

  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(result.body, HasSubstr("\ngatilho_polls_total 42\n"));
  EXPECT_THAT(result.body, HasSubstr("\ngatilho_watches{state=\"following\"} 1\n"));
  EXPECT_THAT(result.body, HasSubstr("\ngatilho_events{state=\"pending\"} 1\n"));
}

TEST_F(LocalApiTest, StatusJsonHasPendingEventsFailingEndpointsAndTokens) {
  ASSERT_TRUE(store_
                  ->AddWatches({WatchKey{"acme", DocType::kNfe, "WAIT"}}, clock_.WallMs(),
                               clock_.WallMs() + 5000)
                  .ok());
  AddWatchWithEvent(WatchKey{"beta", DocType::kCte, "DONE"}, "ev-done");
  RuntimeFigures figures;
  figures.published_ms = clock_.WallMs();
  figures.endpoints = {{"http://erp.local/ok", "closed"}, {"http://erp.local/down", "open"}};
  TokenFigures token;
  token.handle = "abcdef0123456789";
  token.companies = "acme";
  token.limit = 100;
  token.available = 61;
  figures.tokens = {token};
  link_.Publish(figures);

  testing::HttpResult result = Call("GET", "/v1/status");

  ASSERT_EQ(result.status, 200) << result.body;
  json::value body = Parse(result.body);
  EXPECT_EQ(body.at("pending_total"), 1);
  ASSERT_EQ(body.at("pending").as_array().size(), 1u);
  EXPECT_EQ(body.at("pending").at(0).at("ref"), "WAIT");
  ASSERT_EQ(body.at("recent_events").as_array().size(), 1u);
  EXPECT_EQ(body.at("recent_events").at(0).at("id"), "ev-done");
  ASSERT_EQ(body.at("failing_endpoints").as_array().size(), 1u);
  EXPECT_EQ(body.at("failing_endpoints").at(0).at("sink"), "http://erp.local/down");
  ASSERT_EQ(body.at("tokens").as_array().size(), 1u);
  EXPECT_EQ(body.at("tokens").at(0).at("available"), 61);
  EXPECT_THAT(result.body, Not(HasSubstr("focus-token-of-")));
}

TEST_F(LocalApiTest, StatusPageNeedsNoTokenAndHoldsNoData) {
  ASSERT_TRUE(store_
                  ->AddWatches({WatchKey{"acme", DocType::kNfe, "SECRET-REF"}}, clock_.WallMs(),
                               clock_.WallMs() + 5000)
                  .ok());
  testing::HttpResult result = Call("GET", "/status", "", "");

  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(result.body, HasSubstr("fetch('/v1/status'"));
  EXPECT_THAT(result.body, Not(HasSubstr("SECRET-REF")));
  EXPECT_THAT(result.body, Not(HasSubstr(kToken)));
  EXPECT_THAT(result.body, Not(HasSubstr("http://")));
  EXPECT_THAT(result.body, Not(HasSubstr("https://")));
}

}  // namespace
}  // namespace gatilho
