#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "store/codec.h"
#include "store/lmdb_env.h"
#include "support/temp_dir.h"

namespace gatilho {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

std::unique_ptr<Store> OpenStore(const Store::Options& options) {
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<Store> OpenStore(const std::string& dir) {
  Store::Options options;
  options.dir = dir;
  return OpenStore(options);
}

EventRecord MakeEvent(const std::string& id, int64_t next_attempt_ms) {
  EventRecord event;
  event.id = id;
  event.type = "autorizado";
  event.payload = R"({"status":"autorizado"})";
  event.created_ms = next_attempt_ms;
  event.next_attempt_ms = next_attempt_ms;
  return event;
}

// An update that keeps the watch's record as it is and carries `events`.
WatchUpdate UpdateWithEvents(const WatchKey& key, const WatchRecord& record,
                             std::vector<EventRecord> events) {
  WatchUpdate update;
  update.key = key;
  update.expected_cycle = record.cycle;
  update.record = record;
  update.events = std::move(events);
  return update;
}

AttemptRecord MakeAttempt(uint32_t number, int64_t time_ms, int http_status) {
  AttemptRecord attempt;
  attempt.number = number;
  attempt.time_ms = time_ms;
  attempt.sink = "http://erp.local/hook";
  attempt.http_status = http_status;
  attempt.duration_ms = 12;
  attempt.response_excerpt = "ok";
  return attempt;
}

std::vector<uint64_t> Seqs(const std::vector<EventRecord>& events) {
  std::vector<uint64_t> seqs;
  for (const EventRecord& event : events)
    seqs.push_back(event.seq);
  return seqs;
}

std::vector<std::string> Refs(const std::vector<DueWatch>& watches) {
  std::vector<std::string> refs;
  for (const DueWatch& watch : watches)
    refs.push_back(watch.key.ref);
  return refs;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir());
    ASSERT_NE(store_, nullptr);
  }

  std::string dir() const { return temp_.Sub("data"); }

  // Registers `key` at kNow, first polled at first_poll_ms, and returns its record.
  WatchRecord Add(const WatchKey& key, int64_t first_poll_ms = kNow) {
    auto added = store_->AddWatches({key}, kNow, first_poll_ms);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    auto record = store_->GetWatch(key);
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    return record.ok() ? *record : WatchRecord();
  }

  testing::TempDir temp_;
  std::unique_ptr<Store> store_;
  const WatchKey key_{"acme", DocType::kNfe, "PED-1"};
};

// ---- received-document feeds ------------------------------------------------------------

// An event of received document `chave` (its own key, as the feed follower makes them).
EventRecord ReceivedEventFor(const std::string& chave, const std::string& id) {
  EventRecord event = MakeEvent(id, kNow);
  event.key = WatchKey{"acme", DocType::kNfe, "recebida:" + chave};
  event.type = "nfe_recebida";
  return event;
}

TEST_F(StoreTest, AFeedWithoutCursorWasNeverFetched) {
  Result<std::optional<FeedCursor>> cursor = store_->GetCursor({"44555666000177", "nfe", "x"});
  ASSERT_TRUE(cursor.ok()) << cursor.status().ToString();
  EXPECT_FALSE(cursor->has_value());
}

TEST_F(StoreTest, APageWritesItsEventsAndTheCursorTogether) {
  const FeedCursorKey key{"44555666000177", "nfe", "producao"};
  Result<size_t> added = store_->ApplyFeedPage(
      key, FeedCursor{12, kNow}, {ReceivedEventFor("K1", "e1"), ReceivedEventFor("K2", "e2")});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 2u);

  Result<std::optional<FeedCursor>> cursor = store_->GetCursor(key);
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ((*cursor)->versao, 12);
  EXPECT_EQ((*cursor)->fetched_ms, kNow);
  // Other feeds and environments of the CNPJ keep their own cursors.
  EXPECT_FALSE(store_->GetCursor({"44555666000177", "cte", "producao"})->has_value());
  EXPECT_FALSE(store_->GetCursor({"44555666000177", "nfe", "homologacao"})->has_value());

  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 2u);
  EXPECT_EQ((*ready)[0].key.ref, "recebida:K1");
  EXPECT_EQ((*ready)[0].type, "nfe_recebida");
}

TEST_F(StoreTest, APageFetchedAgainAddsNoEventTwice) {
  const FeedCursorKey key{"44555666000177", "nfe", "producao"};
  ASSERT_TRUE(store_->ApplyFeedPage(key, FeedCursor{5, kNow}, {ReceivedEventFor("K1", "e1")}).ok());
  Result<size_t> again = store_->ApplyFeedPage(
      key, FeedCursor{6, kNow + 1}, {ReceivedEventFor("K1", "e1"), ReceivedEventFor("K2", "e2")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1u);
  EXPECT_EQ(store_->GetCursor(key).value()->versao, 6);
  auto listed = store_->ListEvents(EventQuery{});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
}

TEST_F(StoreTest, AnEmptyPageStillRecordsWhenTheFeedWasFetched) {
  const FeedCursorKey key{"44555666000177", "cte", "producao"};
  ASSERT_TRUE(store_->ApplyFeedPage(key, FeedCursor{3, kNow}, {}).ok());
  ASSERT_TRUE(store_->ApplyFeedPage(key, FeedCursor{3, kNow + 60'000}, {}).ok());
  EXPECT_EQ(store_->GetCursor(key).value()->fetched_ms, kNow + 60'000);
}

TEST_F(StoreTest, ReceivedDocumentEventsGoOutInOrderPerDocument) {
  const FeedCursorKey key{"44555666000177", "nfe", "producao"};
  ASSERT_TRUE(store_
                  ->ApplyFeedPage(key, FeedCursor{2, kNow},
                                  {ReceivedEventFor("K1", "v1"), ReceivedEventFor("K2", "w1")})
                  .ok());
  ASSERT_TRUE(store_->ApplyFeedPage(key, FeedCursor{3, kNow}, {ReceivedEventFor("K1", "v2")}).ok());

  // K1's second version waits behind its first; K2 does not wait for either.
  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(store_->RecordAttempt(1, MakeAttempt(1, kNow, 200), EventState::kDelivered, 0).ok());
  ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{2, 3}));
}

TEST_F(StoreTest, CursorsSurviveReopen) {
  const FeedCursorKey key{"44555666000177", "nfse", "homologacao"};
  ASSERT_TRUE(store_->ApplyFeedPage(key, FeedCursor{99, kNow}, {}).ok());
  store_.reset();
  store_ = OpenStore(dir());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->GetCursor(key).value()->versao, 99);
}

// ---- watches -----------------------------------------------------------------------------

TEST_F(StoreTest, AddThenGetRoundTripsEveryField) {
  auto added = store_->AddWatches({key_}, kNow, kNow + 5000);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_EQ(added->size(), 1u);
  EXPECT_TRUE((*added)[0].created);
  EXPECT_FALSE((*added)[0].new_cycle);
  EXPECT_EQ((*added)[0].cycle, 1u);

  auto fresh = store_->GetWatch(key_);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->cycle, 1u);
  EXPECT_EQ(fresh->created_ms, kNow);
  EXPECT_EQ(fresh->cycle_started_ms, kNow);
  EXPECT_EQ(fresh->next_poll_ms, kNow + 5000);
  EXPECT_EQ(fresh->state, WatchState::kPending);

  WatchRecord record;
  record.cycle = 1;
  record.created_ms = kNow;
  record.cycle_started_ms = kNow + 1;
  record.last_polled_ms = kNow + 2;
  record.next_poll_ms = kNow + 3;
  record.cycle_ended_ms = kNow + 4;
  record.poll_count = 5;
  record.error_streak = 6;
  record.not_found_since_ms = kNow + 7;
  record.state = WatchState::kFollowing;
  record.last_status = "autorizado";
  record.fingerprint = std::string("fp\0with nul", 11);
  record.detail = "cce=2";
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {})}).ok());

  auto got = store_->GetWatch(key_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->cycle, record.cycle);
  EXPECT_EQ(got->created_ms, record.created_ms);
  EXPECT_EQ(got->cycle_started_ms, record.cycle_started_ms);
  EXPECT_EQ(got->last_polled_ms, record.last_polled_ms);
  EXPECT_EQ(got->next_poll_ms, record.next_poll_ms);
  EXPECT_EQ(got->cycle_ended_ms, record.cycle_ended_ms);
  EXPECT_EQ(got->poll_count, record.poll_count);
  EXPECT_EQ(got->error_streak, record.error_streak);
  EXPECT_EQ(got->not_found_since_ms, record.not_found_since_ms);
  EXPECT_EQ(got->state, record.state);
  EXPECT_EQ(got->last_status, record.last_status);
  EXPECT_EQ(got->fingerprint, record.fingerprint);
  EXPECT_EQ(got->detail, record.detail);
}

TEST_F(StoreTest, GetOfUnknownWatchIsNotFound) {
  auto got = store_->GetWatch(key_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kNotFound);
  EXPECT_NE(got.status().message().find(key_.ToString()), std::string::npos);
}

TEST_F(StoreTest, DueWatchesComeInTimeOrder) {
  Add({"acme", DocType::kNfe, "late"}, kNow + 300);
  Add({"acme", DocType::kNfe, "early"}, kNow + 100);
  Add({"beta", DocType::kCte, "middle"}, kNow + 200);
  Add({"acme", DocType::kNfe, "future"}, kNow + 10'000);

  auto due = store_->DueWatches(kNow + 300, 10);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  EXPECT_EQ(Refs(*due), (std::vector<std::string>{"early", "middle", "late"}));
  EXPECT_EQ((*due)[1].key, (WatchKey{"beta", DocType::kCte, "middle"}));
  EXPECT_EQ((*due)[1].record.next_poll_ms, kNow + 200);

  auto limited = store_->DueWatches(kNow + 300, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(Refs(*limited), (std::vector<std::string>{"early", "middle"}));

  auto next = store_->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kNow + 100);
}

TEST_F(StoreTest, ApplyReschedulesAndRemovesOldDueEntry) {
  WatchRecord record = Add(key_, kNow + 100);
  record.poll_count = 1;
  record.last_polled_ms = kNow + 100;
  record.next_poll_ms = kNow + 500;
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {})}).ok());

  auto before = store_->DueWatches(kNow + 499, 10);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  auto after = store_->DueWatches(kNow + 500, 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].record.poll_count, 1u);
  auto next = store_->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kNow + 500);
}

TEST_F(StoreTest, AddWatchesGivesEachWatchItsOwnFirstPoll) {
  const WatchKey other{"beta", DocType::kCte, "CT-1"};
  auto added = store_->AddWatches({NewWatch{key_, kNow + 300}, NewWatch{other, kNow + 100}}, kNow);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_EQ(added->size(), 2u);
  EXPECT_TRUE((*added)[0].created);
  EXPECT_TRUE((*added)[1].created);
  auto due = store_->DueWatches(kNow + 1000, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Refs(*due), (std::vector<std::string>{"CT-1", "PED-1"}));
  EXPECT_EQ((*due)[0].record.next_poll_ms, kNow + 100);
  EXPECT_EQ((*due)[1].record.next_poll_ms, kNow + 300);
}

TEST_F(StoreTest, RemoveWatchDropsItsScheduleButKeepsHistoryAndEvents) {
  WatchRecord record = Add(key_, kNow + 100);
  WatchUpdate update = UpdateWithEvents(key_, record, {MakeEvent("ev-1", kNow)});
  update.history = HistoryEntry{kNow, 1, 200, "document", "autorizado", "event autorizado"};
  ASSERT_TRUE(store_->Apply({update}).ok());

  ASSERT_TRUE(store_->RemoveWatch(key_).ok());
  EXPECT_EQ(store_->GetWatch(key_).status().code(), Status::Code::kNotFound);
  auto due = store_->DueWatches(kNow + 1000, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  auto history = store_->History(key_);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
  auto events = store_->EventsFor(key_);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  EXPECT_EQ(store_->RemoveWatch(key_).code(), Status::Code::kNotFound);
}

TEST_F(StoreTest, DoneWatchHasNoDueEntryAndRewatchStartsNewCycle) {
  WatchRecord record = Add(key_);
  record.state = WatchState::kDone;
  record.next_poll_ms = 0;
  record.poll_count = 4;
  record.error_streak = 1;
  record.last_status = "erro_autorizacao";
  record.fingerprint = "abc";
  record.detail = "x";
  record.cycle_ended_ms = kNow + 50;
  record.not_found_since_ms = kNow + 10;
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {})}).ok());

  auto next = store_->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());

  auto added = store_->AddWatches({key_}, kNow + 1000, kNow + 2000);
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE((*added)[0].created);
  EXPECT_TRUE((*added)[0].new_cycle);
  EXPECT_EQ((*added)[0].cycle, 2u);

  auto got = store_->GetWatch(key_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->cycle, 2u);
  EXPECT_EQ(got->created_ms, kNow);
  EXPECT_EQ(got->cycle_started_ms, kNow + 1000);
  EXPECT_EQ(got->next_poll_ms, kNow + 2000);
  EXPECT_EQ(got->state, WatchState::kPending);
  EXPECT_EQ(got->poll_count, 0u);
  EXPECT_EQ(got->error_streak, 0u);
  EXPECT_EQ(got->cycle_ended_ms, 0);
  EXPECT_EQ(got->not_found_since_ms, 0);
  EXPECT_EQ(got->last_status, "");
  EXPECT_EQ(got->fingerprint, "");
  EXPECT_EQ(got->detail, "");
  next = store_->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kNow + 2000);
}

TEST_F(StoreTest, RewatchOfPendingWatchKeepsItsCycleAndLaterPoll) {
  WatchRecord record = Add(key_, kNow + 100);
  record.poll_count = 3;
  record.next_poll_ms = kNow + 700;
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {})}).ok());

  auto added = store_->AddWatches({key_}, kNow + 900, kNow + 900);
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE((*added)[0].created);
  EXPECT_FALSE((*added)[0].new_cycle);
  EXPECT_FALSE((*added)[0].polled_sooner);
  EXPECT_EQ((*added)[0].cycle, 1u);

  auto got = store_->GetWatch(key_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->poll_count, 3u);
  EXPECT_EQ(got->next_poll_ms, kNow + 700);
  EXPECT_EQ(got->cycle_started_ms, kNow);
  auto due = store_->DueWatches(kNow + 10'000, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 1u);
}

TEST_F(StoreTest, ApplySkipsUpdateForAnotherCycle) {
  WatchRecord record = Add(key_);
  WatchRecord changed = record;
  changed.poll_count = 9;
  changed.cycle = 2;
  WatchUpdate stale = UpdateWithEvents(key_, changed, {MakeEvent("e1", kNow)});
  stale.expected_cycle = 2;
  stale.history = HistoryEntry{kNow, 2, 200, "document", "autorizado", "event autorizado"};
  WatchUpdate unknown =
      UpdateWithEvents({"acme", DocType::kNfe, "never-watched"}, changed, {MakeEvent("e2", kNow)});

  ASSERT_TRUE(store_->Apply({stale, unknown}).ok());

  auto got = store_->GetWatch(key_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->poll_count, 0u);
  EXPECT_EQ(got->cycle, 1u);
  auto events = store_->EventsFor(key_);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  auto history = store_->History(key_);
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  EXPECT_FALSE(store_->GetWatch(unknown.key).ok());
}

TEST_F(StoreTest, HistoryKeepsOrderOfEqualTimesAndDropsTheOldest) {
  WatchRecord record = Add(key_);
  for (int i = 0; i < 205; ++i) {
    WatchUpdate update = UpdateWithEvents(key_, record, {});
    // Pairs of entries share a time, so order within a time comes from the counter.
    update.history =
        HistoryEntry{kNow + i / 2, 1, 200, "document", "processando", std::to_string(i)};
    ASSERT_TRUE(store_->Apply({update}).ok());
  }
  auto history = store_->History(key_);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 200u);
  for (size_t i = 0; i < history->size(); ++i)
    EXPECT_EQ((*history)[i].note, std::to_string(i + 5));
}

TEST_F(StoreTest, HistoryOfOneRefExcludesRefsItIsAPrefixOf) {
  WatchKey longer{"acme", DocType::kNfe, key_.ref + "0"};
  WatchRecord record = Add(key_);
  WatchRecord longer_record = Add(longer);
  WatchUpdate mine = UpdateWithEvents(key_, record, {});
  mine.history = HistoryEntry{kNow, 1, 404, "not_found", "", "mine"};
  WatchUpdate theirs = UpdateWithEvents(longer, longer_record, {MakeEvent("theirs", kNow)});
  theirs.history = HistoryEntry{kNow - 1, 1, 404, "not_found", "", "theirs"};
  ASSERT_TRUE(store_->Apply({mine, theirs}).ok());

  auto history = store_->History(key_);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].note, "mine");
  EXPECT_EQ((*history)[0].http_status, 404);
  EXPECT_EQ((*history)[0].outcome, "not_found");
  auto events = store_->EventsFor(key_);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST_F(StoreTest, ListWatchesSelectsOneCompanyAndType) {
  Add({"acme", DocType::kNfe, "1"});
  Add({"acme", DocType::kNfse, "2"});
  Add({"acmex", DocType::kNfe, "3"});
  Add({"beta", DocType::kNfe, "4"});

  auto acme = store_->ListWatches("acme", std::nullopt, 10);
  ASSERT_TRUE(acme.ok());
  EXPECT_EQ(Refs(*acme), (std::vector<std::string>{"1", "2"}));
  auto acme_nfse = store_->ListWatches("acme", DocType::kNfse, 10);
  ASSERT_TRUE(acme_nfse.ok());
  EXPECT_EQ(Refs(*acme_nfse), (std::vector<std::string>{"2"}));
  auto every_nfe = store_->ListWatches("", DocType::kNfe, 10);
  ASSERT_TRUE(every_nfe.ok());
  EXPECT_EQ(Refs(*every_nfe), (std::vector<std::string>{"1", "3", "4"}));
  auto first_two = store_->ListWatches("", std::nullopt, 2);
  ASSERT_TRUE(first_two.ok());
  EXPECT_EQ(Refs(*first_two), (std::vector<std::string>{"1", "2"}));
}

// ---- outbox ------------------------------------------------------------------------------

TEST_F(StoreTest, DuplicateEventIdIsAppendedOnce) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {MakeEvent("same", kNow)})}).ok());
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {MakeEvent("same", kNow)})}).ok());

  auto events = store_->EventsFor(key_);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].seq, 1u);
  EXPECT_EQ((*events)[0].id, "same");
  EXPECT_EQ((*events)[0].key, key_);
  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{1}));
}

TEST_F(StoreTest, EventsOfOneDocumentAreReadyOneAtATimeInOrder) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_
                  ->Apply({UpdateWithEvents(
                      key_, record, {MakeEvent("first", kNow + 10), MakeEvent("second", kNow)})})
                  .ok());

  auto ready = store_->ReadyEvents("acme", kNow + 100, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0].id, "first");
  EXPECT_EQ((*ready)[0].payload, R"({"status":"autorizado"})");
  auto not_yet = store_->ReadyEvents("acme", kNow + 9, 10);
  ASSERT_TRUE(not_yet.ok());
  EXPECT_TRUE(not_yet->empty());
  auto next = store_->ReadyEvents("acme", std::numeric_limits<int64_t>::max(), 1);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].next_attempt_ms, kNow + 10);
}

TEST_F(StoreTest, DeliveredEventReleasesTheNextOne) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_
                  ->Apply({UpdateWithEvents(key_, record,
                                            {MakeEvent("first", kNow), MakeEvent("second", kNow)})})
                  .ok());

  ASSERT_TRUE(
      store_->RecordAttempt(1, MakeAttempt(1, kNow + 5, 200), EventState::kDelivered, 0).ok());

  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{2}));
  auto first = store_->GetEvent(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, EventState::kDelivered);
  EXPECT_EQ(first->delivered_ms, kNow + 5);
  EXPECT_EQ(first->attempts, 1u);
  auto attempts = store_->Attempts(1);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].event_seq, 1u);
  EXPECT_EQ((*attempts)[0].http_status, 200);
  EXPECT_EQ((*attempts)[0].sink, "http://erp.local/hook");
  EXPECT_EQ((*attempts)[0].duration_ms, 12);
  EXPECT_EQ((*attempts)[0].response_excerpt, "ok");
}

TEST_F(StoreTest, DeadEventReleasesTheNextOneAndIsNotRetried) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_
                  ->Apply({UpdateWithEvents(key_, record,
                                            {MakeEvent("first", kNow), MakeEvent("second", kNow)})})
                  .ok());

  AttemptRecord failed = MakeAttempt(1, kNow, 0);
  failed.error = "connection refused";
  ASSERT_TRUE(store_->RecordAttempt(1, failed, EventState::kDead, 0).ok());

  auto ready = store_->ReadyEvents("acme", kNow + 1'000'000, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{2}));
  auto first = store_->GetEvent(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, EventState::kDead);
  EXPECT_EQ(first->delivered_ms, 0);
}

TEST_F(StoreTest, PendingAttemptReschedules) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {MakeEvent("e", kNow)})}).ok());

  ASSERT_TRUE(
      store_->RecordAttempt(1, MakeAttempt(1, kNow, 503), EventState::kPending, kNow + 5000).ok());
  ASSERT_TRUE(
      store_->RecordAttempt(1, MakeAttempt(2, kNow + 5000, 503), EventState::kPending, kNow + 9000)
          .ok());

  auto early = store_->ReadyEvents("acme", kNow + 8999, 10);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  auto due = store_->ReadyEvents("acme", kNow + 9000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempts, 2u);
  EXPECT_EQ((*due)[0].next_attempt_ms, kNow + 9000);
  auto next = store_->ReadyEvents("acme", std::numeric_limits<int64_t>::max(), 1);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].next_attempt_ms, kNow + 9000);
  auto attempts = store_->Attempts(1);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].number, 1u);
  EXPECT_EQ((*attempts)[1].number, 2u);
}

TEST_F(StoreTest, EventsOfDifferentDocumentsDoNotBlockEachOther) {
  WatchKey other{"acme", DocType::kNfe, "PED-2"};
  WatchRecord record = Add(key_);
  WatchRecord other_record = Add(other);
  ASSERT_TRUE(store_
                  ->Apply({UpdateWithEvents(key_, record, {MakeEvent("a1", kNow)}),
                           UpdateWithEvents(other, other_record, {MakeEvent("b1", kNow + 1)})})
                  .ok());
  ASSERT_TRUE(
      store_->RecordAttempt(1, MakeAttempt(1, kNow, 500), EventState::kPending, kNow + 60'000)
          .ok());

  auto ready = store_->ReadyEvents("acme", kNow + 1, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{2}));
  EXPECT_EQ((*ready)[0].key, other);
}

TEST_F(StoreTest, AttemptOnUnknownEventIsNotFound) {
  Status status = store_->RecordAttempt(42, MakeAttempt(1, kNow, 200), EventState::kDelivered, 0);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_NE(status.message().find("seq 42"), std::string::npos);
}

// ---- tokens and counters -----------------------------------------------------------------

TEST_F(StoreTest, TokenRecordRoundTrips) {
  auto missing = store_->GetToken("0123456789abcdef");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  TokenRecord token{100, 42, kNow + 60'000, kNow + 30'000, kNow, 12345, 3, 17, 80, "acme,beta"};
  ASSERT_TRUE(store_->PutToken("0123456789abcdef", token).ok());
  auto got = store_->GetToken("0123456789abcdef");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->limit, 100);
  EXPECT_EQ(got->remaining, 42);
  EXPECT_EQ(got->reset_at_ms, kNow + 60'000);
  EXPECT_EQ(got->paused_until_ms, kNow + 30'000);
  EXPECT_EQ(got->updated_ms, kNow);
  EXPECT_EQ(got->polls_total, 12345);
  EXPECT_EQ(got->rate_limited_total, 3);
  EXPECT_EQ(got->polls_in_window, 17);
  EXPECT_EQ(got->share_credits, 80);
  EXPECT_EQ(got->companies, "acme,beta");
  auto all = store_->Tokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().first, "0123456789abcdef");
}

TEST_F(StoreTest, CountsByState) {
  WatchKey done{"acme", DocType::kNfe, "done"};
  WatchKey paused{"acme", DocType::kNfe, "paused"};
  WatchKey following{"acme", DocType::kNfe, "following"};
  WatchRecord record = Add(key_);
  Add(done);
  Add(paused);
  Add(following);
  WatchRecord done_record = record;
  done_record.state = WatchState::kDone;
  WatchRecord paused_record = record;
  paused_record.state = WatchState::kPaused;
  WatchRecord following_record = record;
  following_record.state = WatchState::kFollowing;
  following_record.error_streak = 2;
  ASSERT_TRUE(store_
                  ->Apply({UpdateWithEvents(key_, record,
                                            {MakeEvent("p1", kNow), MakeEvent("p2", kNow),
                                             MakeEvent("p3", kNow)}),
                           UpdateWithEvents(done, done_record, {}),
                           UpdateWithEvents(paused, paused_record, {}),
                           UpdateWithEvents(following, following_record, {})})
                  .ok());
  ASSERT_TRUE(store_->RecordAttempt(1, MakeAttempt(1, kNow, 200), EventState::kDelivered, 0).ok());
  ASSERT_TRUE(store_->RecordAttempt(2, MakeAttempt(1, kNow, 410), EventState::kDead, 0).ok());

  auto counts = store_->Counts();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->watches_pending, 1u);
  EXPECT_EQ(counts->watches_following, 1u);
  EXPECT_EQ(counts->watches_done, 1u);
  EXPECT_EQ(counts->watches_paused, 1u);
  EXPECT_EQ(counts->watches_failing, 1u);
  EXPECT_EQ(counts->events_pending, 1u);
  EXPECT_EQ(counts->events_delivered, 1u);
  EXPECT_EQ(counts->events_dead, 1u);
}

// ---- environment -------------------------------------------------------------------------

TEST_F(StoreTest, DataSurvivesReopen) {
  WatchRecord record = Add(key_, kNow + 100);
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {MakeEvent("e", kNow)})}).ok());
  store_.reset();

  std::unique_ptr<Store> reopened = OpenStore(dir());
  ASSERT_NE(reopened, nullptr);
  auto got = reopened->GetWatch(key_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->next_poll_ms, kNow + 100);
  auto next = reopened->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kNow + 100);
  auto ready = reopened->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{1}));

  // The outbox sequence continues where it stopped instead of reusing seq 1.
  ASSERT_TRUE(reopened->Apply({UpdateWithEvents(key_, record, {MakeEvent("e2", kNow)})}).ok());
  auto events = reopened->EventsFor(key_);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Seqs(*events), (std::vector<uint64_t>{1, 2}));
}

// Runs `child` in a forked process and returns its exit status (-1 if it did not exit).
int RunInChild(const std::function<int()>& child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_F(StoreTest, WritesOfAnotherProcessAreVisible) {
  WatchKey from_cli{"acme", DocType::kNfse, "from-cli"};
  std::string data_dir = dir();
  // LMDB forbids using an environment across fork(), so the child opens its own, as the CLI
  // would, while this process keeps store_ open.
  int exit_code = RunInChild([&] {
    Result<std::unique_ptr<Store>> cli = Store::Open(Store::Options{data_dir});
    if (!cli.ok()) return 1;
    return (*cli)->AddWatches({from_cli}, kNow, kNow + 1).ok() ? 0 : 2;
  });
  ASSERT_EQ(exit_code, 0);

  auto seen_by_open_store = store_->GetWatch(from_cli);
  ASSERT_TRUE(seen_by_open_store.ok()) << seen_by_open_store.status().ToString();
  EXPECT_EQ(seen_by_open_store->next_poll_ms, kNow + 1);

  std::unique_ptr<Store> fresh = OpenStore(dir());
  ASSERT_NE(fresh, nullptr);
  auto due = fresh->DueWatches(kNow + 1, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Refs(*due), (std::vector<std::string>{"from-cli"}));
}

TEST_F(StoreTest, MapGrownByAnotherProcessIsAdopted) {
  Store::Options options;
  options.dir = temp_.Sub("shared");
  options.initial_map_bytes = 64 << 10;
  std::unique_ptr<Store> daemon = OpenStore(options);
  ASSERT_NE(daemon, nullptr);

  // The child writes far more than this process's map holds, growing the map as it goes.
  int exit_code = RunInChild([&] {
    Result<std::unique_ptr<Store>> cli = Store::Open(options);
    if (!cli.ok()) return 1;
    std::vector<WatchKey> batch;
    for (int i = 0; i < 2000; ++i)
      batch.push_back({"acme", DocType::kNfe, std::to_string(i)});
    return (*cli)->AddWatches(batch, kNow, kNow).ok() ? 0 : 2;
  });
  ASSERT_EQ(exit_code, 0);

  auto listed = daemon->ListWatches("acme", std::nullopt, 10'000);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 2000u);
  ASSERT_TRUE(daemon->AddWatches({key_}, kNow, kNow).ok());
  auto counts = daemon->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->watches_pending, 2001u);
}

TEST_F(StoreTest, MapGrowsWhenFull) {
  Store::Options options;
  options.dir = temp_.Sub("small");
  options.initial_map_bytes = 64 << 10;
  std::unique_ptr<Store> small = OpenStore(options);
  ASSERT_NE(small, nullptr);

  // One transaction far larger than the map, then many small ones.
  std::vector<WatchKey> batch;
  for (int i = 0; i < 2000; ++i)
    batch.push_back({"acme", DocType::kNfe, "batch-" + std::to_string(i)});
  auto added = small->AddWatches(batch, kNow, kNow);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  for (int i = 0; i < 200; ++i) {
    WatchKey key{"beta", DocType::kNfe, "one-" + std::to_string(i)};
    ASSERT_TRUE(small->AddWatches({key}, kNow, kNow).ok()) << i;
  }

  auto acme = small->ListWatches("acme", std::nullopt, 10'000);
  ASSERT_TRUE(acme.ok());
  EXPECT_EQ(acme->size(), 2000u);
  auto counts = small->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->watches_pending, 2200u);
}

TEST_F(StoreTest, MapFullAtTheMaximumIsResourceExhausted) {
  Store::Options options;
  options.dir = temp_.Sub("capped");
  options.initial_map_bytes = 64 << 10;
  options.max_map_bytes = 128 << 10;
  std::unique_ptr<Store> capped = OpenStore(options);
  ASSERT_NE(capped, nullptr);

  std::vector<WatchKey> batch;
  for (int i = 0; i < 5000; ++i)
    batch.push_back({"acme", DocType::kNfe, "ref-" + std::to_string(i)});
  auto added = capped->AddWatches(batch, kNow, kNow);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), Status::Code::kResourceExhausted);
  EXPECT_NE(added.status().message().find(options.dir), std::string::npos);
  // Nothing of the failed transaction is visible.
  EXPECT_FALSE(capped->GetWatch(batch[0]).ok());
}

TEST_F(StoreTest, AFullMapNamesWhatToDoAndKeepsWhatWasCommitted) {
  Store::Options options;
  options.dir = temp_.Sub("capped");
  options.initial_map_bytes = 64 << 10;
  options.max_map_bytes = 256 << 10;
  options.when_full = "raise store_max_mib in /etc/gatilho/gatilho.conf";
  std::unique_ptr<Store> capped = OpenStore(options);
  ASSERT_NE(capped, nullptr);
  ASSERT_TRUE(capped->AddWatches({key_}, kNow, kNow).ok());

  std::vector<WatchKey> batch;
  for (int i = 0; i < 5000; ++i)
    batch.push_back({"acme", DocType::kNfe, "ref-" + std::to_string(i)});
  auto added = capped->AddWatches(batch, kNow, kNow);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), Status::Code::kResourceExhausted);
  EXPECT_NE(added.status().message().find("is full"), std::string::npos);
  EXPECT_NE(added.status().message().find(options.when_full), std::string::npos)
      << added.status().message();

  // The store still reads and takes small writes; reopened, it holds what was committed.
  EXPECT_TRUE(capped->GetWatch(key_).ok());
  ASSERT_TRUE(capped->AddWatches({{"acme", DocType::kNfe, "small"}}, kNow, kNow).ok());
  capped.reset();
  std::unique_ptr<Store> reopened = OpenStore(options);
  ASSERT_NE(reopened, nullptr);
  auto counts = reopened->Counts();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->watches_pending, 2u);
}

TEST_F(StoreTest, ShiftPollsMovesTheScheduleAndThePolicysTimesButNotTheRecordedOnes) {
  WatchRecord first = Add(key_, kNow + 60'000);
  const WatchKey other{"acme", DocType::kNfe, "PED-2"};
  Add(other, kNow + 120'000);
  const int64_t back = -24 * 3600'000LL;

  Result<uint64_t> moved = store_->ShiftPolls(back);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 2u);

  auto shifted = store_->GetWatch(key_);
  ASSERT_TRUE(shifted.ok());
  EXPECT_EQ(shifted->next_poll_ms, kNow + 60'000 + back);
  EXPECT_EQ(shifted->cycle_started_ms, first.cycle_started_ms + back);
  EXPECT_EQ(shifted->created_ms, first.created_ms);
  // The `due` index moved with the records: both are due a day earlier, in order.
  auto due = store_->DueWatches(kNow + 120'000 + back, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(Refs(*due), (std::vector<std::string>{"PED-1", "PED-2"}));
  auto next = store_->NextDueMs();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(**next, kNow + 60'000 + back);
}

TEST_F(StoreTest, ShiftRetriesMovesPendingEventsOnly) {
  WatchRecord record = Add(key_);
  EventRecord pending = MakeEvent("pending", kNow + 5'000);
  pending.first_attempt_ms = kNow - 1'000;
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {pending})}).ok());
  const WatchKey other{"acme", DocType::kNfe, "PED-2"};
  WatchRecord other_record = Add(other);
  ASSERT_TRUE(
      store_->Apply({UpdateWithEvents(other, other_record, {MakeEvent("done", kNow)})}).ok());
  auto done_seq = store_->FindEvent("done");
  ASSERT_TRUE(done_seq.ok());
  ASSERT_TRUE(
      store_->RecordAttempt(done_seq->seq, MakeAttempt(1, kNow, 200), EventState::kDelivered, 0)
          .ok());
  const int64_t forward = 24 * 3600'000LL;

  Result<uint64_t> moved = store_->ShiftRetries(forward);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 1u);

  auto shifted = store_->FindEvent("pending");
  ASSERT_TRUE(shifted.ok());
  EXPECT_EQ(shifted->next_attempt_ms, kNow + 5'000 + forward);
  EXPECT_EQ(shifted->first_attempt_ms, kNow - 1'000 + forward);
  EXPECT_EQ(shifted->created_ms, pending.created_ms);
  // Ready at its new time, not before.
  auto early = store_->ReadyEvents("acme", kNow + 5'000, 10);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  auto ready = store_->ReadyEvents("acme", kNow + 5'000 + forward, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0].id, "pending");
  auto done = store_->FindEvent("done");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, EventState::kDelivered);
}

TEST_F(StoreTest, UnwritableDirFailsWithClearMessage) {
  // A path under a regular file cannot be created even by root.
  std::string file = temp_.WriteFile("file", "not a directory");
  std::string bad = file + "/sub";
  auto opened = Store::Open(Store::Options{bad});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kIoError);
  EXPECT_NE(opened.status().message().find(bad), std::string::npos);
  EXPECT_NE(opened.status().message().find("permissions"), std::string::npos);
  EXPECT_NE(opened.status().message().find("data_dir"), std::string::npos);
}

// Writes `value` under `key` in `table_name` of the environment in `dir`, bypassing the store.
void RawPut(const std::string& dir, const char* table_name, const std::string& key,
            const std::string& value) {
  auto env = LmdbEnv::Open(LmdbEnv::Options{dir, 1 << 20, 1 << 20, 16, ""});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  Table table{table_name};
  Status s = (*env)->Write([&](LmdbTxn& txn) -> Status {
    if (Status opened = txn.OpenTable(&table); !opened.ok()) return opened;
    return txn.Put(table, key, value);
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST_F(StoreTest, SchemaVersionMismatchIsRefused) {
  store_.reset();
  RawPut(dir(), "meta", "schema_version", Be32(2));

  auto opened = Store::Open(Store::Options{dir()});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("store at " + dir() + " has schema version 2"),
            std::string::npos)
      << opened.status().message();
  EXPECT_NE(opened.status().message().find("reads version 1"), std::string::npos);
}

TEST_F(StoreTest, CorruptRecordIsReportedNotCrashed) {
  Add(key_);
  WatchKey truncated{"acme", DocType::kNfe, "truncated"};
  Add(truncated);
  store_.reset();
  RawPut(dir(), "watches", key_.Encode(), "\x09garbage");
  RawPut(dir(), "watches", truncated.Encode(), EncodeWatchRecord(WatchRecord()).substr(0, 10));
  store_ = OpenStore(dir());
  ASSERT_NE(store_, nullptr);

  auto unknown_version = store_->GetWatch(key_);
  ASSERT_FALSE(unknown_version.ok());
  EXPECT_EQ(unknown_version.status().code(), Status::Code::kCorruption);
  EXPECT_NE(unknown_version.status().message().find("'watches'"), std::string::npos);
  EXPECT_NE(unknown_version.status().message().find(key_.ToString()), std::string::npos);
  EXPECT_NE(unknown_version.status().message().find("version 9"), std::string::npos);

  auto short_value = store_->GetWatch(truncated);
  ASSERT_FALSE(short_value.ok());
  EXPECT_EQ(short_value.status().code(), Status::Code::kCorruption);
  EXPECT_NE(short_value.status().message().find("truncated"), std::string::npos);

  auto due = store_->DueWatches(kNow, 10);
  ASSERT_FALSE(due.ok());
  EXPECT_EQ(due.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace gatilho

namespace gatilho {
namespace {

TEST_F(StoreTest, RescheduleMovesAPendingEventWithoutCountingAnAttempt) {
  WatchRecord record = Add(key_);
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {MakeEvent("evt_a", kNow)})}).ok());
  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u);
  uint64_t seq = ready->front().seq;

  ASSERT_TRUE(store_->Reschedule(seq, kNow + 60'000).ok());

  EXPECT_TRUE(store_->ReadyEvents("acme", kNow, 10)->empty());
  auto later = store_->ReadyEvents("acme", kNow + 60'000, 10);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->front().attempts, 0u);
  EXPECT_EQ(later->front().next_attempt_ms, kNow + 60'000);
}

}  // namespace
}  // namespace gatilho

namespace gatilho {
namespace {

TEST_F(StoreTest, RewatchOfFollowedWatchBringsItsNextPollForward) {
  WatchRecord record = Add(key_);
  record.state = WatchState::kFollowing;
  record.last_status = "autorizado";
  record.next_poll_ms = kNow + 30 * 60'000;
  ASSERT_TRUE(store_->Apply({UpdateWithEvents(key_, record, {})}).ok());

  auto added = store_->AddWatches({key_}, kNow + 1'000, kNow + 2'000);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE((*added)[0].polled_sooner);
  EXPECT_FALSE((*added)[0].new_cycle);

  auto got = store_->GetWatch(key_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, WatchState::kFollowing);
  EXPECT_EQ(got->last_status, "autorizado");
  EXPECT_EQ(got->next_poll_ms, kNow + 2'000);
  auto due = store_->DueWatches(kNow + 2'000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ(due->front().record.next_poll_ms, kNow + 2'000);
}

}  // namespace
}  // namespace gatilho

namespace gatilho {
namespace {

TEST_F(StoreTest, ModelsRoundTripAndReplace) {
  ASSERT_TRUE(
      store_->PutModels({{"acme", DocType::kNfe, "v1-a"}, {"beta", DocType::kNfse, "b"}}).ok());
  ASSERT_TRUE(store_->PutModels({{"acme", DocType::kNfe, "v1-a2"}}).ok());
  auto models = store_->Models();
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].company, "acme");
  EXPECT_EQ((*models)[0].type, DocType::kNfe);
  EXPECT_EQ((*models)[0].bytes, "v1-a2");
  EXPECT_EQ((*models)[1].company, "beta");
  EXPECT_EQ((*models)[1].type, DocType::kNfse);
}

// ---- delivery operations -------------------------------------------------------------------

// Adds one event for `key` (a watch is registered for it first) and returns its seq.
class DeliveryStoreTest : public StoreTest {
 protected:
  uint64_t AddEvent(const WatchKey& key, const std::string& id, int64_t at_ms) {
    auto existing = store_->GetWatch(key);
    WatchRecord record = existing.ok() ? *existing : Add(key);
    EXPECT_TRUE(store_->Apply({UpdateWithEvents(key, record, {MakeEvent(id, at_ms)})}).ok());
    auto found = store_->FindEvent(id);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() ? found->seq : 0;
  }
};

TEST_F(DeliveryStoreTest, ReadyEventsAreSeparatedByCompany) {
  AddEvent({"acme", DocType::kNfe, "1"}, "a1", kNow);
  AddEvent({"beta", DocType::kNfe, "1"}, "b1", kNow - 10);
  AddEvent({"acme", DocType::kNfe, "2"}, "a2", kNow - 5);

  auto acme = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(acme.ok());
  ASSERT_EQ(acme->size(), 2u);
  EXPECT_EQ((*acme)[0].id, "a2") << "earliest first within the company";
  EXPECT_EQ((*acme)[1].id, "a1");
  auto beta = store_->ReadyEvents("beta", kNow, 10);
  ASSERT_TRUE(beta.ok());
  ASSERT_EQ(beta->size(), 1u);
  EXPECT_EQ((*beta)[0].id, "b1");
  EXPECT_TRUE(store_->ReadyEvents("acm", kNow, 10)->empty()) << "a prefix is not a company";

  auto times = store_->ReadyTimes("acme", 10);
  ASSERT_TRUE(times.ok());
  EXPECT_EQ(*times, (std::vector<std::pair<int64_t, uint64_t>>{{kNow - 5, (*acme)[0].seq},
                                                               {kNow, (*acme)[1].seq}}));
  EXPECT_EQ(store_->ReadyTimes("acme", 1)->size(), 1u);

  auto companies = store_->CompaniesWithPendingEvents();
  ASSERT_TRUE(companies.ok());
  EXPECT_EQ(*companies, (std::vector<std::string>{"acme", "beta"}));
}

TEST_F(DeliveryStoreTest, RedeliverPutsAFinishedEventBackWithItsIdAndANewRound) {
  uint64_t seq = AddEvent(key_, "evt-1", kNow);
  ASSERT_TRUE(store_->RecordAttempt(seq, MakeAttempt(1, kNow, 500), EventState::kDead, 0).ok());
  ASSERT_TRUE(store_->ReadyEvents("acme", kNow + 1, 10)->empty());

  auto changed = store_->Redeliver(seq, kNow + 100);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  auto ready = store_->ReadyEvents("acme", kNow + 100, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0].id, "evt-1");
  EXPECT_EQ((*ready)[0].state, EventState::kPending);
  EXPECT_EQ((*ready)[0].first_attempt_ms, 0) << "the retry horizon starts again";
  EXPECT_EQ((*ready)[0].attempts, 1u) << "attempt numbers go on, the log is kept";

  auto again = store_->Redeliver(seq, kNow + 200);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "a pending event is left alone";
  EXPECT_EQ(store_->Redeliver(999, kNow).status().code(), Status::Code::kNotFound);
}

TEST_F(DeliveryStoreTest, RedeliveredOlderEventGoesOutBeforeTheDocumentsNextOne) {
  uint64_t first = AddEvent(key_, "first", kNow);
  ASSERT_TRUE(
      store_->RecordAttempt(first, MakeAttempt(1, kNow, 204), EventState::kDelivered, 0).ok());
  AddEvent(key_, "second", kNow + 10);
  ASSERT_TRUE(store_->Redeliver(first, kNow + 20).ok());

  auto ready = store_->ReadyEvents("acme", kNow + 1000, 10);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 1u) << "one head per document";
  EXPECT_EQ((*ready)[0].id, "first");
}

TEST_F(DeliveryStoreTest, RecordAttemptKeepsTheFirstAttemptTimeAndTheFinishTime) {
  uint64_t seq = AddEvent(key_, "evt", kNow);
  ASSERT_TRUE(
      store_->RecordAttempt(seq, MakeAttempt(1, kNow + 5, 503), EventState::kPending, kNow + 5000)
          .ok());
  ASSERT_TRUE(
      store_->RecordAttempt(seq, MakeAttempt(2, kNow + 5000, 204), EventState::kDelivered, 0).ok());
  auto event = store_->GetEvent(seq);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->first_attempt_ms, kNow + 5);
  EXPECT_EQ(event->finished_ms, kNow + 5000);
  EXPECT_EQ(event->delivered_ms, kNow + 5000);
}

TEST_F(DeliveryStoreTest, AttemptLogKeepsOnlyTheLatestAttempts) {
  uint64_t seq = AddEvent(key_, "evt", kNow);
  const uint32_t total = Store::kMaxAttemptsPerEvent + 25;
  for (uint32_t n = 1; n <= total; ++n) {
    ASSERT_TRUE(
        store_->RecordAttempt(seq, MakeAttempt(n, kNow + n, 429), EventState::kPending, kNow + n)
            .ok());
  }
  auto attempts = store_->Attempts(seq);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), Store::kMaxAttemptsPerEvent);
  EXPECT_EQ(attempts->front().number, total - Store::kMaxAttemptsPerEvent + 1);
  EXPECT_EQ(attempts->back().number, total);
  EXPECT_EQ(store_->GetEvent(seq)->attempts, total);
}

TEST_F(DeliveryStoreTest, FindEventLooksUpByWebhookId) {
  uint64_t seq = AddEvent(key_, "the-id", kNow);
  auto found = store_->FindEvent("the-id");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->seq, seq);
  auto missing = store_->FindEvent("nope");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

TEST_F(DeliveryStoreTest, ListEventsFiltersByCompanyStateAndTime) {
  uint64_t a1 = AddEvent({"acme", DocType::kNfe, "1"}, "a1", kNow);
  AddEvent({"acme", DocType::kNfe, "2"}, "a2", kNow + 1000);
  AddEvent({"beta", DocType::kNfe, "1"}, "b1", kNow + 2000);
  ASSERT_TRUE(store_->RecordAttempt(a1, MakeAttempt(1, kNow, 500), EventState::kDead, 0).ok());

  auto ids = [&](const EventQuery& filter) {
    std::vector<std::string> out;
    auto listed = store_->ListEvents(filter);
    EXPECT_TRUE(listed.ok());
    if (listed.ok()) {
      for (const EventRecord& e : *listed)
        out.push_back(e.id);
    }
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(ids({"acme", std::nullopt, 0, 100}), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(ids({"", EventState::kDead, 0, 100}), (std::vector<std::string>{"a1"}));
  EXPECT_EQ(ids({"", EventState::kPending, kNow + 1500, 100}), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(ids({"", std::nullopt, 0, 2}), (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(DeliveryStoreTest, SupersedeLeavesOnlyTheNewestPendingEventOfTheDocument) {
  uint64_t first = AddEvent(key_, "autorizado", kNow);
  uint64_t second = AddEvent(key_, "carta", kNow + 10);
  uint64_t third = AddEvent(key_, "cancelado", kNow + 20);
  uint64_t other = AddEvent({"acme", DocType::kNfe, "other"}, "other", kNow);

  auto superseded = store_->SupersedeOlderEvents(key_, kNow + 30);
  ASSERT_TRUE(superseded.ok()) << superseded.status().ToString();
  EXPECT_EQ(*superseded, 2u);
  EXPECT_EQ(store_->GetEvent(first)->state, EventState::kSuperseded);
  EXPECT_EQ(store_->GetEvent(second)->state, EventState::kSuperseded);
  EXPECT_EQ(store_->GetEvent(second)->finished_ms, kNow + 30);
  auto ready = store_->ReadyEvents("acme", kNow + 100, 10);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{other, third}));
  EXPECT_EQ(*store_->SupersedeOlderEvents(key_, kNow + 40), 0u) << "one left: nothing to do";
  EXPECT_EQ(store_->Counts()->events_superseded, 2u);
}

TEST_F(DeliveryStoreTest, PruneRemovesOldFinishedEventsWithTheirAttemptsAndIds) {
  const int64_t day = 24 * 3600 * 1000;
  uint64_t old_done = AddEvent({"acme", DocType::kNfe, "1"}, "old-done", kNow);
  uint64_t old_pending = AddEvent({"acme", DocType::kNfe, "2"}, "old-pending", kNow);
  uint64_t late_finish = AddEvent({"acme", DocType::kNfe, "3"}, "late-finish", kNow);
  uint64_t young = AddEvent({"acme", DocType::kNfe, "4"}, "young", kNow + 40 * day);
  ASSERT_TRUE(
      store_->RecordAttempt(old_done, MakeAttempt(1, kNow + 1, 204), EventState::kDelivered, 0)
          .ok());
  ASSERT_TRUE(
      store_->RecordAttempt(late_finish, MakeAttempt(1, kNow + 35 * day, 500), EventState::kDead, 0)
          .ok());
  ASSERT_TRUE(
      store_->RecordAttempt(young, MakeAttempt(1, kNow + 40 * day, 204), EventState::kDelivered, 0)
          .ok());

  auto pruned = store_->PruneFinished(kNow + 30 * day, 1000);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(pruned->events, 1u);
  EXPECT_EQ(pruned->attempts, 1u);
  EXPECT_FALSE(pruned->more);
  EXPECT_EQ(store_->GetEvent(old_done).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->Attempts(old_done)->empty());
  EXPECT_EQ(store_->FindEvent("old-done").status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->GetEvent(old_pending).ok()) << "pending events are never pruned";
  EXPECT_TRUE(store_->GetEvent(late_finish).ok()) << "retention counts from the finish";
  EXPECT_TRUE(store_->GetEvent(young).ok());
}

TEST_F(DeliveryStoreTest, PruneStopsAtItsScanBound) {
  for (int i = 0; i < 5; ++i) {
    uint64_t seq =
        AddEvent({"acme", DocType::kNfe, std::to_string(i)}, "e" + std::to_string(i), kNow);
    ASSERT_TRUE(
        store_->RecordAttempt(seq, MakeAttempt(1, kNow, 204), EventState::kDelivered, 0).ok());
  }
  auto first = store_->PruneFinished(kNow + 1, 3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->events, 3u);
  EXPECT_TRUE(first->more);
  auto second = store_->PruneFinished(kNow + 1, 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->events, 2u);
  EXPECT_FALSE(second->more);
}

TEST_F(DeliveryStoreTest, EndpointRecordsPersistAcrossReopen) {
  EXPECT_FALSE(store_->GetEndpoint("http://erp/hook")->disabled) << "enabled unless stored";
  ASSERT_TRUE(store_->PutEndpoint("http://erp/hook", {true, "410 Gone", kNow}).ok());
  store_.reset();
  store_ = OpenStore(dir());
  auto endpoint = store_->GetEndpoint("http://erp/hook");
  ASSERT_TRUE(endpoint.ok());
  EXPECT_TRUE(endpoint->disabled);
  EXPECT_EQ(endpoint->reason, "410 Gone");
  auto all = store_->Endpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].first, "http://erp/hook");
}

TEST_F(DeliveryStoreTest, OpenMovesTheOldReadyTableIntoThePerCompanyOne) {
  uint64_t seq = AddEvent(key_, "evt", kNow);
  store_.reset();
  // Recreate the layout of a store written before per-company ready lists.
  auto env = LmdbEnv::Open(LmdbEnv::Options{dir(), 1 << 20, 1 << 20, 16, ""});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  Table company_ready{"company_ready"};
  Table legacy{"ready"};
  Status s = (*env)->Write([&](LmdbTxn& txn) -> Status {
    if (Status o = txn.OpenTable(&company_ready); !o.ok()) return o;
    if (Status o = txn.OpenTable(&legacy); !o.ok()) return o;
    if (Status d = txn.Delete(company_ready, ReadyKey("acme", kNow, seq)); !d.ok()) return d;
    return txn.Put(legacy, TimeKey(kNow) + Be64(seq), "");
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  env->reset();

  store_ = OpenStore(dir());
  ASSERT_NE(store_, nullptr);
  auto ready = store_->ReadyEvents("acme", kNow, 10);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(Seqs(*ready), (std::vector<uint64_t>{seq}));
}

}  // namespace
}  // namespace gatilho
