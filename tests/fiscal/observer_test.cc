#include "fiscal/observer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fiscal/event_id.h"

namespace gatilho {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kStart = 1'700'000'000'000;

constexpr std::string_view kProcessando =
    R"({"cnpj_emitente":"07504505000132","ref":"referencia_000899_nfe",)"
    R"("status":"processando_autorizacao"})";
// Odd spacing on purpose: the payload must be these bytes, not a re-serialization.
constexpr std::string_view kAutorizado =
    R"({ "cnpj_emitente":"07504505000132", "ref":"referencia_000899_nfe", "status":"autorizado",)"
    R"( "status_sefaz":"100", "mensagem_sefaz":"Autorizado o uso da NF-e",)"
    R"( "chave_nfe":"NFe41190607504505000132550010000000221923094166", "numero":"22" })";

const WatchKey kKey{"acme", DocType::kNfe, "referencia_000899_nfe"};

PollPolicy TestPolicy() {
  PollPolicy policy;
  policy.Set(DocType::kNfe, TypeSchedule{{2 * kSecond, 10 * kSecond},
                                         kMinute,
                                         /*max_age_ms=*/kHour,
                                         /*follow_every_ms=*/30 * kMinute,
                                         /*follow_window_ms=*/24 * kHour});
  policy.set_not_found_grace_ms(10 * kMinute);
  return policy;
}

WatchRecord NewWatch() {
  WatchRecord record;
  record.created_ms = kStart;
  record.cycle_started_ms = kStart;
  record.next_poll_ms = kStart + 2 * kSecond;
  return record;
}

Observation Document(std::string_view body) {
  return ParseConsult(kKey.type, 200, body, "");
}

std::string AutorizadoWithCartaCorrecao(int number) {
  return R"({"ref":"referencia_000899_nfe","status":"autorizado","numero_carta_correcao":)" +
         std::to_string(number) + "}";
}

class ObserverTest : public testing::Test {
 protected:
  ObserverDecision Observe(const WatchRecord& record, const Observation& obs, int64_t now_ms,
                           const EventFilter& filter = {}) {
    return observer_.Observe(kKey, record, obs, now_ms, filter);
  }

  PollPolicy policy_ = TestPolicy();
  Observer observer_{policy_};
};

TEST_F(ObserverTest, StillProcessingIsPolledOnTheProcessingSchedule) {
  const int64_t now = kStart + 2 * kSecond;
  ObserverDecision d = Observe(NewWatch(), Document(kProcessando), now);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.state, WatchState::kPending);
  EXPECT_EQ(d.record.poll_count, 1u);
  EXPECT_EQ(d.record.last_polled_ms, now);
  EXPECT_EQ(d.record.last_status, "processando_autorizacao");
  EXPECT_EQ(d.record.next_poll_ms, policy_.NextProcessingPoll(kKey.type, kStart, 1, now));
  EXPECT_EQ(d.record.next_poll_ms, kStart + 10 * kSecond);
  ASSERT_TRUE(d.history.has_value());
  EXPECT_EQ(d.history->status, "processando_autorizacao");
}

TEST_F(ObserverTest, AuthorizationEmitsOneEventWithTheBodyUnchangedAndIsFollowed) {
  ObserverDecision first = Observe(NewWatch(), Document(kProcessando), kStart + 2 * kSecond);
  const int64_t now = kStart + 10 * kSecond;
  ObserverDecision d = Observe(first.record, Document(kAutorizado), now);

  ASSERT_EQ(d.events.size(), 1u);
  const EventRecord& event = d.events[0];
  EXPECT_EQ(event.type, "autorizado");
  EXPECT_EQ(event.payload, kAutorizado);
  EXPECT_EQ(event.id, EventId(kKey, 1, "autorizado", ""));
  EXPECT_EQ(event.key, kKey);
  EXPECT_EQ(event.cycle, 1u);
  EXPECT_EQ(event.created_ms, now);
  EXPECT_EQ(event.next_attempt_ms, now);
  EXPECT_EQ(event.state, EventState::kPending);

  EXPECT_EQ(d.record.state, WatchState::kFollowing);
  EXPECT_EQ(d.record.cycle_ended_ms, now);
  EXPECT_EQ(d.record.next_poll_ms, now + 30 * kMinute);
  EXPECT_EQ(d.record.last_status, "autorizado");
  EXPECT_EQ(d.record.fingerprint, Document(kAutorizado).facts.Fingerprint());
  ASSERT_TRUE(d.history.has_value());
  EXPECT_EQ(d.history->outcome, "document");
  EXPECT_EQ(d.history->note, "event autorizado; following; next poll in 30m");
}

TEST_F(ObserverTest, TheSameAnswerTwiceEmitsNothingTheSecondTime) {
  ObserverDecision first = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  ASSERT_EQ(first.events.size(), 1u);
  const int64_t later = kStart + 31 * kMinute;
  ObserverDecision second = Observe(first.record, Document(kAutorizado), later);
  EXPECT_TRUE(second.events.empty());
  EXPECT_FALSE(second.history.has_value());
  EXPECT_EQ(second.record.state, WatchState::kFollowing);
  EXPECT_EQ(second.record.cycle_ended_ms, first.record.cycle_ended_ms);
  EXPECT_EQ(second.record.next_poll_ms, later + 30 * kMinute);
}

TEST_F(ObserverTest, EachCartaCorrecaoIsItsOwnEvent) {
  ObserverDecision authorized =
      Observe(NewWatch(), Document(AutorizadoWithCartaCorrecao(0)), kStart + 2 * kSecond);
  ObserverDecision first_cce =
      Observe(authorized.record, Document(AutorizadoWithCartaCorrecao(1)), kStart + kHour);
  ObserverDecision second_cce =
      Observe(first_cce.record, Document(AutorizadoWithCartaCorrecao(2)), kStart + 2 * kHour);
  ASSERT_EQ(first_cce.events.size(), 1u);
  ASSERT_EQ(second_cce.events.size(), 1u);
  EXPECT_EQ(first_cce.events[0].type, "carta_correcao");
  EXPECT_EQ(first_cce.events[0].id, EventId(kKey, 1, "carta_correcao", "1"));
  EXPECT_EQ(second_cce.events[0].id, EventId(kKey, 1, "carta_correcao", "2"));
  ASSERT_TRUE(second_cce.history.has_value());
  EXPECT_EQ(second_cce.history->note.rfind("event carta_correcao; following", 0), 0u);
}

TEST_F(ObserverTest, CancellationWhileFollowingEndsTheWatch) {
  ObserverDecision authorized = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  ObserverDecision d =
      Observe(authorized.record, Document(R"({"status":"cancelado"})"), kStart + 3 * kHour);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "cancelado");
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_EQ(d.record.next_poll_ms, 0);
  EXPECT_EQ(d.record.cycle_ended_ms, authorized.record.cycle_ended_ms);
}

TEST_F(ObserverTest, AFollowedDocumentIsDoneWhenItsWindowEnds) {
  ObserverDecision authorized = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  ObserverDecision d =
      Observe(authorized.record, Document(kAutorizado), kStart + 2 * kSecond + 24 * kHour);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_EQ(d.record.next_poll_ms, 0);
}

TEST_F(ObserverTest, ARejectionEndsTheWatchAsDone) {
  ObserverDecision d = Observe(NewWatch(),
                               Document(R"({"status":"erro_autorizacao",)"
                                        R"("status_sefaz":"539"})"),
                               kStart + 2 * kSecond);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "erro_autorizacao");
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_EQ(d.record.next_poll_ms, 0);
  EXPECT_EQ(d.record.cycle_ended_ms, kStart + 2 * kSecond);
}

TEST_F(ObserverTest, AStaleOlderAnswerKeepsWhatWasSeen) {
  ObserverDecision authorized = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  ObserverDecision d = Observe(authorized.record, Document(kProcessando), kStart + kHour);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.last_status, "autorizado");
  EXPECT_EQ(d.record.detail, authorized.record.detail);
  EXPECT_EQ(d.record.state, WatchState::kFollowing);
  ASSERT_TRUE(d.history.has_value());
  EXPECT_EQ(d.history->note.rfind("status processando_autorizacao ignored after autorizado", 0),
            0u);
}

TEST_F(ObserverTest, ProcessingAtMaximumAgeEndsWithATimeoutEvent) {
  ObserverDecision before = Observe(NewWatch(), Document(kProcessando), kStart + kHour - 1);
  EXPECT_TRUE(before.events.empty());
  EXPECT_EQ(before.record.state, WatchState::kPending);

  ObserverDecision d = Observe(before.record, Document(kProcessando), kStart + kHour);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "timeout");
  EXPECT_EQ(d.events[0].id, EventId(kKey, 1, "timeout", ""));
  EXPECT_EQ(boost::json::parse(d.events[0].payload),
            boost::json::parse(R"({"ref":"referencia_000899_nfe","tipo":"nfe",)"
                               R"("evento":"timeout","status":"processando_autorizacao",)"
                               R"("idade_segundos":3600})"));
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_EQ(d.record.next_poll_ms, 0);
  EXPECT_EQ(d.record.cycle_ended_ms, kStart + kHour);
}

TEST_F(ObserverTest, NotFoundWithinTheGracePeriodKeepsPolling) {
  Observation not_found = ParseConsult(kKey.type, 404, R"({"codigo":"nao_encontrado"})", "");
  ObserverDecision first = Observe(NewWatch(), not_found, kStart + 2 * kSecond);
  EXPECT_TRUE(first.events.empty());
  EXPECT_EQ(first.record.not_found_since_ms, kStart + 2 * kSecond);
  EXPECT_EQ(first.record.state, WatchState::kPending);
  EXPECT_EQ(first.record.next_poll_ms, kStart + 10 * kSecond);

  const int64_t almost = kStart + 2 * kSecond + 10 * kMinute - 1;
  ObserverDecision second = Observe(first.record, not_found, almost);
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(second.record.not_found_since_ms, kStart + 2 * kSecond);
  EXPECT_EQ(second.record.state, WatchState::kPending);
  EXPECT_FALSE(second.history.has_value());
}

TEST_F(ObserverTest, NotFoundPastTheGracePeriodEndsWithNaoEncontrado) {
  Observation not_found = ParseConsult(kKey.type, 404, "", "");
  ObserverDecision first = Observe(NewWatch(), not_found, kStart + 2 * kSecond);
  const int64_t now = kStart + 2 * kSecond + 10 * kMinute;
  ObserverDecision d = Observe(first.record, not_found, now);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "nao_encontrado");
  boost::json::value payload = boost::json::parse(d.events[0].payload);
  EXPECT_EQ(payload.at("evento"), "nao_encontrado");
  EXPECT_TRUE(payload.at("status").is_null());
  EXPECT_EQ(payload.at("idade_segundos"), 602);
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_EQ(d.record.next_poll_ms, 0);
}

TEST_F(ObserverTest, NotFoundAfterTheCycleEndedIsAnErrorNotAnEvent) {
  ObserverDecision authorized = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  const int64_t now = kStart + kHour;
  ObserverDecision d = Observe(authorized.record, ParseConsult(kKey.type, 404, "", ""), now);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.error_streak, 1u);
  EXPECT_EQ(d.record.not_found_since_ms, 0);
  EXPECT_EQ(d.record.state, WatchState::kFollowing);
  EXPECT_EQ(d.record.next_poll_ms, now + policy_.ErrorBackoff(1));
}

TEST_F(ObserverTest, ServerErrorsKeepTheStateAndBackOff) {
  ObserverDecision processing = Observe(NewWatch(), Document(kProcessando), kStart + 2 * kSecond);
  Observation bad_gateway = ParseConsult(kKey.type, 502, "<html>Bad Gateway</html>", "");
  const int64_t now = kStart + 10 * kSecond;
  ObserverDecision first = Observe(processing.record, bad_gateway, now);
  EXPECT_TRUE(first.events.empty());
  EXPECT_EQ(first.record.error_streak, 1u);
  EXPECT_EQ(first.record.state, WatchState::kPending);
  EXPECT_EQ(first.record.last_status, "processando_autorizacao");
  EXPECT_EQ(first.record.detail, processing.record.detail);
  EXPECT_EQ(first.record.next_poll_ms, now + policy_.ErrorBackoff(1));
  ASSERT_TRUE(first.history.has_value());
  EXPECT_EQ(first.history->http_status, 502);
  EXPECT_EQ(first.history->outcome, "server_error");
  EXPECT_EQ(first.history->note, "server_error: HTTP 502 with an HTML body; retry in 5s");

  ObserverDecision second = Observe(first.record, bad_gateway, first.record.next_poll_ms);
  EXPECT_EQ(second.record.error_streak, 2u);
  EXPECT_EQ(second.record.next_poll_ms, first.record.next_poll_ms + policy_.ErrorBackoff(2));
  EXPECT_GT(policy_.ErrorBackoff(2), policy_.ErrorBackoff(1));
  EXPECT_FALSE(second.history.has_value());

  ObserverDecision recovered = Observe(second.record, Document(kProcessando), kStart + kMinute);
  EXPECT_EQ(recovered.record.error_streak, 0u);
  EXPECT_TRUE(recovered.history.has_value());
}

TEST_F(ObserverTest, ADocumentThatCanNeverBeReadStillTimesOut) {
  Observation garbage = ParseConsult(kKey.type, 200, "{not json", "");
  ObserverDecision d = Observe(NewWatch(), garbage, kStart + kHour);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, "timeout");
  EXPECT_EQ(d.record.state, WatchState::kDone);
}

TEST_F(ObserverTest, TheFilterSuppressesDisabledEventsButTheStateStillAdvances) {
  EventFilter only_cancelado{{"cancelado"}};
  const int64_t now = kStart + 2 * kSecond;
  ObserverDecision d = Observe(NewWatch(), Document(kAutorizado), now, only_cancelado);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.state, WatchState::kFollowing);
  EXPECT_EQ(d.record.last_status, "autorizado");
  EXPECT_EQ(d.record.cycle_ended_ms, now);
  ASSERT_TRUE(d.history.has_value());
  EXPECT_EQ(d.history->note.rfind("event autorizado (disabled); following", 0), 0u);

  ObserverDecision cancelled =
      Observe(d.record, Document(R"({"status":"cancelado"})"), now + kHour, only_cancelado);
  ASSERT_EQ(cancelled.events.size(), 1u);
  EXPECT_EQ(cancelled.events[0].type, "cancelado");
}

TEST(EventFilter, AnEmptyFilterAllowsEverything) {
  EventFilter all;
  EXPECT_TRUE(all.Allows("autorizado"));
  EXPECT_TRUE(all.Allows("timeout"));
  EventFilter some{{"autorizado"}};
  EXPECT_TRUE(some.Allows("autorizado"));
  EXPECT_FALSE(some.Allows("timeout"));
}

TEST_F(ObserverTest, RateLimitingRetriesLaterWithoutCountingThePoll) {
  ObserverDecision processing = Observe(NewWatch(), Document(kProcessando), kStart + 2 * kSecond);
  const int64_t now = kStart + 10 * kSecond;
  ObserverDecision d = Observe(processing.record, ParseConsult(kKey.type, 429, "", ""), now);
  EXPECT_TRUE(d.rate_limited);
  EXPECT_FALSE(d.unauthorized);
  EXPECT_EQ(d.record.poll_count, processing.record.poll_count);
  EXPECT_EQ(d.record.error_streak, 0u);
  EXPECT_EQ(d.record.next_poll_ms, now + policy_.ErrorBackoff(1));
  EXPECT_TRUE(d.events.empty());
}

TEST_F(ObserverTest, ARefusedTokenRetriesInFiveMinutesWithoutChangingTheWatch) {
  ObserverDecision authorized = Observe(NewWatch(), Document(kAutorizado), kStart + 2 * kSecond);
  const int64_t now = kStart + kHour;
  ObserverDecision d = Observe(authorized.record, ParseConsult(kKey.type, 401, "", ""), now);
  EXPECT_TRUE(d.unauthorized);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.record.state, WatchState::kFollowing);
  EXPECT_EQ(d.record.last_status, "autorizado");
  EXPECT_EQ(d.record.error_streak, 0u);
  EXPECT_EQ(d.record.next_poll_ms, now + 5 * kMinute);
  ASSERT_TRUE(d.history.has_value());
  EXPECT_EQ(d.history->outcome, "unauthorized");
}

TEST_F(ObserverTest, OnlyTheAnswerThatEndsProcessingCountsAsACompletion) {
  ObserverDecision processing = Observe(NewWatch(), Document(kProcessando), kStart + 2 * kSecond);
  EXPECT_FALSE(processing.completed);
  ObserverDecision authorized =
      Observe(processing.record, Document(kAutorizado), kStart + 10 * kSecond);
  EXPECT_TRUE(authorized.completed);
  ObserverDecision cancelled =
      Observe(authorized.record, Document(R"({"status":"cancelado"})"), kStart + 30 * kMinute);
  EXPECT_FALSE(cancelled.completed);
}

TEST_F(ObserverTest, ATimeoutIsNotACompletion) {
  ObserverDecision before = Observe(NewWatch(), Document(kProcessando), kStart + kHour - 1);
  ObserverDecision d = Observe(before.record, Document(kProcessando), kStart + kHour);
  EXPECT_EQ(d.record.state, WatchState::kDone);
  EXPECT_FALSE(d.completed);
}

TEST_F(ObserverTest, OffsetsLearnedAfterConstructionApplyToTheNextPoll) {
  policy_.SetCompanyOffsets("acme", DocType::kNfe, {2 * kSecond, 4 * kSecond, 40 * kSecond});
  ObserverDecision d = Observe(NewWatch(), Document(kProcessando), kStart + 2 * kSecond);
  EXPECT_EQ(d.record.next_poll_ms, kStart + 4 * kSecond);
}

}  // namespace
}  // namespace gatilho
