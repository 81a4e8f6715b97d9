#include "fiscal/consult_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace gatilho {
namespace {

// Bodies shaped like the examples in the API documentation.
constexpr std::string_view kNfeAutorizado =
    R"({"cnpj_emitente":"07504505000132","ref":"referencia_000899_nfe","status":"autorizado",)"
    R"("status_sefaz":"100","mensagem_sefaz":"Autorizado o uso da NF-e",)"
    R"("chave_nfe":"NFe41190607504505000132550010000000221923094166","numero":"22","serie":"1",)"
    R"("caminho_xml_nota_fiscal":"/arquivos_development/07504505000132/201906/XMLs/)"
    R"(41190607504505000132550010000000221923094166-nfe.xml",)"
    R"("caminho_danfe":"/arquivos_development/07504505000132/201906/DANFEs/)"
    R"(41190607504505000132550010000000221923094166.pdf"})";

constexpr std::string_view kNfeComCartaCorrecao =
    R"({"cnpj_emitente":"07504505000132","ref":"referencia_000899_nfe","status":"autorizado",)"
    R"("status_sefaz":"135","mensagem_sefaz":"Evento registrado e vinculado a NF-e",)"
    R"("chave_nfe":"NFe41190607504505000132550010000000221923094166",)"
    R"("caminho_xml_carta_correcao":"/arquivos_development/07504505000132/201906/XMLs/)"
    R"(CCe-41190607504505000132550010000000221923094166-02.xml",)"
    R"("caminho_pdf_carta_correcao":"/notas_fiscais_consumidor/cce.pdf",)"
    R"("numero_carta_correcao":2})";

constexpr std::string_view kNfeComTentativaAnterior =
    R"({"cnpj_emitente":"07504505000132","ref":"ref_contingencia","status":"autorizado",)"
    R"("status_sefaz":"100","mensagem_sefaz":"Autorizado o uso da NF-e","numero":"24",)"
    R"("tentativa_anterior":{"status":"cancelado","serie":"1","numero":"23",)"
    R"("chave_nfe":"NFe41190607504505000132550010000000231923094166"}})";

constexpr std::string_view kNfceContingencia =
    R"({"cnpj_emitente":"07504505000132","ref":"07504505000132_NFCE_000001",)"
    R"("status":"autorizado","status_sefaz":"100","mensagem_sefaz":"Autorizado o uso da NF-e",)"
    R"("chave_nfe":"NFe41190607504505000132650010000000011000000019","numero":"1","serie":"1",)"
    R"("contingencia_offline":true,"contingencia_offline_efetivada":false,)"
    R"("tentativa_anterior":{"status":"processando_autorizacao","serie":"1","numero":"1"}})";

constexpr std::string_view kCteComCartaCorrecao =
    R"({"cnpj_emitente":"07504505000132","ref":"cte-77","status":"autorizado",)"
    R"("status_sefaz":"135","mensagem_sefaz":"Evento registrado e vinculado a CT-e",)"
    R"("modelo":"57","chave":"CTe41190607504505000132570010000000011000000015",)"
    R"("caminho_xml_carta_correcao":"https://focusnfe.s3.sa-east-1.amazonaws.com/cce.xml"})";

constexpr std::string_view kNfseSubstituido =
    R"({"cnpj_prestador":"07504505000132","ref":"nfs-2","numero_rps":"2","serie_rps":"1",)"
    R"("status":"substituido","numero":"8","codigo_verificacao":"CUAP-1KZS",)"
    R"("numero_nfse_substituta":"9"})";

constexpr std::string_view kNfseErro =
    R"({"cnpj_prestador":"07504505000132","ref":"nfs-3","status":"erro_autorizacao",)"
    R"("erros":[{"codigo":"E145","mensagem":"Código do município inválido",)"
    R"("correcao":null}]})";

constexpr std::string_view kMdfeEncerrado =
    R"({"cnpj_emitente":"07504505000132","ref":"mdfe-1","status":"encerrado",)"
    R"("status_sefaz":"135","mensagem_sefaz":"Evento registrado e vinculado a MDF-e",)"
    R"("modelo":"58","chave":"MDFe41190607504505000132580010000000011000000016",)"
    R"("caminho_xml_encerramento":"https://focusnfe.s3.sa-east-1.amazonaws.com/enc.xml"})";

constexpr std::string_view kProcessando =
    R"({"cnpj_emitente":"07504505000132","ref":"r1","status":"processando_autorizacao"})";

constexpr std::string_view kHtml502 =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

Observation Ok(DocType type, std::string_view body) {
  return ParseConsult(type, 200, body, "");
}

TEST(OutcomeName, NamesEveryOutcome) {
  EXPECT_EQ(OutcomeName(Outcome::kDocument), "document");
  EXPECT_EQ(OutcomeName(Outcome::kNotFound), "not_found");
  EXPECT_EQ(OutcomeName(Outcome::kUnauthorized), "unauthorized");
  EXPECT_EQ(OutcomeName(Outcome::kRateLimited), "rate_limited");
  EXPECT_EQ(OutcomeName(Outcome::kServerError), "server_error");
  EXPECT_EQ(OutcomeName(Outcome::kUnexpected), "unexpected");
  EXPECT_EQ(OutcomeName(Outcome::kTransportError), "transport_error");
}

TEST(ParseConsult, AuthorizedNfeIsADocumentWithItsBodyKeptByteForByte) {
  Observation obs = Ok(DocType::kNfe, kNfeAutorizado);
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_EQ(obs.http_status, 200);
  EXPECT_EQ(obs.body, kNfeAutorizado);
  EXPECT_EQ(obs.facts.status, "autorizado");
  EXPECT_EQ(obs.facts.carta_correcao, 0);
  EXPECT_FALSE(obs.facts.contingencia_offline);
  EXPECT_EQ(obs.facts.tentativa_anterior_status, "");
  EXPECT_EQ(obs.problem, "");
}

TEST(ParseConsult, ReadsTheCartaCorrecaoNumber) {
  EXPECT_EQ(Ok(DocType::kNfe, kNfeComCartaCorrecao).facts.carta_correcao, 2);
  Observation as_string =
      Ok(DocType::kNfe, R"({"status":"autorizado","numero_carta_correcao":"3"})");
  ASSERT_EQ(as_string.outcome, Outcome::kDocument) << as_string.problem;
  EXPECT_EQ(as_string.facts.carta_correcao, 3);
}

TEST(ParseConsult, CountsACteCartaCorrecaoKnownOnlyByItsXmlPathAsOne) {
  Observation obs = Ok(DocType::kCte, kCteComCartaCorrecao);
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_EQ(obs.facts.carta_correcao, 1);
}

TEST(ParseConsult, RejectsACartaCorrecaoNumberThatIsNotACount) {
  for (std::string_view body : {R"({"status":"autorizado","numero_carta_correcao":"dois"})",
                                R"({"status":"autorizado","numero_carta_correcao":-1})",
                                R"({"status":"autorizado","numero_carta_correcao":1.5})"}) {
    Observation obs = Ok(DocType::kNfe, body);
    EXPECT_EQ(obs.outcome, Outcome::kUnexpected) << body;
    EXPECT_NE(obs.problem.find("numero_carta_correcao"), std::string::npos) << obs.problem;
  }
}

TEST(ParseConsult, ReadsNfceOfflineContingencyAndThePreviousAttempt) {
  Observation obs = Ok(DocType::kNfce, kNfceContingencia);
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_TRUE(obs.facts.contingencia_offline);
  EXPECT_FALSE(obs.facts.contingencia_efetivada);
  EXPECT_EQ(obs.facts.tentativa_anterior_status, "processando_autorizacao");
}

TEST(ParseConsult, AcceptsContingencyFlagsWrittenAsStrings) {
  Observation obs = Ok(DocType::kNfcom, R"({"status":"autorizado","contingencia_offline":"true",)"
                                        R"("contingencia_offline_efetivada":"true"})");
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_TRUE(obs.facts.contingencia_offline);
  EXPECT_TRUE(obs.facts.contingencia_efetivada);
}

TEST(ParseConsult, RejectsAContingencyFlagThatIsNotABoolean) {
  Observation obs = Ok(DocType::kNfce, R"({"status":"autorizado","contingencia_offline":"sim"})");
  EXPECT_EQ(obs.outcome, Outcome::kUnexpected);
  EXPECT_EQ(obs.problem, "HTTP 200: contingencia_offline is \"sim\", not true or false");
}

TEST(ParseConsult, ReadsTheNfePreviousAttemptStatus) {
  Observation obs = Ok(DocType::kNfe, kNfeComTentativaAnterior);
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_EQ(obs.facts.tentativa_anterior_status, "cancelado");
}

TEST(ParseConsult, KnowsSubstituidoOnlyForMunicipalNfse) {
  EXPECT_EQ(Ok(DocType::kNfse, kNfseSubstituido).outcome, Outcome::kDocument);
  EXPECT_EQ(Ok(DocType::kNfse, kNfseSubstituido).facts.status, "substituido");
  EXPECT_EQ(Ok(DocType::kNfsen, kNfseSubstituido).outcome, Outcome::kUnexpected);
}

TEST(ParseConsult, NfseRejectionWithErrosIsADocument) {
  Observation obs = Ok(DocType::kNfse, kNfseErro);
  ASSERT_EQ(obs.outcome, Outcome::kDocument) << obs.problem;
  EXPECT_EQ(obs.facts.status, "erro_autorizacao");
}

TEST(ParseConsult, KnowsEncerradoOnlyForMdfe) {
  EXPECT_EQ(Ok(DocType::kMdfe, kMdfeEncerrado).outcome, Outcome::kDocument);
  EXPECT_EQ(Ok(DocType::kNfe, kMdfeEncerrado).outcome, Outcome::kUnexpected);
}

TEST(ParseConsult, KnowsDenegadoForSefazTypesButNotForNfse) {
  constexpr std::string_view kDenegado = R"({"status":"denegado"})";
  for (DocType type :
       {DocType::kNfe, DocType::kNfce, DocType::kCte, DocType::kMdfe, DocType::kNfcom}) {
    EXPECT_EQ(Ok(type, kDenegado).outcome, Outcome::kDocument) << DocTypeName(type);
  }
  EXPECT_EQ(Ok(DocType::kNfse, kDenegado).outcome, Outcome::kUnexpected);
  EXPECT_EQ(Ok(DocType::kNfsen, kDenegado).outcome, Outcome::kUnexpected);
}

TEST(ParseConsult, AcceptsProcessingForEveryType) {
  for (DocType type : kAllDocTypes) {
    Observation obs = Ok(type, kProcessando);
    EXPECT_EQ(obs.outcome, Outcome::kDocument) << DocTypeName(type) << ": " << obs.problem;
    EXPECT_EQ(obs.facts.status, "processando_autorizacao");
  }
}

TEST(ParseConsult, NamesAnUnknownStatusAndTheType) {
  Observation obs = Ok(DocType::kNfe, R"({"status":"xyz"})");
  EXPECT_EQ(obs.outcome, Outcome::kUnexpected);
  EXPECT_EQ(obs.problem, "HTTP 200: status 'xyz' is not a known nfe status");
  EXPECT_EQ(obs.body, "");
}

TEST(ParseConsult, TruncatedJsonIsUnexpected) {
  Observation obs = Ok(DocType::kNfe, kNfeAutorizado.substr(0, 60));
  EXPECT_EQ(obs.outcome, Outcome::kUnexpected);
  EXPECT_EQ(obs.problem.rfind("HTTP 200: body is not JSON", 0), 0u) << obs.problem;
}

TEST(ParseConsult, JsonArrayIsUnexpected) {
  Observation obs = Ok(DocType::kNfe, R"([{"status":"autorizado"}])");
  EXPECT_EQ(obs.outcome, Outcome::kUnexpected);
  EXPECT_EQ(obs.problem,
            R"(HTTP 200: body is JSON but not an object: '[{"status":"autorizado"}]')");
}

TEST(ParseConsult, ObjectWithoutAStringStatusIsUnexpected) {
  EXPECT_EQ(Ok(DocType::kNfe, R"({"ref":"r1"})").outcome, Outcome::kUnexpected);
  EXPECT_EQ(Ok(DocType::kNfe, R"({"status":1})").outcome, Outcome::kUnexpected);
}

TEST(ParseConsult, HtmlErrorPageIsAServerErrorDescribedWithoutItsMarkup) {
  Observation obs = ParseConsult(DocType::kNfe, 502, kHtml502, "");
  EXPECT_EQ(obs.outcome, Outcome::kServerError);
  EXPECT_EQ(obs.http_status, 502);
  EXPECT_EQ(obs.problem, "HTTP 502 with an HTML body");
  EXPECT_EQ(obs.body, "");
}

TEST(ParseConsult, FiveHundredIsAServerError) {
  Observation obs = ParseConsult(DocType::kCte, 500, "", "");
  EXPECT_EQ(obs.outcome, Outcome::kServerError);
  EXPECT_EQ(obs.problem, "HTTP 500 with an empty body");
}

TEST(ParseConsult, NotFoundCarriesTheApiErrorCode) {
  Observation obs =
      ParseConsult(DocType::kNfe, 404,
                   R"({"codigo":"nao_encontrado","mensagem":"Nota fiscal não encontrada"})", "");
  EXPECT_EQ(obs.outcome, Outcome::kNotFound);
  EXPECT_EQ(obs.problem, "HTTP 404 with codigo 'nao_encontrado': Nota fiscal não encontrada");
}

TEST(ParseConsult, RefusedTokensAreUnauthorized) {
  EXPECT_EQ(ParseConsult(DocType::kNfe, 401, "", "").outcome, Outcome::kUnauthorized);
  Observation forbidden = ParseConsult(
      DocType::kNfe, 403, R"({"codigo":"permissao_negada","mensagem":"Acesso negado"})", "");
  EXPECT_EQ(forbidden.outcome, Outcome::kUnauthorized);
  EXPECT_EQ(forbidden.problem, "HTTP 403 with codigo 'permissao_negada': Acesso negado");
}

TEST(ParseConsult, TooManyRequestsIsRateLimited) {
  EXPECT_EQ(ParseConsult(DocType::kNfe, 429, "Retry later", "").outcome, Outcome::kRateLimited);
}

TEST(ParseConsult, NoHttpAnswerIsATransportError) {
  Observation timeout = ParseConsult(DocType::kNfe, 0, "", "Operation timed out after 10000 ms");
  EXPECT_EQ(timeout.outcome, Outcome::kTransportError);
  EXPECT_EQ(timeout.problem, "Operation timed out after 10000 ms");
  Observation silent = ParseConsult(DocType::kNfe, 0, "", "");
  EXPECT_EQ(silent.outcome, Outcome::kTransportError);
  EXPECT_EQ(silent.problem, "no HTTP answer");
}

TEST(ParseConsult, TransportErrorWinsOverAnyStatus) {
  EXPECT_EQ(ParseConsult(DocType::kNfe, 200, kNfeAutorizado, "connection reset").outcome,
            Outcome::kTransportError);
}

TEST(ParseConsult, OtherCodesAreUnexpected) {
  for (int code : {301, 400, 415, 422}) {
    Observation obs = ParseConsult(DocType::kNfe, code, R"({"codigo":"requisicao_invalida"})", "");
    EXPECT_EQ(obs.outcome, Outcome::kUnexpected) << code;
    EXPECT_EQ(obs.problem, "HTTP " + std::to_string(code) + " with codigo 'requisicao_invalida'");
  }
}

TEST(ParseConsult, ProblemExcerptsAreShortAndFreeOfControlCharacters) {
  std::string body = "\x1b[31mgarbage\r\n" + std::string(500, 'x');
  Observation obs = ParseConsult(DocType::kNfe, 503, body, "");
  EXPECT_EQ(obs.outcome, Outcome::kServerError);
  EXPECT_LT(obs.problem.size(), 180u);
  EXPECT_EQ(obs.problem.find_first_of("\x1b\r\n"), std::string::npos) << obs.problem;
  EXPECT_EQ(obs.problem.substr(obs.problem.size() - 4), "...'");
}

TEST(ParseConsult, ExcerptsDoNotSplitAMultiByteCharacter) {
  // With the leading "x", byte 120 falls inside a two-byte "ç".
  std::string body = "x";
  for (int i = 0; i < 100; ++i)
    body += "\xc3\xa7";
  Observation obs = ParseConsult(DocType::kNfe, 500, body, "");
  std::string expected = "HTTP 500 with body 'x";
  for (int i = 0; i < 59; ++i)
    expected += "\xc3\xa7";
  EXPECT_EQ(obs.problem, expected + "...'");
}

}  // namespace
}  // namespace gatilho
