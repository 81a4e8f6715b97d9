#include "fiscal/transition.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

using Events = std::vector<std::string>;

DocumentFacts Facts(std::string status) {
  DocumentFacts facts;
  facts.status = std::move(status);
  return facts;
}

TEST(Classify, ProcessingIsNoEventAndDoesNotEndTheCycle) {
  for (const std::optional<DocumentFacts>& previous :
       {std::optional<DocumentFacts>(), std::optional(Facts("processando_autorizacao"))}) {
    Transition t = Classify(previous, Facts("processando_autorizacao"));
    EXPECT_EQ(t.events, Events{});
    EXPECT_FALSE(t.cycle_ended);
    EXPECT_FALSE(t.follow);
    EXPECT_FALSE(t.ignored);
  }
}

struct ArrivalCase {
  const char* status;
  bool follow;
};

class FirstArrival : public testing::TestWithParam<ArrivalCase> {};

TEST_P(FirstArrival, IsAnEventOfThatNameAndEndsTheCycle) {
  const ArrivalCase& c = GetParam();
  for (const std::optional<DocumentFacts>& previous :
       {std::optional<DocumentFacts>(), std::optional(Facts("processando_autorizacao"))}) {
    Transition t = Classify(previous, Facts(c.status));
    EXPECT_EQ(t.events, Events{c.status});
    EXPECT_TRUE(t.cycle_ended);
    EXPECT_EQ(t.follow, c.follow);
    EXPECT_FALSE(t.ignored);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EndOfProcessing, FirstArrival,
    testing::Values(ArrivalCase{"autorizado", true}, ArrivalCase{"erro_autorizacao", false},
                    ArrivalCase{"denegado", false}, ArrivalCase{"cancelado", false},
                    ArrivalCase{"substituido", false}, ArrivalCase{"encerrado", false}),
    [](const testing::TestParamInfo<ArrivalCase>& param) {
      return std::string(param.param.status);
    });

struct ChangeCase {
  const char* from;
  const char* to;
};

class LaterChange : public testing::TestWithParam<ChangeCase> {};

TEST_P(LaterChange, FromAutorizadoIsAFinalEvent) {
  Transition t = Classify(Facts(GetParam().from), Facts(GetParam().to));
  EXPECT_EQ(t.events, Events{GetParam().to});
  EXPECT_TRUE(t.cycle_ended);
  EXPECT_FALSE(t.follow);
}

INSTANTIATE_TEST_SUITE_P(AfterAuthorization, LaterChange,
                         testing::Values(ChangeCase{"autorizado", "cancelado"},    // any type
                                         ChangeCase{"autorizado", "substituido"},  // NFS-e
                                         ChangeCase{"autorizado", "encerrado"}),   // MDF-e
                         [](const testing::TestParamInfo<ChangeCase>& param) {
                           return std::string(param.param.to);
                         });

TEST(Classify, AnUnchangedAnswerIsNoEvent) {
  for (const char* status : {"autorizado", "erro_autorizacao", "denegado", "cancelado"}) {
    DocumentFacts facts = Facts(status);
    facts.carta_correcao = 1;
    facts.tentativa_anterior_status = "cancelado";
    Transition t = Classify(facts, facts);
    EXPECT_EQ(t.events, Events{}) << status;
    EXPECT_TRUE(t.cycle_ended);
    EXPECT_EQ(t.follow, std::string_view(status) == "autorizado");
  }
}

TEST(Classify, AReSubmissionAuthorizedAfterARejectionIsAnEvent) {
  Transition t = Classify(Facts("erro_autorizacao"), Facts("autorizado"));
  EXPECT_EQ(t.events, Events{"autorizado"});
  EXPECT_TRUE(t.follow);
}

TEST(Classify, AGrowingCartaCorrecaoNumberIsAnEvent) {
  DocumentFacts before = Facts("autorizado");
  before.carta_correcao = 1;
  DocumentFacts after = before;
  after.carta_correcao = 2;
  Transition t = Classify(before, after);
  EXPECT_EQ(t.events, Events{"carta_correcao"});
  EXPECT_TRUE(t.cycle_ended);
  EXPECT_TRUE(t.follow);
}

TEST(Classify, AShrinkingCartaCorrecaoNumberIsNoEvent) {
  DocumentFacts before = Facts("autorizado");
  before.carta_correcao = 2;
  DocumentFacts after = before;
  after.carta_correcao = 1;
  EXPECT_EQ(Classify(before, after).events, Events{});
}

TEST(Classify, ContingencyEffectivationIsAnEvent) {
  DocumentFacts before = Facts("autorizado");
  before.contingencia_offline = true;
  DocumentFacts after = before;
  after.contingencia_efetivada = true;
  Transition t = Classify(before, after);
  EXPECT_EQ(t.events, Events{"contingencia_efetivada"});
  EXPECT_TRUE(t.follow);
}

TEST(Classify, AnAuthorizationInPendingContingencyIsAutorizadoAndFollowed) {
  DocumentFacts current = Facts("autorizado");
  current.contingencia_offline = true;
  current.contingencia_efetivada = false;
  Transition t = Classify(std::nullopt, current);
  EXPECT_EQ(t.events, Events{"autorizado"});
  EXPECT_TRUE(t.cycle_ended);
  EXPECT_TRUE(t.follow);
}

TEST(Classify, APreviousAttemptStatusChangeIsAnEvent) {
  DocumentFacts before = Facts("autorizado");
  before.tentativa_anterior_status = "processando_autorizacao";
  DocumentFacts after = before;
  after.tentativa_anterior_status = "cancelado";
  EXPECT_EQ(Classify(before, after).events, Events{"tentativa_anterior"});

  DocumentFacts appeared = Facts("autorizado");
  appeared.tentativa_anterior_status = "autorizado";
  EXPECT_EQ(Classify(Facts("autorizado"), appeared).events, Events{"tentativa_anterior"});
}

TEST(Classify, APreviousAttemptThatDisappearsIsNoEvent) {
  DocumentFacts before = Facts("autorizado");
  before.tentativa_anterior_status = "cancelado";
  EXPECT_EQ(Classify(before, Facts("autorizado")).events, Events{});
}

TEST(Classify, SeveralChangesInOnePollAreEventsInAFixedOrder) {
  DocumentFacts before = Facts("autorizado");
  before.contingencia_offline = true;
  DocumentFacts after = before;
  after.carta_correcao = 1;
  after.contingencia_efetivada = true;
  after.tentativa_anterior_status = "cancelado";
  EXPECT_EQ(Classify(before, after).events,
            (Events{"carta_correcao", "contingencia_efetivada", "tentativa_anterior"}));
}

TEST(Classify, FieldChangesTravelWithANewStatusAsOneEvent) {
  DocumentFacts before = Facts("autorizado");
  DocumentFacts after = Facts("cancelado");
  after.carta_correcao = 1;
  EXPECT_EQ(Classify(before, after).events, Events{"cancelado"});
}

TEST(Classify, AStatusGoingBackwardsIsIgnored) {
  Transition t = Classify(Facts("autorizado"), Facts("processando_autorizacao"));
  EXPECT_EQ(t.events, Events{});
  EXPECT_TRUE(t.ignored);
  EXPECT_TRUE(t.cycle_ended);
  EXPECT_TRUE(t.follow);

  Transition back_from_cancel = Classify(Facts("cancelado"), Facts("autorizado"));
  EXPECT_EQ(back_from_cancel.events, Events{});
  EXPECT_TRUE(back_from_cancel.ignored);
  EXPECT_FALSE(back_from_cancel.follow);

  EXPECT_TRUE(Classify(Facts("autorizado"), Facts("erro_autorizacao")).ignored);
}

TEST(Classify, AnUnknownStatusIsIgnored) {
  Transition t = Classify(std::nullopt, Facts("xyz"));
  EXPECT_EQ(t.events, Events{});
  EXPECT_TRUE(t.ignored);
  EXPECT_FALSE(t.cycle_ended);
}

}  // namespace
}  // namespace gatilho
