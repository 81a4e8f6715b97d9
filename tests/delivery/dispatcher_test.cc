#include "delivery/dispatcher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/store.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::gatilho::testing::LoopbackServer;
using ::gatilho::testing::TempDir;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
// The dispatcher's recheck delay for events of a company without a config file.
constexpr int64_t kOrphanRecheckMs = 10 * kMinute;

// The raw key behind kSecret; the test signs with it independently of the Signer.
constexpr char kRawKey[] = "gatilho-test-webhook-key";
// Odd spacing and non-ASCII on purpose: the delivered body must be these bytes, not a
// re-serialization.
constexpr char kPayload[] =
    "{ \"cnpj_emitente\":\"07504505000132\",  \"ref\":\"R1\", \"status\":\"autorizado\",\n"
    "  \"mensagem_sefaz\":\"Autoriza\xc3\xa7\xc3\xa3o ok\", \"numero\":\"1\" }";

std::string Base64(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

// The Standard Webhooks signature of one delivery, computed without the Signer under test.
std::string ExpectedSignature(const std::string& id, const std::string& timestamp,
                              const std::string& body) {
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), kRawKey, static_cast<int>(sizeof(kRawKey) - 1),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_size);
  return "v1," + Base64(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : server_([this](const LoopbackServer::Request& request) { return Answer(request); }) {}

  void SetUp() override {
    Store::Options store_options;
    store_options.dir = dir_.Sub("data");
    Result<std::unique_ptr<Store>> store = Store::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    Result<std::unique_ptr<HttpClient>> http = HttpClient::Create();
    ASSERT_TRUE(http.ok()) << http.status().ToString();
    http_ = std::move(*http);
  }

  // Replaces how the webhook endpoint answers; the default is 200.
  void SetAnswer(LoopbackServer::Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  LoopbackServer::Reply Answer(const LoopbackServer::Request& request) {
    std::lock_guard lock(mu_);
    if (handler_) return handler_(request);
    return LoopbackServer::Reply{.status = 200, .body = "ok"};
  }

  WebhookTarget Target(const std::string& url) const {
    WebhookTarget target;
    target.url = url;
    target.secrets = {"whsec_" + Base64(kRawKey)};
    target.timeout_ms = 5'000;
    return target;
  }

  void MakeDispatcher(std::map<std::string, WebhookTarget> targets, Dispatcher::Options options) {
    Result<std::unique_ptr<Dispatcher>> dispatcher =
        Dispatcher::Create(*store_, *http_, clock_, std::move(targets), options);
    ASSERT_TRUE(dispatcher.ok()) << dispatcher.status().ToString();
    dispatcher_ = std::move(*dispatcher);
  }

  void MakeDispatcher(Dispatcher::Options options = {}) {
    MakeDispatcher({{"acme", Target(server_.Url("/hook"))}, {"beta", Target(server_.Url("/hook"))}},
                   options);
  }

  // Puts one pending event for document `ref` of `company` in the outbox, due now, and returns
  // its sequence number.
  uint64_t AddEvent(const std::string& company, const std::string& ref, const std::string& type,
                    const std::string& payload = kPayload) {
    const WatchKey key{company, DocType::kNfe, ref};
    const int64_t now = clock_.WallMs();
    Result<std::vector<Store::AddOutcome>> added = store_->AddWatches({key}, now, now);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    Result<WatchRecord> record = store_->GetWatch(key);
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    if (!record.ok()) return 0;

    EventRecord event;
    event.id = "evt_" + company + "_" + ref + "_" + type;
    event.key = key;
    event.cycle = record->cycle;
    event.type = type;
    event.payload = payload;
    event.created_ms = now;
    event.next_attempt_ms = now;
    WatchUpdate update;
    update.key = key;
    update.expected_cycle = record->cycle;
    update.record = *record;
    update.events = {event};
    Status s = store_->Apply({update});
    EXPECT_TRUE(s.ok()) << s.ToString();

    Result<std::vector<EventRecord>> events = store_->EventsFor(key);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) return 0;
    for (const EventRecord& stored : *events) {
      if (stored.id == event.id) return stored.seq;
    }
    ADD_FAILURE() << "event " << event.id << " is not in the outbox";
    return 0;
  }

  EventRecord Event(uint64_t seq) {
    Result<EventRecord> event = store_->GetEvent(seq);
    EXPECT_TRUE(event.ok()) << event.status().ToString();
    return event.ok() ? *event : EventRecord{};
  }

  // One turn of the daemon's loop for the dispatcher: start what is due, then run the real
  // HTTP exchanges to completion (bounded by a real-time deadline). Returns how many deliveries
  // the turn started.
  size_t Turn() {
    Status s = dispatcher_->Pump();
    EXPECT_TRUE(s.ok()) << s.ToString();
    const size_t started = http_->InFlight();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (http_->InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
      Status polled = http_->Poll(50, nullptr);
      EXPECT_TRUE(polled.ok()) << polled.ToString();
    }
    EXPECT_EQ(http_->InFlight(), 0u) << "deliveries did not finish in time";
    EXPECT_EQ(dispatcher_->in_flight(), 0u);
    return started;
  }

  // The webhook-id of every request the endpoint received, in arrival order.
  std::vector<std::string> ReceivedIds() const {
    std::vector<std::string> ids;
    for (const LoopbackServer::Request& request : server_.requests())
      ids.push_back(request.Header("webhook-id"));
    return ids;
  }

  std::mutex mu_;
  LoopbackServer::Handler handler_;  // GUARDED_BY(mu_)
  LoopbackServer server_;
  TempDir dir_;
  VirtualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  // Declared last so it is destroyed first: the dispatcher must outlive its transfers.
  std::unique_ptr<HttpClient> http_;
};

TEST_F(DispatcherTest, DeliversThePayloadByteForByteWithSignatureHeaders) {
  MakeDispatcher();
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  const EventRecord event = Event(seq);

  EXPECT_EQ(Turn(), 1u);

  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const LoopbackServer::Request& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hook");
  EXPECT_EQ(request.body, kPayload);
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("webhook-id"), event.id);
  EXPECT_EQ(request.Header("webhook-timestamp"), std::to_string(clock_.WallMs() / 1000));
  EXPECT_EQ(request.Header("webhook-signature"),
            ExpectedSignature(event.id, request.Header("webhook-timestamp"), kPayload));
  EXPECT_EQ(request.Header("x-gatilho-event"), "autorizado");
  EXPECT_EQ(request.Header("x-gatilho-company"), "acme");
  EXPECT_EQ(request.Header("x-gatilho-document"), "nfe/R1");
  EXPECT_EQ(request.Header("x-gatilho-cycle"), "1");

  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  EXPECT_EQ(Event(seq).delivered_ms, clock_.WallMs());
  EXPECT_EQ(dispatcher_->counters().delivered, 1u);
}

TEST_F(DispatcherTest, EventsOfOneDocumentGoOutInOrderEvenAcrossRetries) {
  MakeDispatcher();
  const uint64_t first = AddEvent("acme", "R1", "autorizado");
  const uint64_t second = AddEvent("acme", "R1", "cancelado");
  const uint64_t other = AddEvent("beta", "R9", "autorizado");
  const std::string first_id = Event(first).id;
  const std::string second_id = Event(second).id;
  const std::string other_id = Event(other).id;
  // The first delivery of the document's first event fails; every other one succeeds.
  bool failed_once = false;
  SetAnswer([&](const LoopbackServer::Request& request) {
    if (request.Header("webhook-id") == first_id && !failed_once) {
      failed_once = true;
      return LoopbackServer::Reply{.status = 503, .body = "busy"};
    }
    return LoopbackServer::Reply{.status = 200};
  });

  // The failed event holds back its document, but not the other document.
  EXPECT_EQ(Turn(), 2u);
  std::vector<std::string> ids = ReceivedIds();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), first_id), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), other_id), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), second_id), 0);
  EXPECT_EQ(Event(other).state, EventState::kDelivered);
  EXPECT_EQ(Event(first).state, EventState::kPending);

  // Until the retry is due, the second event stays behind the first.
  clock_.Advance(1 * kSecond);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(Event(second).attempts, 0u);

  clock_.Advance(Event(first).next_attempt_ms - clock_.WallMs());
  EXPECT_EQ(Turn(), 1u);  // the retry alone: the second event is released by its success
  EXPECT_EQ(Event(first).state, EventState::kDelivered);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(second).state, EventState::kDelivered);

  // The first round went out concurrently, in either order; the retry and the event it held
  // back came after it, in document order.
  ids = ReceivedIds();
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[2], first_id);
  EXPECT_EQ(ids[3], second_id);
}

TEST_F(DispatcherTest, FailedDeliveryIsRetriedOnTheScheduleNotBefore) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 10 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 500}; });
  const int64_t failed_at = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(seq).next_attempt_ms, failed_at + 10 * kSecond);

  clock_.Advance(10 * kSecond - 1);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 1u);

  clock_.Advance(1);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(Event(seq).attempts, 2u);
}

TEST_F(DispatcherTest, DeadLettersAfterTheHorizon) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kSecond;
  options.retry.factor = 2.0;
  options.retry.max_delay_ms = 4 * kSecond;
  options.retry.horizon_ms = 10 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  const int64_t created = clock_.WallMs();
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 502}; });

  // Attempts at 0, 1, 3 and 7 s, then one at the horizon itself (10 s), which gives up.
  for (int i = 0; i < 20 && Event(seq).state == EventState::kPending; ++i) {
    clock_.Advance(Event(seq).next_attempt_ms - clock_.WallMs());
    Turn();
  }

  const EventRecord event = Event(seq);
  EXPECT_EQ(event.state, EventState::kDead);
  EXPECT_EQ(event.attempts, 5u);
  EXPECT_EQ(server_.requests().size(), 5u);
  Result<std::vector<AttemptRecord>> attempts = store_->Attempts(seq);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 5u);
  EXPECT_EQ(attempts->back().time_ms, created + 10 * kSecond);
  EXPECT_EQ(dispatcher_->counters().dead, 1u);

  clock_.Advance(24 * kHour);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 5u);
  Result<std::optional<int64_t>> next = dispatcher_->NextWakeMs();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(DispatcherTest, EventWaitingBehindItsDocumentGetsItsOwnHorizon) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kSecond;
  options.retry.factor = 2.0;
  options.retry.max_delay_ms = 4 * kSecond;
  options.retry.horizon_ms = 10 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t first = AddEvent("acme", "R1", "autorizado");
  const uint64_t second = AddEvent("acme", "R1", "cancelado");
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 503}; });

  for (int i = 0; i < 40 && Event(second).state == EventState::kPending; ++i) {
    const EventRecord head =
        Event(first).state == EventState::kPending ? Event(first) : Event(second);
    clock_.Advance(head.next_attempt_ms - clock_.WallMs());
    Turn();
  }

  // The second event was first tried when the first one was dead-lettered, 10 s after it was
  // created; it is retried for a whole horizon from then, not given up at its first failure.
  ASSERT_EQ(Event(first).state, EventState::kDead);
  EXPECT_EQ(Event(second).state, EventState::kDead);
  Result<std::vector<AttemptRecord>> attempts = store_->Attempts(second);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 5u);
  EXPECT_EQ(attempts->back().time_ms - attempts->front().time_ms, 10 * kSecond);
}

TEST_F(DispatcherTest, SameWebhookIdOnEveryAttempt) {
  Dispatcher::Options options;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  int answered = 0;
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = ++answered < 3 ? 503 : 200};
  });

  for (int i = 0; i < 10 && Event(seq).state == EventState::kPending; ++i) {
    clock_.Advance(Event(seq).next_attempt_ms - clock_.WallMs());
    Turn();
  }

  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  const std::string id = Event(seq).id;
  EXPECT_EQ(ReceivedIds(), (std::vector<std::string>{id, id, id}));
}

TEST_F(DispatcherTest, EventOfUnconfiguredCompanyWaitsWithoutBlockingOthers) {
  MakeDispatcher({{"acme", Target(server_.Url("/hook"))}}, {});
  const uint64_t orphan = AddEvent("gone", "R1", "autorizado");
  const uint64_t configured = AddEvent("acme", "R2", "autorizado");
  const int64_t now = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);

  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("x-gatilho-company"), "acme");
  EXPECT_EQ(Event(configured).state, EventState::kDelivered);
  const EventRecord waiting = Event(orphan);
  EXPECT_EQ(waiting.state, EventState::kPending);
  EXPECT_EQ(waiting.attempts, 0u);
  EXPECT_EQ(waiting.next_attempt_ms, now + kOrphanRecheckMs);

  // It is looked at again later, and still not sent anywhere.
  clock_.Advance(kOrphanRecheckMs);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(Event(orphan).next_attempt_ms, clock_.WallMs() + kOrphanRecheckMs);
}

TEST_F(DispatcherTest, AttemptsAreRecordedWithStatusAndDuration) {
  Dispatcher::Options options;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  constexpr int kSlowAnswerMs = 150;
  int answered = 0;
  SetAnswer([&](const LoopbackServer::Request&) {
    if (++answered == 1) {
      return LoopbackServer::Reply{
          .status = 503, .body = "down\nfor maintenance", .delay_ms = kSlowAnswerMs};
    }
    return LoopbackServer::Reply{.status = 202, .body = "queued"};
  });
  const int64_t first_at = clock_.WallMs();

  Turn();
  clock_.Advance(Event(seq).next_attempt_ms - clock_.WallMs());
  const int64_t second_at = clock_.WallMs();
  Turn();

  Result<std::vector<AttemptRecord>> attempts = store_->Attempts(seq);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 2u);
  const AttemptRecord& failed = (*attempts)[0];
  EXPECT_EQ(failed.number, 1u);
  EXPECT_EQ(failed.time_ms, first_at);
  EXPECT_EQ(failed.sink, server_.Url("/hook"));
  EXPECT_EQ(failed.http_status, 503);
  EXPECT_EQ(failed.error, "");
  // The round trip took real time even though the virtual clock stood still.
  EXPECT_GE(failed.duration_ms, kSlowAnswerMs);
  EXPECT_EQ(failed.response_excerpt, "down for maintenance");
  const AttemptRecord& delivered = (*attempts)[1];
  EXPECT_EQ(delivered.number, 2u);
  EXPECT_EQ(delivered.time_ms, second_at);
  EXPECT_EQ(delivered.http_status, 202);
  EXPECT_GE(delivered.duration_ms, 0);
  EXPECT_LT(delivered.duration_ms, 4'000);
  EXPECT_EQ(delivered.response_excerpt, "queued");
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  EXPECT_EQ(dispatcher_->counters().failed_attempts, 1u);
  EXPECT_EQ(dispatcher_->counters().delivered, 1u);
}

TEST_F(DispatcherTest, ConnectionRefusedCountsAsAFailedAttempt) {
  std::string closed_url;
  {
    // A port that was just listening and is closed now refuses connections.
    LoopbackServer gone([](const LoopbackServer::Request&) { return LoopbackServer::Reply{}; });
    closed_url = gone.Url("/hook");
  }
  MakeDispatcher({{"acme", Target(closed_url)}}, {});
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  const int64_t now = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);

  const EventRecord event = Event(seq);
  EXPECT_EQ(event.state, EventState::kPending);
  EXPECT_EQ(event.attempts, 1u);
  EXPECT_GT(event.next_attempt_ms, now);
  Result<std::vector<AttemptRecord>> attempts = store_->Attempts(seq);
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].http_status, 0);
  EXPECT_NE((*attempts)[0].error, "");
  EXPECT_EQ((*attempts)[0].sink, closed_url);
  EXPECT_EQ(dispatcher_->counters().failed_attempts, 1u);
  EXPECT_EQ(dispatcher_->counters().delivered, 0u);
}

}  // namespace
}  // namespace gatilho
