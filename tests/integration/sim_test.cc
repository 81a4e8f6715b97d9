// Black-box tests of gatilho-sim: the real binary on loopback, driven over HTTP.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "support/http_call.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace gatilho::testing {
namespace {

constexpr char kToken[] = "token-de-teste";
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kJustificativa[] = R"({"justificativa":"Cancelamento solicitado pelo cliente"})";

// The value of the first `"name":` in compact JSON `text`: a string's contents (escaped quotes and
// backslashes undone) or a literal (number, true, ...); "" when absent. The integration binary does
// not link a JSON library, and the simulator's bodies are compact, so a scan is enough.
std::string Field(const std::string& text, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  std::size_t at = text.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  std::string value;
  if (at < text.size() && text[at] == '"') {
    for (++at; at < text.size() && text[at] != '"'; ++at) {
      if (text[at] == '\\' && at + 1 < text.size()) ++at;
      value += text[at];
    }
    return value;
  }
  while (at < text.size() && text[at] != ',' && text[at] != '}' && text[at] != ']') {
    value += text[at++];
  }
  return value;
}

// A numeric field of `text`, or -1 when absent.
int64_t Number(const std::string& text, const std::string& name) {
  const std::string value = Field(text, name);
  return value.empty() ? -1 : std::stoll(value);
}

// The Standard Webhooks signature, computed here with OpenSSL directly so the receiver is checked
// against an independent implementation.
std::string Sign(const std::string& id, const std::string& timestamp, const std::string& body) {
  const std::string encoded_key = std::string(kSecret).substr(6);
  std::string key(encoded_key.size(), '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                                      reinterpret_cast<const unsigned char*>(encoded_key.data()),
                                      static_cast<int>(encoded_key.size()));
  key.resize(decoded);  // the test secret has no padding
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), digest, &length);
  std::string encoded(4 * ((length + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), digest,
                  static_cast<int>(length));
  return "v1," + encoded;
}

std::string NowSeconds() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

class SimTest : public ::testing::Test {
 protected:
  // Starts gatilho-sim with `args` and returns its base URL, or "" after recording a failure.
  std::string Launch(const std::vector<std::string>& args) {
    std::string error;
    std::unique_ptr<Subprocess> process = Subprocess::Start(GATILHO_SIM_BIN, args, {}, &error);
    if (!process) {
      ADD_FAILURE() << error;
      return "";
    }
    const int port = WaitForListeningPort(*process, 5000);
    if (port < 0) {
      ADD_FAILURE() << "gatilho-sim did not announce a port";
      return "";
    }
    process->Drain(Subprocess::DrainMode::kDiscard);
    processes_.push_back(std::move(process));
    return "http://127.0.0.1:" + std::to_string(port);
  }

  HttpResult Api(const std::string& method, const std::string& url, const std::string& body = "") {
    return HttpCall(method, url, body, std::string(kToken));
  }

  // Polls GET `url` until its status differs from processando_autorizacao, for up to 5 s.
  std::string WaitForFinal(const std::string& url) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string body;
    do {
      body = Api("GET", url).body;
      if (Field(body, "status") != "processando_autorizacao") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return body;
  }

  std::vector<std::unique_ptr<Subprocess>> processes_;
};

TEST_F(SimTest, AsyncEmissionIsProcessingThenFinal) {
  const std::string api = Launch({"api", "--time-scale", "40", "--sigma", "0", "--reject-rate", "0",
                                  "--deny-rate", "0", "--seed", "7"});
  ASSERT_FALSE(api.empty());

  const HttpResult posted =
      Api("POST", api + "/v2/nfe?ref=PEDIDO-1", R"({"cnpj_emitente":"11222333000181"})");
  EXPECT_EQ(posted.status, 202);
  EXPECT_EQ(
      posted.body,
      R"({"cnpj_emitente":"11222333000181","ref":"PEDIDO-1","status":"processando_autorizacao"})");
  const HttpResult early = Api("GET", api + "/v2/nfe/PEDIDO-1");
  EXPECT_EQ(early.status, 200);
  EXPECT_EQ(early.body, posted.body);

  const std::string final_body = WaitForFinal(api + "/v2/nfe/PEDIDO-1");
  EXPECT_EQ(Field(final_body, "status"), "autorizado");
  EXPECT_EQ(Field(final_body, "status_sefaz"), "100");
  EXPECT_EQ(Field(final_body, "mensagem_sefaz"), "Autorizado o uso da NF-e");
  EXPECT_EQ(Field(final_body, "chave_nfe").size(), 3u + 44u);
  EXPECT_FALSE(Field(final_body, "caminho_danfe").empty());

  // 4000 ms median / 40 with no spread: finished exactly 100 ms after submission.
  const std::string documents = HttpCall("GET", api + "/__sim/documents").body;
  EXPECT_EQ(Number(documents, "finished_ms") - Number(documents, "submitted_ms"), 100);
  EXPECT_EQ(Number(documents, "attempt"), 1);
}

TEST_F(SimTest, SyncNfceAnswers201WithFinalBody) {
  const std::string api = Launch({"api", "--reject-rate", "0", "--deny-rate", "0"});
  ASSERT_FALSE(api.empty());

  const HttpResult posted = Api("POST", api + "/v2/nfce?ref=CUPOM-1", "{}");
  EXPECT_EQ(posted.status, 201);
  const std::string body = posted.body;
  EXPECT_EQ(Field(body, "status"), "autorizado");
  EXPECT_EQ(Field(body, "cnpj_emitente"), "07504505000132");
  EXPECT_FALSE(Field(body, "qrcode_url").empty());
  EXPECT_EQ(Api("GET", api + "/v2/nfce/CUPOM-1").body, posted.body);
}

TEST_F(SimTest, UnknownRefIs404WithErrorBody) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());

  const HttpResult result = Api("GET", api + "/v2/nfe/NAO-EXISTE");
  EXPECT_EQ(result.status, 404);
  EXPECT_EQ(result.body, R"({"codigo":"nao_encontrado","mensagem":"Nota fiscal não encontrada"})");
  EXPECT_EQ(Api("GET", api + "/v2/desconhecido/X").status, 404);
}

TEST_F(SimTest, WrongTokenIs401) {
  const std::string api = Launch({"api", "--token", kToken, "--blocked-token", "bloqueado"});
  ASSERT_FALSE(api.empty());

  const HttpResult wrong = HttpCall("GET", api + "/v2/nfe/X", "", std::string("outro"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Field(wrong.body, "codigo"), "nao_autorizado");
  EXPECT_EQ(HttpCall("GET", api + "/v2/nfe/X").status, 401);
  const HttpResult blocked = HttpCall("GET", api + "/v2/nfe/X", "", std::string("bloqueado"));
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(Field(blocked.body, "codigo"), "permissao_negada");
  EXPECT_EQ(Api("GET", api + "/v2/nfe/X").status, 404);
}

TEST_F(SimTest, RateLimitAnswers429WithHeadersAfterLimit) {
  const std::string api = Launch({"api", "--rate-limit", "5"});
  ASSERT_FALSE(api.empty());

  for (int i = 0; i < 5; ++i) {
    const HttpResult result = Api(i % 2 == 0 ? "GET" : "DELETE", api + "/v2/nfe/X");
    EXPECT_NE(result.status, 429);
    EXPECT_EQ(result.Header("rate-limit-limit"), "5");
    EXPECT_EQ(result.Header("rate-limit-remaining"), std::to_string(4 - i));
  }
  const HttpResult limited = Api("GET", api + "/v2/nfe/X");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Field(limited.body, "codigo"), "limite_excedido");
  EXPECT_EQ(limited.Header("rate-limit-remaining"), "0");
  const int reset = std::stoi("0" + limited.Header("rate-limit-reset"));
  EXPECT_GE(reset, 1);
  EXPECT_LE(reset, 60);

  const std::string stats = HttpCall("GET", api + "/__sim/stats").body;
  EXPECT_EQ(Number(stats, "rate_limited"), 1);
  EXPECT_EQ(Number(stats, "requests"), 6);
}

TEST_F(SimTest, ResubmissionAfterErrorStartsNewAttempt) {
  const std::string api = Launch({"api", "--reject-rate", "1", "--time-scale", "1000"});
  ASSERT_FALSE(api.empty());

  EXPECT_EQ(Api("POST", api + "/v2/nfe?ref=R1", "{}").status, 202);
  const std::string rejected = WaitForFinal(api + "/v2/nfe/R1");
  EXPECT_EQ(Field(rejected, "status"), "erro_autorizacao");
  EXPECT_FALSE(Field(rejected, "status_sefaz").empty());
  EXPECT_FALSE(Field(rejected, "mensagem_sefaz").empty());

  const HttpResult again = Api("POST", api + "/v2/nfe?ref=R1", "{}");
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(Field(again.body, "status"), "processando_autorizacao");
  const std::string documents = HttpCall("GET", api + "/__sim/documents").body;
  EXPECT_EQ(Number(documents, "attempt"), 2);
}

TEST_F(SimTest, ResubmittingWhileProcessingIsRefused) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());

  EXPECT_EQ(Api("POST", api + "/v2/nfe?ref=P1", "{}").status, 202);
  const HttpResult nfe = Api("POST", api + "/v2/nfe?ref=P1", "{}");
  EXPECT_EQ(nfe.status, 422);
  EXPECT_EQ(Field(nfe.body, "codigo"), "em_processamento");
  EXPECT_EQ(Api("POST", api + "/v2/cte?ref=P1", "{}").status, 202);
  const HttpResult cte = Api("POST", api + "/v2/cte?ref=P1", "{}");
  EXPECT_EQ(cte.status, 409);
  EXPECT_EQ(Field(cte.body, "codigo"), "cte_em_processamento");
}

TEST_F(SimTest, CancelMovesAutorizadoToCancelado) {
  const std::string api =
      Launch({"api", "--reject-rate", "0", "--deny-rate", "0", "--time-scale", "1000"});
  ASSERT_FALSE(api.empty());
  ASSERT_EQ(Api("POST", api + "/v2/nfe?ref=C1", "{}").status, 202);
  ASSERT_EQ(Field(WaitForFinal(api + "/v2/nfe/C1"), "status"), "autorizado");

  EXPECT_EQ(Api("DELETE", api + "/v2/nfe/C1", R"({"justificativa":"curta"})").status, 400);
  const HttpResult cancelled = Api("DELETE", api + "/v2/nfe/C1", kJustificativa);
  EXPECT_EQ(cancelled.status, 200);
  const std::string answer = cancelled.body;
  EXPECT_EQ(Field(answer, "status"), "cancelado");
  EXPECT_EQ(Field(answer, "status_sefaz"), "135");

  const std::string consult = Api("GET", api + "/v2/nfe/C1").body;
  EXPECT_EQ(Field(consult, "status"), "cancelado");
  EXPECT_EQ(Field(consult, "caminho_xml_cancelamento"), Field(answer, "caminho_xml_cancelamento"));
  const HttpResult twice = Api("DELETE", api + "/v2/nfe/C1", kJustificativa);
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(Field(twice.body, "codigo"), "nfe_cancelada");
  const HttpResult reuse = Api("POST", api + "/v2/nfe?ref=C1", "{}");
  EXPECT_EQ(reuse.status, 422);
  EXPECT_EQ(Field(reuse.body, "codigo"), "nfe_autorizada");
}

TEST_F(SimTest, CancelOfUnauthorisedNoteIs422) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  ASSERT_EQ(Api("POST", api + "/v2/nfe?ref=U1", "{}").status, 202);

  const HttpResult result = Api("DELETE", api + "/v2/nfe/U1", kJustificativa);
  EXPECT_EQ(result.status, 422);
  EXPECT_EQ(Field(result.body, "codigo"), "nfe_nao_autorizada");
}

TEST_F(SimTest, CartaCorrecaoIncrementsNumber) {
  const std::string api =
      Launch({"api", "--reject-rate", "0", "--deny-rate", "0", "--time-scale", "1000"});
  ASSERT_FALSE(api.empty());
  ASSERT_EQ(Api("POST", api + "/v2/nfe?ref=CC1", "{}").status, 202);
  ASSERT_EQ(Field(WaitForFinal(api + "/v2/nfe/CC1"), "status"), "autorizado");

  const std::string correcao = R"({"correcao":"Endereço do destinatário corrigido"})";
  const std::string url = api + "/v2/nfe/CC1/carta_correcao";
  EXPECT_EQ(Api("POST", url, R"({"correcao":"curta"})").status, 400);
  const HttpResult first = Api("POST", url, correcao);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(Number(first.body, "numero_carta_correcao"), 1);
  EXPECT_EQ(Api("POST", url, correcao).status, 200);

  const std::string consult = Api("GET", api + "/v2/nfe/CC1").body;
  EXPECT_EQ(Field(consult, "status"), "autorizado");
  EXPECT_EQ(Field(consult, "status_sefaz"), "135");
  EXPECT_EQ(Field(consult, "mensagem_sefaz"), "Evento registrado e vinculado a NF-e");
  EXPECT_EQ(Number(consult, "numero_carta_correcao"), 2);
  EXPECT_FALSE(Field(consult, "caminho_xml_carta_correcao").empty());
  EXPECT_FALSE(Field(consult, "caminho_pdf_carta_correcao").empty());
}

TEST_F(SimTest, MdfeEncerrarShowsEncerrado) {
  const std::string api =
      Launch({"api", "--reject-rate", "0", "--deny-rate", "0", "--time-scale", "1000"});
  ASSERT_FALSE(api.empty());
  ASSERT_EQ(Api("POST", api + "/v2/mdfe?ref=M1", "{}").status, 202);
  ASSERT_EQ(Field(WaitForFinal(api + "/v2/mdfe/M1"), "status"), "autorizado");

  EXPECT_EQ(Api("POST", api + "/v2/mdfe/M1/encerrar", R"({"sigla_uf":"PR"})").status, 200);
  const std::string consult = Api("GET", api + "/v2/mdfe/M1").body;
  EXPECT_EQ(Field(consult, "status"), "encerrado");
  EXPECT_FALSE(Field(consult, "caminho_xml_encerramento").empty());
}

TEST_F(SimTest, SameStateGivesSameBytes) {
  const std::string api = Launch({"api", "--time-scale", "1000"});
  ASSERT_FALSE(api.empty());
  ASSERT_EQ(Api("POST", api + "/v2/nfse?ref=S1", "{}").status, 202);
  ASSERT_EQ(Api("POST", api + "/v2/cte?ref=S2", "{}").status, 202);
  WaitForFinal(api + "/v2/nfse/S1");
  WaitForFinal(api + "/v2/cte/S2");

  for (const std::string path : {"/v2/nfse/S1", "/v2/cte/S2"}) {
    const HttpResult first = Api("GET", api + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const HttpResult second = Api("GET", api + path);
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, second.body) << path;
  }
}

TEST_F(SimTest, FaultsCanBeSwitchedAtRunTime) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  const std::string faults = api + "/__sim/faults";
  const std::string url = api + "/v2/nfe/X";
  EXPECT_EQ(Api("GET", url).status, 404);

  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_html":1})").status, 200);
  const HttpResult html = Api("GET", url);
  EXPECT_EQ(html.status, 200);
  EXPECT_NE(html.Header("content-type").find("text/html"), std::string::npos);

  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_malformed":1})").status, 200);
  const HttpResult malformed = Api("GET", url);
  EXPECT_EQ(malformed.status, 200);
  EXPECT_FALSE(malformed.body.empty());
  EXPECT_NE(malformed.body.back(), '}') << malformed.body;

  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_5xx":1})").status, 200);
  const int server_error = Api("GET", url).status;
  EXPECT_TRUE(server_error == 502 || server_error == 503) << server_error;

  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_drop":1})").status, 200);
  const HttpResult dropped = Api("GET", url);
  EXPECT_EQ(dropped.status, 0);
  EXPECT_FALSE(dropped.error.empty());

  ASSERT_EQ(HttpCall("POST", faults, R"({"latency_ms":300})").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Api("GET", url).status, 404);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));

  EXPECT_EQ(HttpCall("POST", faults, R"({"fault_html":2})").status, 400);
  const std::string stats = HttpCall("GET", api + "/__sim/stats").body;
  EXPECT_EQ(Number(stats, "faults_injected"), 4);
}

TEST_F(SimTest, TransportFaultsBreakTheAnswerEachInItsOwnWayAndAreCountedByKind) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  const std::string faults = api + "/__sim/faults";
  const std::string url = api + "/v2/nfe/X";

  // A timeout holds the real answer: a client patient enough still gets it, late.
  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_timeout":1,"timeout_ms":1500})").status, 200);
  const auto start = std::chrono::steady_clock::now();
  const HttpResult held = Api("GET", url);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(held.status, 404) << held.error;

  // Truncated: the header promises more body than ever arrives, unlike the well-framed
  // malformed JSON.
  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_truncated":1})").status, 200);
  const HttpResult truncated = Api("GET", url);
  EXPECT_EQ(truncated.status, 0);
  EXPECT_NE(truncated.error.find("bytes remaining"), std::string::npos) << truncated.error;

  // A reset is an RST, which the client reports differently from the drop's clean close.
  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_reset":1})").status, 200);
  const HttpResult reset = Api("GET", url);
  EXPECT_EQ(reset.status, 0);
  EXPECT_NE(reset.error.find("reset"), std::string::npos) << reset.error;
  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_drop":1})").status, 200);
  const HttpResult dropped = Api("GET", url);
  EXPECT_EQ(dropped.status, 0);
  EXPECT_EQ(dropped.error.find("reset"), std::string::npos) << dropped.error;

  ASSERT_EQ(HttpCall("POST", faults, R"({"fault_429":1})").status, 200);
  const HttpResult limited = Api("GET", url);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Header("rate-limit-reset"), "1");

  const std::string stats = HttpCall("GET", api + "/__sim/stats").body;
  EXPECT_EQ(Number(stats, "faults_injected"), 5);
  for (const char* kind : {"timeout", "truncated", "reset", "drop", "429"}) {
    EXPECT_EQ(Number(stats, kind), 1) << kind << " in " << stats;
  }
  EXPECT_EQ(Number(stats, "5xx"), 0) << stats;
}

TEST_F(SimTest, StormRefusesEveryRequestUntilItEndsAndSaysWhen) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  const std::string faults = api + "/__sim/faults";
  const std::string url = api + "/v2/nfe/X";

  ASSERT_EQ(HttpCall("POST", faults, R"({"storm_ms":1500})").status, 200);
  for (int i = 0; i < 3; ++i) {
    const HttpResult refused = Api("GET", url);
    EXPECT_EQ(refused.status, 429);
    const std::string wait = refused.Header("retry-after");
    EXPECT_TRUE(wait == "1" || wait == "2") << wait;
    EXPECT_EQ(refused.Header("rate-limit-reset"), wait);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_EQ(Api("GET", url).status, 404) << "the storm is over";

  // Periodic storms start one period after being switched on; a storm as long as its period
  // would never let a request through and is refused.
  ASSERT_EQ(HttpCall("POST", faults, R"({"storm_ms":400,"storm_every_ms":800})").status, 200);
  EXPECT_EQ(Api("GET", url).status, 404) << "the first period is calm";
  std::this_thread::sleep_for(std::chrono::milliseconds(850));
  EXPECT_EQ(Api("GET", url).status, 429);
  EXPECT_EQ(HttpCall("POST", faults, R"({"storm_ms":800,"storm_every_ms":800})").status, 400);

  const std::string stats = HttpCall("GET", api + "/__sim/stats").body;
  EXPECT_EQ(Number(stats, "storms"), 2) << stats;
  EXPECT_EQ(Number(stats, "storm_429"), 4) << stats;
}

TEST_F(SimTest, BadFaultOptionsExitWith2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"api", "--fault-timeout", "1.5"},
        {"api", "--fault-timeout-ms", "0"},
        {"api", "--fault-429", "-0.1"},
        {"api", "--storm-ms", "1000", "--storm-every-ms", "500"},
        {"receiver", "--fail-rate", "2"},
        {"receiver", "--hang-ms", "-1"}}) {
    std::unique_ptr<Subprocess> sim = Subprocess::Start(GATILHO_SIM_BIN, args);
    ASSERT_NE(sim, nullptr);
    EXPECT_EQ(sim->Wait(), 2) << args[1];
  }
}

TEST_F(SimTest, SigtermStopsWithExitZero) {
  std::unique_ptr<Subprocess> sim = Subprocess::Start(GATILHO_SIM_BIN, {"api"});
  ASSERT_NE(sim, nullptr);
  ASSERT_GT(WaitForListeningPort(*sim, 5000), 0);
  sim->Signal(SIGTERM);
  EXPECT_EQ(sim->Wait(), 0);
}

TEST_F(SimTest, BadOptionExitsWith2) {
  std::unique_ptr<Subprocess> sim = Subprocess::Start(GATILHO_SIM_BIN, {"api", "--sigma", "x"});
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(sim->Wait(), 2);
}

TEST_F(SimTest, ReceiverVerifiesSignatureAndRejectsTampering) {
  TempDir dir;
  const std::string record = dir.Sub("deliveries.jsonl");
  const std::string receiver = Launch({"receiver", "--secret", kSecret, "--record", record});
  ASSERT_FALSE(receiver.empty());

  const std::string body = R"({"ref":"PEDIDO-1","status":"autorizado"})";
  const std::string timestamp = NowSeconds();
  const auto headers = [&](const std::string& signature) {
    return std::vector<std::pair<std::string, std::string>>{
        {"webhook-id", "evt_1"},
        {"webhook-timestamp", timestamp},
        {"webhook-signature", "v1,bm90LXRoaXMtb25l " + signature},
        {"x-gatilho-company", "acme"},
        {"x-gatilho-document", "nfe/PEDIDO-1"},
        {"x-gatilho-event", "autorizado"}};
  };
  const std::string signature = Sign("evt_1", timestamp, body);
  EXPECT_EQ(HttpCall("POST", receiver + "/hook", body, {}, headers(signature)).status, 204);
  const std::string tampered = R"({"ref":"PEDIDO-1","status":"cancelado"})";
  EXPECT_EQ(HttpCall("POST", receiver + "/hook", tampered, {}, headers(signature)).status, 401);
  const std::string stale = "1614265330";
  EXPECT_EQ(HttpCall("POST", receiver + "/hook", body, {},
                     {{"webhook-id", "evt_1"},
                      {"webhook-timestamp", stale},
                      {"webhook-signature", Sign("evt_1", stale, body)}})
                .status,
            401);

  const std::string stats = HttpCall("GET", receiver + "/__receiver/stats").body;
  EXPECT_EQ(Number(stats, "received"), 3);
  EXPECT_EQ(Number(stats, "accepted"), 1);
  EXPECT_EQ(Number(stats, "rejected_signature"), 2);
  const std::string line = ReadFile(record);
  EXPECT_EQ(Field(line, "webhook_id"), "evt_1");
  EXPECT_EQ(Field(line, "company"), "acme");
  EXPECT_EQ(Field(line, "body"), body);
  EXPECT_EQ(Field(line, "signature_ok"), "true");
}

TEST_F(SimTest, ReceiverAcceptsStandardWebhooksTestVector) {
  const std::string receiver =
      Launch({"receiver", "--secret", kSecret, "--max-age-seconds", "0", "--quiet"});
  ASSERT_FALSE(receiver.empty());

  const std::string body = R"({"test": 2432232314})";
  const auto send = [&](const std::string& signature) {
    return HttpCall("POST", receiver + "/", body, {},
                    {{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
                     {"webhook-timestamp", "1614265330"},
                     {"webhook-signature", signature}})
        .status;
  };
  EXPECT_EQ(send("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), 204);
  EXPECT_EQ(send("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), 401);
}

TEST_F(SimTest, ReceiverFailFirstAnswers503) {
  const std::string receiver = Launch({"receiver", "--fail-first", "2"});
  ASSERT_FALSE(receiver.empty());

  const std::vector<std::pair<std::string, std::string>> headers = {{"webhook-id", "evt_9"}};
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 503);
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 503);
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 204);
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 204);
  ASSERT_EQ(HttpCall("POST", receiver + "/__receiver/mode", R"({"status":500})").status, 200);
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 500);

  const std::string stats = HttpCall("GET", receiver + "/__receiver/stats").body;
  EXPECT_EQ(Number(stats, "received"), 5);
  EXPECT_EQ(Number(stats, "accepted"), 2);
  EXPECT_EQ(Number(stats, "duplicates"), 1);
}

TEST_F(SimTest, ReceiverFailuresAndHangsAreDrawnPerDeliveryAndCounted) {
  TempDir dir;
  const std::string record = dir.Sub("deliveries.jsonl");
  const std::string receiver = Launch({"receiver", "--fail-rate", "1", "--record", record});
  ASSERT_FALSE(receiver.empty());
  const std::vector<std::pair<std::string, std::string>> headers = {{"webhook-id", "evt_7"}};

  for (int i = 0; i < 2; ++i) {
    const int status = HttpCall("POST", receiver + "/", "{}", {}, headers).status;
    EXPECT_TRUE(status == 500 || status == 503) << status;
  }
  const HttpResult mode = HttpCall("POST", receiver + "/__receiver/mode",
                                   R"({"fail_rate":0,"hang_rate":1,"hang_ms":1200})");
  ASSERT_EQ(mode.status, 200) << mode.body;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpCall("POST", receiver + "/", "{}", {}, headers).status, 204);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
  EXPECT_EQ(Field(ReadFile(record), "late"), "true") << "a hung delivery was processed";
  EXPECT_EQ(HttpCall("POST", receiver + "/__receiver/mode", R"({"hang_rate":1.5})").status, 400);

  const std::string stats = HttpCall("GET", receiver + "/__receiver/stats").body;
  EXPECT_EQ(Number(stats, "received"), 3);
  EXPECT_EQ(Number(stats, "accepted"), 1);
  EXPECT_EQ(Number(stats, "failures_injected"), 2);
  EXPECT_EQ(Number(stats, "hangs_injected"), 1);
}

// ---- received-document feeds -------------------------------------------------------------------

constexpr char kReceiverCnpj[] = "44555666000177";

boost::json::array Items(const HttpResult& result) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(result.body, ec);
  if (ec || !value.is_array()) {
    ADD_FAILURE() << "not a JSON array: " << result.body;
    return {};
  }
  return value.as_array();
}

TEST_F(SimTest, ReceivedFeedPagesByVersaoWithTheDocumentedHeaders) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  const HttpResult added = HttpCall("POST", api + "/__sim/received",
                                    R"({"feed":"nfe","cnpj":"44555666000177","count":150})");
  ASSERT_EQ(added.status, 201);

  const std::string list = api + "/v2/nfes_recebidas?cnpj=" + kReceiverCnpj;
  const HttpResult first = Api("GET", list + "&versao=0");
  ASSERT_EQ(first.status, 200);
  const boost::json::array page = Items(first);
  ASSERT_EQ(page.size(), 100u);
  EXPECT_EQ(first.Header("x-total-count"), "150");
  EXPECT_EQ(first.Header("x-max-version"), "100");
  const boost::json::object& item = page.front().as_object();
  EXPECT_EQ(item.at("versao").as_int64(), 1);
  EXPECT_EQ(item.at("chave_nfe").as_string().size(), 44u);
  EXPECT_EQ(item.at("cnpj_destinatario").as_string(), kReceiverCnpj);
  EXPECT_EQ(item.at("situacao").as_string(), "autorizada");
  for (const char* field : {"nome_emitente", "documento_emitente", "valor_total", "data_emissao",
                            "manifestacao_destinatario", "nfe_completa", "tipo_nfe", "digest_value",
                            "numero_carta_correcao", "carta_correcao", "data_carta_correcao",
                            "data_cancelamento", "justificativa_cancelamento"}) {
    EXPECT_TRUE(item.contains(field)) << field;
  }

  const HttpResult second = Api("GET", list + "&versao=100");
  EXPECT_EQ(Items(second).size(), 50u);
  EXPECT_EQ(second.Header("x-total-count"), "50");
  EXPECT_EQ(second.Header("x-max-version"), "150");
  const HttpResult end = Api("GET", list + "&versao=150");
  EXPECT_EQ(end.status, 200);
  EXPECT_TRUE(Items(end).empty());
  EXPECT_EQ(end.Header("x-total-count"), "0");
  // Another CNPJ, or another feed of the same one, holds nothing.
  EXPECT_TRUE(Items(Api("GET", api + "/v2/nfes_recebidas?cnpj=11222333000181")).empty());
  EXPECT_TRUE(
      Items(Api("GET", api + "/v2/ctes_recebidas?cnpj=" + std::string(kReceiverCnpj))).empty());
}

TEST_F(SimTest, ChangingAReceivedDocumentBumpsItsVersao) {
  const std::string api = Launch({"api"});
  ASSERT_FALSE(api.empty());
  const HttpResult cte = HttpCall("POST", api + "/__sim/received",
                                  R"({"feed":"cte","cnpj":"44555666000177","chave":"CTE-1"})");
  ASSERT_EQ(cte.status, 201);
  EXPECT_EQ(Number(cte.body, "versao"), 1);
  const HttpResult nfse = HttpCall("POST", api + "/__sim/received",
                                   R"({"feed":"nfse","cnpj":"44555666000177","chave":"NFSE-1"})");
  EXPECT_EQ(Number(nfse.body, "versao"), 2);  // one versao counter per CNPJ, across feeds
  EXPECT_EQ(Field(nfse.body, "status"), "autorizado");

  const HttpResult cancelled =
      HttpCall("POST", api + "/__sim/received",
               R"({"feed":"cte","cnpj":"44555666000177","chave":"CTE-1","situacao":"cancelada"})");
  ASSERT_EQ(cancelled.status, 200);
  EXPECT_EQ(Number(cancelled.body, "versao"), 3);
  EXPECT_FALSE(Field(cancelled.body, "data_cancelamento").empty());

  const boost::json::array after =
      Items(Api("GET", api + "/v2/ctes_recebidas?cnpj=44555666000177&versao=1"));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].at("chave").as_string(), "CTE-1");
  EXPECT_EQ(after[0].at("situacao").as_string(), "cancelada");
  EXPECT_EQ(after[0].at("versao").as_int64(), 3);
  // The old version is gone from the feed: a document appears once, at its latest versao.
  EXPECT_EQ(Items(Api("GET", api + "/v2/ctes_recebidas?cnpj=44555666000177")).size(), 1u);

  EXPECT_EQ(HttpCall("POST", api + "/__sim/received", R"({"feed":"mdfe","cnpj":"1"})").status, 400);
  EXPECT_EQ(HttpCall("POST", api + "/__sim/received", R"({"feed":"nfe"})").status, 400);
}

TEST_F(SimTest, ReceivedFeedsCostCreditsAndCheckTheirParameters) {
  const std::string api = Launch({"api", "--token", kToken, "--rate-limit", "3"});
  ASSERT_FALSE(api.empty());
  const std::string list = api + "/v2/nfses_recebidas?cnpj=44555666000177";

  EXPECT_EQ(HttpCall("GET", list, "", std::string("outro")).status, 401);
  const HttpResult ok = Api("GET", list);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Header("rate-limit-remaining"), "2");
  EXPECT_EQ(Api("GET", api + "/v2/nfses_recebidas").status, 400);  // no cnpj
  EXPECT_EQ(Api("GET", list + "&versao=abc").status, 400);
  EXPECT_EQ(Api("GET", list).status, 429);

  const std::string stats = HttpCall("GET", api + "/__sim/stats").body;
  EXPECT_EQ(Number(stats, "feed_requests"), 3);
  EXPECT_EQ(Number(stats, "rate_limited"), 1);
}

TEST_F(SimTest, ReceivedOptionGeneratesDocumentsInEveryFeed) {
  const std::string api = Launch({"api", "--received", "3", "--received-cnpj", kReceiverCnpj});
  ASSERT_FALSE(api.empty());
  std::set<int64_t> versions;
  for (const char* feed : {"nfes_recebidas", "ctes_recebidas", "nfses_recebidas"}) {
    const boost::json::array items =
        Items(Api("GET", api + "/v2/" + feed + "?cnpj=" + std::string(kReceiverCnpj)));
    EXPECT_EQ(items.size(), 3u) << feed;
    for (const boost::json::value& item : items)
      versions.insert(item.at("versao").as_int64());
  }
  EXPECT_EQ(versions.size(), 9u);
  EXPECT_EQ(Number(HttpCall("GET", api + "/__sim/stats").body, "received_documents"), 9);
}

}  // namespace
}  // namespace gatilho::testing
