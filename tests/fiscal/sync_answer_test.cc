#include "fiscal/sync_answer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace gatilho {
namespace {

DocumentFacts Authorized(int carta = 0) {
  DocumentFacts facts;
  facts.status = "autorizado";
  facts.carta_correcao = carta;
  facts.tentativa_anterior_status = "cancelado";
  return facts;
}

TEST(ReadSyncAnswer, EmissionWithAFinalStatusIsTheConsultAsIs) {
  const std::string body =
      R"({"ref":"C1","status":"autorizado","numero":"12","contingencia_offline":true,)"
      R"("contingencia_offline_efetivada":false})";
  std::optional<Observation> seen =
      ReadSyncAnswer(ErpRequestKind::kEmission, DocType::kNfce, 201, body, std::nullopt);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->outcome, Outcome::kDocument);
  EXPECT_EQ(seen->http_status, 201);
  EXPECT_EQ(seen->facts.status, "autorizado");
  EXPECT_TRUE(seen->facts.contingencia_offline);
  EXPECT_FALSE(seen->facts.contingencia_efetivada);
  EXPECT_EQ(seen->body, body);
}

TEST(ReadSyncAnswer, EmissionRejectedSynchronouslyIsAnAnswerToo) {
  std::optional<Observation> seen =
      ReadSyncAnswer(ErpRequestKind::kEmission, DocType::kNfce, 201,
                     R"({"status":"erro_autorizacao","status_sefaz":"225"})", std::nullopt);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->facts.status, "erro_autorizacao");
}

TEST(ReadSyncAnswer, AsyncAcceptanceIsNoAnswer) {
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kEmission, DocType::kNfe, 202,
                              R"({"ref":"A","status":"processando_autorizacao"})", std::nullopt));
}

TEST(ReadSyncAnswer, ErrorsAndMalformedBodiesAreNoAnswer) {
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kEmission, DocType::kNfe, 422,
                              R"({"codigo":"nfe_autorizada","status":"autorizado"})",
                              std::nullopt));
  EXPECT_FALSE(
      ReadSyncAnswer(ErpRequestKind::kEmission, DocType::kNfe, 201, "<html>", std::nullopt));
  EXPECT_FALSE(
      ReadSyncAnswer(ErpRequestKind::kCancellation, DocType::kNfe, 200, "[]", Authorized()));
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kOther, DocType::kNfe, 200,
                              R"({"status":"autorizado"})", std::nullopt));
}

TEST(ReadSyncAnswer, CancellationKeepsThePreviousFactsWithTheNewStatus) {
  const std::string body = R"({"status":"cancelado","status_sefaz":"135"})";
  std::optional<Observation> seen =
      ReadSyncAnswer(ErpRequestKind::kCancellation, DocType::kNfe, 200, body, Authorized(2));
  ASSERT_TRUE(seen.has_value());
  DocumentFacts expected = Authorized(2);
  expected.status = "cancelado";
  EXPECT_EQ(seen->facts, expected);
  EXPECT_EQ(seen->body, body);
}

TEST(ReadSyncAnswer, CancellationOfAnUnseenDocumentIsCancelado) {
  std::optional<Observation> seen = ReadSyncAnswer(ErpRequestKind::kCancellation, DocType::kNfse,
                                                   200, R"({"status":"cancelado"})", std::nullopt);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->facts.status, "cancelado");
}

TEST(ReadSyncAnswer, FailedCancellationChangesNothing) {
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kCancellation, DocType::kNfe, 200,
                              R"({"status":"erro_cancelamento","status_sefaz":"501"})",
                              Authorized()));
}

TEST(ReadSyncAnswer, CorrectionRaisesTheCartaNumberAndKeepsTheDocumentStatus) {
  std::optional<Observation> seen = ReadSyncAnswer(
      ErpRequestKind::kCorrection, DocType::kNfe, 200,
      R"({"status":"autorizado","status_sefaz":"135","numero_carta_correcao":3})", Authorized(2));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->facts, Authorized(3));

  DocumentFacts cancelled = Authorized(1);
  cancelled.status = "cancelado";
  seen = ReadSyncAnswer(ErpRequestKind::kCorrection, DocType::kNfe, 200,
                        R"({"status":"autorizado","numero_carta_correcao":"2"})", cancelled);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->facts.status, "cancelado");
  EXPECT_EQ(seen->facts.carta_correcao, 2);
}

TEST(ReadSyncAnswer, CteCorrectionWithOnlyAnXmlPathCountsAsTheFirstCarta) {
  std::optional<Observation> seen =
      ReadSyncAnswer(ErpRequestKind::kCorrection, DocType::kCte, 200,
                     R"({"status":"autorizado","caminho_xml":"https://x/cce.xml"})", std::nullopt);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->facts.status, "autorizado");
  EXPECT_EQ(seen->facts.carta_correcao, 1);
}

TEST(ReadSyncAnswer, RejectedCorrectionChangesNothing) {
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kCorrection, DocType::kNfe, 200,
                              R"({"status":"erro_autorizacao","numero_carta_correcao":3})",
                              Authorized(2)));
  EXPECT_FALSE(ReadSyncAnswer(ErpRequestKind::kCorrection, DocType::kNfe, 200,
                              R"({"status":"autorizado"})", Authorized(2)));
}

}  // namespace
}  // namespace gatilho
