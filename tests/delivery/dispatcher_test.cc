#include "delivery/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "delivery/operator_notifier.h"
#include "store/store.h"
#include "support/base64.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "support/test_parts.h"
#include "support/tls_loopback_server.h"

namespace gatilho {
namespace {

using ::gatilho::testing::Base64;
using ::gatilho::testing::LoopbackServer;
using ::gatilho::testing::TempDir;
using ::gatilho::testing::TestPki;
using ::gatilho::testing::TlsLoopbackServer;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

// The raw key behind kSecret; the test signs with it independently of the Signer.
constexpr char kRawKey[] = "gatilho-test-webhook-key";
// Odd spacing and non-ASCII on purpose: the delivered body must be these bytes, not a
// re-serialization.
constexpr char kPayload[] =
    "{ \"cnpj_emitente\":\"07504505000132\",  \"ref\":\"R1\", \"status\":\"autorizado\",\n"
    "  \"mensagem_sefaz\":\"Autoriza\xc3\xa7\xc3\xa3o ok\", \"numero\":\"1\" }";

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

// Gate options whose breaker never opens: the tests of retries want to see every attempt.
EndpointGate::Options QuietGate() {
  EndpointGate::Options gate;
  gate.breaker.consecutive_failures = 1'000'000;
  gate.breaker.min_calls = 1'000'000;
  return gate;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : server_([this](const LoopbackServer::Request& request) { return Answer(request); }) {}

  void SetUp() override {
    ASSERT_TRUE(testing::OpenStoreAndClient(dir_.Sub("data"), &store_, &http_));
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

  // A webhook sink with the test's gate options (by default, a breaker that never opens, so
  // retry tests see every attempt).
  DeliverySink Sink(WebhookTarget target) const {
    DeliverySink sink;
    sink.webhook = std::move(target);
    sink.gate = gate_;
    return sink;
  }

  void MakeSinks(std::map<std::string, DeliverySink> sinks, Dispatcher::Options options) {
    Result<std::unique_ptr<Dispatcher>> dispatcher =
        Dispatcher::Create(*store_, *http_, clock_, std::move(sinks), options, notifier_.get());
    ASSERT_TRUE(dispatcher.ok()) << dispatcher.status().ToString();
    dispatcher_ = std::move(*dispatcher);
  }

  void MakeDispatcher(std::map<std::string, WebhookTarget> targets, Dispatcher::Options options) {
    std::map<std::string, DeliverySink> sinks;
    for (auto& [id, target] : targets)
      sinks.emplace(id, Sink(std::move(target)));
    MakeSinks(std::move(sinks), options);
  }

  // Operator events go to `server` from now on.
  void NotifyOperatorAt(const std::string& url) {
    OperatorNotifier::Options options;
    options.url = url;
    Result<std::unique_ptr<OperatorNotifier>> notifier =
        OperatorNotifier::Create(*http_, clock_, options);
    ASSERT_TRUE(notifier.ok()) << notifier.status().ToString();
    notifier_ = std::move(*notifier);
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
    if (notifier_) notifier_->Pump();
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
  EndpointGate::Options gate_ = QuietGate();
  std::unique_ptr<OperatorNotifier> notifier_;
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

  EXPECT_EQ(Turn(), 1u);

  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("x-gatilho-company"), "acme");
  EXPECT_EQ(Event(configured).state, EventState::kDelivered);
  // Untouched: no attempt, not rescheduled, and it does not keep the dispatcher awake.
  const EventRecord waiting = Event(orphan);
  EXPECT_EQ(waiting.state, EventState::kPending);
  EXPECT_EQ(waiting.attempts, 0u);
  Result<std::optional<int64_t>> next = dispatcher_->NextWakeMs();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());

  // Once its company is configured again, it goes out.
  MakeDispatcher({{"acme", Target(server_.Url("/hook"))}, {"gone", Target(server_.Url("/hook"))}},
                 {});
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(orphan).state, EventState::kDelivered);
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

TEST_F(DispatcherTest, UntrustedCertificateFailsTheAttemptWithAnErrorNamingCaBundle) {
  TestPki pki;
  std::string pki_error;
  ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki, &pki_error)) << pki_error;
  TlsLoopbackServer erp({.cert_file = pki.server_cert, .key_file = pki.server_key});
  WebhookTarget wrong_bundle = Target(erp.Url("/hook"));
  wrong_bundle.ca_bundle = pki.other_ca_cert;
  WebhookTarget right_bundle = Target(erp.Url("/hook"));
  right_bundle.ca_bundle = pki.ca_cert;
  MakeDispatcher(
      {{"acme", Target(erp.Url("/hook"))}, {"beta", wrong_bundle}, {"gama", right_bundle}}, {});
  const uint64_t system_cas = AddEvent("acme", "R1", "autorizado");
  const uint64_t other_ca = AddEvent("beta", "R2", "autorizado");
  const uint64_t private_ca = AddEvent("gama", "R3", "autorizado");

  Turn();

  EXPECT_EQ(Event(system_cas).state, EventState::kPending);
  EXPECT_EQ(Event(other_ca).state, EventState::kPending);
  EXPECT_EQ(Event(private_ca).state, EventState::kDelivered);
  Result<std::vector<AttemptRecord>> untrusted = store_->Attempts(system_cas);
  ASSERT_TRUE(untrusted.ok() && untrusted->size() == 1u);
  EXPECT_EQ((*untrusted)[0].http_status, 0);
  EXPECT_THAT((*untrusted)[0].error, ::testing::StartsWith("TLS certificate verification failed"));
  EXPECT_THAT((*untrusted)[0].error,
              ::testing::HasSubstr("set ca_bundle = <that CA's PEM file> in the company's "
                                   "[webhook] section (verification cannot be turned off)"));
  Result<std::vector<AttemptRecord>> wrong = store_->Attempts(other_ca);
  ASSERT_TRUE(wrong.ok() && wrong->size() == 1u);
  EXPECT_THAT((*wrong)[0].error, ::testing::HasSubstr("check that ca_bundle " + pki.other_ca_cert +
                                                      " holds the CA that signs the ERP's "
                                                      "certificate"));
  EXPECT_EQ(erp.requests().size(), 1u) << "only the delivery that trusts the CA reaches the ERP";
}

// ---- endpoint policy -------------------------------------------------------------------------

// Pumps and polls for up to `ms` of real time, without waiting for every transfer to end: for
// tests where some endpoint is slow on purpose.
void PumpFor(Dispatcher& dispatcher, HttpClient& http, int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(dispatcher.Pump().ok());
    ASSERT_TRUE(http.Poll(10, nullptr).ok());
  }
}

TEST_F(DispatcherTest, OpenBreakerHoldsEventsWithoutSpendingTheirAttempts) {
  gate_.breaker = CircuitBreaker::Options{};
  gate_.breaker.consecutive_failures = 3;
  gate_.breaker.open_ms = 30 * kSecond;
  gate_.max_in_flight = 1;  // one at a time, so the failures arrive in a known order
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 6; ++i)
    seqs.push_back(AddEvent("acme", "R" + std::to_string(i), "autorizado"));
  std::atomic<bool> healthy{false};
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = healthy ? 200 : 500};
  });

  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Turn(), 1u);
  // Open now: nothing starts, and the waiting events keep their attempt counts.
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(10 * kSecond);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(server_.requests().size(), 3u);
  for (size_t i = 3; i < seqs.size(); ++i)
    EXPECT_EQ(Event(seqs[i]).attempts, 0u);
  Result<std::optional<int64_t>> next = dispatcher_->NextWakeMs();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_GE(**next, clock_.WallMs() + 20 * kSecond - 1) << "it sleeps until the breaker reopens";

  // Half-open: exactly one probe, and once probes succeed everything flows again.
  healthy = true;
  clock_.Advance(20 * kSecond);
  EXPECT_EQ(Turn(), 1u);
  for (int i = 0; i < 10; ++i)
    Turn();
  for (uint64_t seq : seqs)
    EXPECT_EQ(Event(seq).state, EventState::kDelivered) << seq;
}

TEST_F(DispatcherTest, EndpointStatesShowTheBreakerAndLatencyCountsDeliveries) {
  gate_.breaker = CircuitBreaker::Options{};
  gate_.breaker.consecutive_failures = 2;
  gate_.max_in_flight = 1;
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  AddEvent("acme", "R1", "autorizado");
  clock_.Advance(3 * kSecond);
  EXPECT_EQ(Turn(), 1u);
  ASSERT_EQ(dispatcher_->latency().count(), 1u);
  EXPECT_DOUBLE_EQ(dispatcher_->latency().sum_seconds(), 3.0);
  ASSERT_EQ(dispatcher_->EndpointStates(clock_.WallMs()).size(), 1u);
  EXPECT_EQ(dispatcher_->EndpointStates(clock_.WallMs())[0].breaker, "closed");
  EXPECT_EQ(dispatcher_->EndpointStates(clock_.WallMs())[0].display, server_.Url("/hook"));

  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 500}; });
  AddEvent("acme", "R2", "autorizado");
  AddEvent("acme", "R3", "autorizado");
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(dispatcher_->EndpointStates(clock_.WallMs())[0].breaker, "open");
  EXPECT_EQ(dispatcher_->latency().count(), 1u) << "failed attempts are no delivery";
}

TEST_F(DispatcherTest, SlowEndpointDoesNotHoldBackAnotherCompany) {
  LoopbackServer slow([](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = 200, .delay_ms = 1500};
  });
  gate_.max_in_flight = 2;
  MakeDispatcher({{"acme", Target(slow.Url("/hook"))}, {"beta", Target(server_.Url("/hook"))}}, {});
  std::vector<uint64_t> beta;
  for (int i = 0; i < 10; ++i) {
    AddEvent("acme", "A" + std::to_string(i), "autorizado");
    beta.push_back(AddEvent("beta", "B" + std::to_string(i), "autorizado"));
  }

  PumpFor(*dispatcher_, *http_, 600);

  for (uint64_t seq : beta)
    EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  EXPECT_LE(slow.requests().size(), 2u) << "the slow endpoint gets no more than its cap";
  EXPECT_LE(dispatcher_->in_flight(), 2u);
}

TEST_F(DispatcherTest, RateCapSpacesDeliveriesToOneEndpoint) {
  gate_.rate_per_second = 1;
  gate_.burst = 1;
  MakeDispatcher();
  for (int i = 0; i < 3; ++i)
    AddEvent("acme", "R" + std::to_string(i), "autorizado");

  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Turn(), 0u);
  Result<std::optional<int64_t>> next = dispatcher_->NextWakeMs();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, clock_.WallMs() + 1 * kSecond);
  clock_.Advance(1 * kSecond);
  EXPECT_EQ(Turn(), 1u);
  clock_.Advance(1 * kSecond);
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(DispatcherTest, RetryAfterOnA429PausesTheWholeEndpoint) {
  MakeDispatcher();
  const uint64_t first = AddEvent("acme", "R1", "autorizado");
  bool throttled = false;
  SetAnswer([&](const LoopbackServer::Request&) {
    if (!throttled) {
      throttled = true;
      return LoopbackServer::Reply{.status = 429, .headers = {{"Retry-After", "120"}}};
    }
    return LoopbackServer::Reply{.status = 200};
  });
  const int64_t at = clock_.WallMs();

  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(first).next_attempt_ms, at + 120 * kSecond) << "the endpoint's wait, not ours";
  const uint64_t later = AddEvent("acme", "R2", "autorizado");
  clock_.Advance(119 * kSecond);
  EXPECT_EQ(Turn(), 0u) << "no other event goes to a throttled endpoint either";
  EXPECT_EQ(Event(later).attempts, 0u);
  clock_.Advance(1 * kSecond);
  Turn();
  EXPECT_EQ(Event(first).state, EventState::kDelivered);
  EXPECT_EQ(Event(later).state, EventState::kDelivered);
  EXPECT_EQ(dispatcher_->counters().throttled, 1u);
}

TEST_F(DispatcherTest, RetryAfterDateOnA503IsObeyed) {
  MakeDispatcher();
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  // The virtual clock starts at 1'700'000'000'000 ms: 2023-11-14 22:13:20 UTC.
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = 503,
                                 .headers = {{"Retry-After", "Tue, 14 Nov 2023 22:18:20 GMT"}}};
  });
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(seq).next_attempt_ms, 1'700'000'000'000 + 5 * kMinute);
}

TEST_F(DispatcherTest, GoneDisablesTheEndpointUntilItIsEnabledAgain) {
  LoopbackServer operator_inbox(
      [](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 204}; });
  NotifyOperatorAt(operator_inbox.Url("/ops"));
  MakeDispatcher();
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  bool gone = true;
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = gone ? 410 : 200};
  });

  Turn();
  Turn();  // lets the operator event go out
  EXPECT_EQ(Event(seq).state, EventState::kPending);
  Result<EndpointRecord> record = store_->GetEndpoint(server_.Url("/hook"));
  ASSERT_TRUE(record.ok());
  EXPECT_TRUE(record->disabled);
  EXPECT_EQ(record->reason, "410 Gone");
  ASSERT_EQ(operator_inbox.requests().size(), 1u);
  EXPECT_NE(operator_inbox.requests()[0].body.find("\"gatilho.endpoint_disabled\""),
            std::string::npos);

  // Disabled, for beta too (it shares the URL), through any amount of time.
  AddEvent("beta", "R2", "autorizado");
  clock_.Advance(24 * kHour);
  EXPECT_EQ(Turn(), 0u);
  Result<std::optional<int64_t>> next = dispatcher_->NextWakeMs();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());

  // The operator enables it (as `gatilho endpoint enable` does) and the events go out.
  gone = false;
  ASSERT_TRUE(
      store_->PutEndpoint(server_.Url("/hook"), {false, "enabled by the operator", 0}).ok());
  ASSERT_TRUE(dispatcher_->ReloadEndpoints().ok());
  Turn();
  Turn();
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  EXPECT_EQ(store_->Counts()->events_pending, 0u);
  ASSERT_EQ(operator_inbox.requests().size(), 2u);
  EXPECT_NE(operator_inbox.requests()[1].body.find("\"gatilho.endpoint_enabled\""),
            std::string::npos);
}

TEST_F(DispatcherTest, DisabledByTheOperatorInTheStoreIsNoticedByARunningDispatcher) {
  Dispatcher::Options options;
  options.endpoint_recheck_ms = 5 * kSecond;
  MakeDispatcher(options);
  ASSERT_TRUE(
      store_->PutEndpoint(server_.Url("/hook"), {true, "disabled by the operator", 0}).ok());
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  EXPECT_EQ(Turn(), 1u) << "not re-read yet";
  const uint64_t second = AddEvent("acme", "R2", "autorizado");
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  EXPECT_EQ(Event(second).attempts, 0u);
}

TEST_F(DispatcherTest, CatchUpLatestDeliversOnlyTheNewestStateAfterAnOutage) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 10 * kSecond;
  options.retry.jitter = 0;
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace("acme", Sink(Target(server_.Url("/hook"))));
  sinks["acme"].catch_up_latest = true;
  MakeSinks(std::move(sinks), options);
  const uint64_t authorised = AddEvent("acme", "R1", "autorizado");
  bool down = true;
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = down ? 503 : 200};
  });
  EXPECT_EQ(Turn(), 1u);
  // While the ERP is down the document changes twice more.
  const uint64_t corrected = AddEvent("acme", "R1", "carta_correcao");
  const uint64_t cancelled = AddEvent("acme", "R1", "cancelado");
  down = false;
  clock_.Advance(10 * kSecond);
  for (int i = 0; i < 3; ++i)
    Turn();

  EXPECT_EQ(Event(authorised).state, EventState::kSuperseded);
  EXPECT_EQ(Event(corrected).state, EventState::kSuperseded);
  EXPECT_EQ(Event(cancelled).state, EventState::kDelivered);
  std::vector<std::string> ids = ReceivedIds();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[1], Event(cancelled).id);
  EXPECT_EQ(dispatcher_->counters().superseded, 2u);
}

TEST_F(DispatcherTest, WithoutCatchUpEveryIntermediateEventIsDeliveredInOrder) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 10 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t authorised = AddEvent("acme", "R1", "autorizado");
  bool down = true;
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = down ? 503 : 200};
  });
  Turn();
  const uint64_t cancelled = AddEvent("acme", "R1", "cancelado");
  down = false;
  clock_.Advance(10 * kSecond);
  Turn();
  Turn();
  EXPECT_EQ(ReceivedIds(), (std::vector<std::string>{Event(authorised).id, Event(authorised).id,
                                                     Event(cancelled).id}));
}

TEST_F(DispatcherTest, RedeliveredDeadEventGoesOutAgainWithItsWebhookId) {
  Dispatcher::Options options;
  options.retry.horizon_ms = 1;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  bool down = true;
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = down ? 500 : 200};
  });
  clock_.Advance(1);
  Turn();
  clock_.Advance(Event(seq).next_attempt_ms - clock_.WallMs());
  Turn();
  ASSERT_EQ(Event(seq).state, EventState::kDead);

  down = false;
  ASSERT_TRUE(*store_->Redeliver(seq, clock_.WallMs()));
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  std::vector<std::string> ids = ReceivedIds();
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.back(), ids.front());
}

TEST_F(DispatcherTest, DeadLetterIsReportedToTheOperator) {
  LoopbackServer operator_inbox(
      [](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 200}; });
  NotifyOperatorAt(operator_inbox.Url("/ops"));
  Dispatcher::Options options;
  options.retry.horizon_ms = 1;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 500}; });
  for (int i = 0; i < 5 && Event(seq).state == EventState::kPending; ++i) {
    clock_.Advance(std::max<int64_t>(1, Event(seq).next_attempt_ms - clock_.WallMs()));
    Turn();
  }
  ASSERT_EQ(Event(seq).state, EventState::kDead);
  Turn();
  ASSERT_EQ(operator_inbox.requests().size(), 1u);
  const std::string body = operator_inbox.requests()[0].body;
  EXPECT_NE(body.find("\"gatilho.event_dead\""), std::string::npos) << body;
  EXPECT_NE(body.find(Event(seq).id), std::string::npos) << body;
}

TEST_F(DispatcherTest, BreakerOpenLongerThanTheThresholdAlertsTheOperatorOnce) {
  LoopbackServer operator_inbox(
      [](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 200}; });
  NotifyOperatorAt(operator_inbox.Url("/ops"));
  gate_.breaker = CircuitBreaker::Options{};
  gate_.breaker.consecutive_failures = 1;
  gate_.max_in_flight = 1;
  Dispatcher::Options options;
  options.breaker_alert_ms = 10 * kMinute;
  MakeDispatcher(options);
  AddEvent("acme", "R1", "autorizado");
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 500}; });

  Turn();
  for (int minute = 0; minute < 30; ++minute) {
    clock_.Advance(kMinute);
    Turn();
  }
  size_t alerts = 0;
  for (const LoopbackServer::Request& request : operator_inbox.requests())
    alerts += request.body.find("\"gatilho.breaker_open\"") != std::string::npos ? 1 : 0;
  EXPECT_EQ(alerts, 1u);
}

TEST_F(DispatcherTest, FileSinkWritesTheEventAndRecordsThePath) {
  std::map<std::string, DeliverySink> sinks;
  DeliverySink sink;
  sink.kind = DeliverySink::Kind::kFile;
  sink.file.dir = dir_.Sub("outbox-files");
  sinks.emplace("acme", sink);
  MakeSinks(std::move(sinks), {});
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");

  EXPECT_EQ(Turn(), 0u) << "no HTTP involved";
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  Result<std::vector<AttemptRecord>> attempts = store_->Attempts(seq);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  const std::string path = (*attempts)[0].sink;
  EXPECT_EQ(path, dir_.Sub("outbox-files") + "/acme/nfe/R1.1.autorizado.json");
  std::ifstream file(path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, kPayload);
}

TEST_F(DispatcherTest, DeliveryCutShortByACrashIsRepeatedWithTheSameWebhookId) {
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.hang = true}; });
  MakeDispatcher();
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  ASSERT_TRUE(dispatcher_->Pump().ok());
  for (int i = 0; i < 50 && server_.requests().empty(); ++i)
    ASSERT_TRUE(http_->Poll(10, nullptr).ok());
  ASSERT_EQ(server_.requests().size(), 1u);
  // The process dies with the request in flight: nothing was recorded for it.
  http_.reset();
  dispatcher_.reset();
  EXPECT_EQ(Event(seq).state, EventState::kPending);
  EXPECT_EQ(Event(seq).attempts, 0u);

  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 200}; });
  Result<std::unique_ptr<HttpClient>> restarted = HttpClient::Create();
  ASSERT_TRUE(restarted.ok());
  http_ = std::move(*restarted);
  MakeDispatcher();
  EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Event(seq).state, EventState::kDelivered);
  std::vector<std::string> ids = ReceivedIds();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], ids[1]);
}

// --- Wall clock steps ---------------------------------------------------------------------

constexpr int64_t kDay = 24 * kHour;

TEST_F(DispatcherTest, WallClockSetBackADayKeepsTheRetryWait) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 10 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  const uint64_t seq = AddEvent("acme", "R1", "autorizado");
  std::atomic<bool> healthy{false};
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = healthy ? 200 : 500};
  });
  EXPECT_EQ(Turn(), 1u);

  clock_.JumpWall(-kDay);
  EXPECT_EQ(Turn(), 0u);
  EXPECT_EQ(Event(seq).next_attempt_ms, clock_.WallMs() + 10 * kSecond);
  healthy = true;
  // Without the shift the retry would wait a day and ten seconds.
  clock_.Advance(10 * kSecond);
  EXPECT_EQ(Turn(), 1u);
  const EventRecord event = Event(seq);
  EXPECT_EQ(event.state, EventState::kDelivered);
  // The delivery is stamped with the wall clock of its moment, the stepped one.
  EXPECT_EQ(event.delivered_ms, clock_.WallMs());
  std::vector<LoopbackServer::Request> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("webhook-timestamp"), std::to_string(clock_.WallMs() / 1000));
}

TEST_F(DispatcherTest, WallClockSetForwardADayNeitherBurstsRetriesNorEndsTheirHorizon) {
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kMinute;
  options.retry.max_delay_ms = 1 * kMinute;
  options.retry.horizon_ms = 2 * kHour;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 5; ++i)
    seqs.push_back(AddEvent("acme", "R" + std::to_string(i), "autorizado"));
  SetAnswer([](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 503}; });
  EXPECT_EQ(Turn(), 5u);

  clock_.JumpWall(kDay);
  // Each retry keeps its minute; a day past the first attempt on the wall clock is not past
  // the two-hour horizon, because the horizon moved with the step.
  EXPECT_EQ(Turn(), 0u);
  clock_.Advance(1 * kMinute);
  EXPECT_EQ(Turn(), 5u);
  for (uint64_t seq : seqs) {
    EXPECT_EQ(Event(seq).state, EventState::kPending) << seq;
    EXPECT_EQ(Event(seq).attempts, 2u) << seq;
  }
}

TEST_F(DispatcherTest, WallClockSetBackADayDoesNotHoldAnOpenBreakerForADay) {
  gate_.breaker = CircuitBreaker::Options{};
  gate_.breaker.consecutive_failures = 3;
  gate_.breaker.open_ms = 30 * kSecond;
  gate_.max_in_flight = 1;
  Dispatcher::Options options;
  options.retry.first_delay_ms = 1 * kSecond;
  options.retry.jitter = 0;
  MakeDispatcher(options);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 4; ++i)
    seqs.push_back(AddEvent("acme", "R" + std::to_string(i), "autorizado"));
  std::atomic<bool> healthy{false};
  SetAnswer([&](const LoopbackServer::Request&) {
    return LoopbackServer::Reply{.status = healthy ? 200 : 500};
  });
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Turn(), 1u);
  EXPECT_EQ(Turn(), 0u);  // open

  clock_.JumpWall(-kDay);
  healthy = true;
  clock_.Advance(30 * kSecond);
  EXPECT_EQ(Turn(), 1u) << "the half-open probe goes out when the open period ends";
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1 * kSecond);
    Turn();
  }
  for (uint64_t seq : seqs)
    EXPECT_EQ(Event(seq).state, EventState::kDelivered) << seq;
}

}  // namespace
}  // namespace gatilho
