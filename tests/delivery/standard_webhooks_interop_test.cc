// Interop: deliveries built and signed by gatilho's own code (Signer, BuildWebhookRequest) are
// verified by the reference Standard Webhooks library, the `standardwebhooks` npm package, run by
// tests/interop/verify.mjs. signer_test.cc checks the spec's test vector; this checks that a real
// receiver's library agrees with us on everything else: rotation, timestamps, large and UTF-8
// bodies.
//
// The library must be installed from the lock file (scripts/test.sh does it):
//   npm ci --prefix tests/interop
// When it is not, these tests fail saying so; they never skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/signer.h"
#include "delivery/webhook_request.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

#ifndef GATILHO_INTEROP_DIR
#error "GATILHO_INTEROP_DIR must name tests/interop; tests/CMakeLists.txt defines it"
#endif

namespace gatilho {
namespace {

using ::gatilho::testing::Subprocess;
using ::gatilho::testing::TempDir;

// The spec's sample secret, and a 32-byte key (padded base64) to rotate to.
constexpr char kOldSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kNewSecret[] = "whsec_fZyuLgAOY5rwlOZD99296GT2T0i7z6zTg+JDYGwjlaY=";

constexpr int64_t kTenMinutesMs = 10 * 60 * 1000;
constexpr int kVerifierTimeoutMs = 60'000;

// One verification for verify.mjs: the headers and body of a delivery and the secret the
// receiver holds.
struct Case {
  std::string name;
  std::string secret;  // the receiver's
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string body;
  bool expect_valid = true;
  std::string expect_error;  // for an invalid case: text the library's refusal must contain
};

int64_t NowWallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

EventRecord SampleEvent(std::string payload) {
  EventRecord event;
  event.seq = 7;
  event.id = "evt_9c41d2e07b";
  event.key = WatchKey{.company = "acme", .type = DocType::kNfse, .ref = "pedido-77"};
  event.cycle = 1;
  event.type = "autorizado";
  event.payload = std::move(payload);
  return event;
}

constexpr char kPayload[] =
    R"({"ref":"pedido-77","status":"autorizado","numero":"1234","valor":"150.00"})";

// The request gatilho would send for `event`, signed with `secrets`, at wall time `now_ms`.
HttpRequest Deliver(const EventRecord& event, const std::vector<std::string>& secrets,
                    int64_t now_ms, PayloadFormat payload = PayloadFormat::kRaw) {
  Result<Signer> signer = Signer::Create(secrets);
  EXPECT_TRUE(signer.ok()) << signer.status().ToString();
  if (!signer.ok()) return {};
  WebhookTarget target;
  target.url = "http://127.0.0.1:9/hook";
  target.secrets = secrets;
  target.payload = payload;
  return BuildWebhookRequest(event, target, &*signer, now_ms);
}

std::string Header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  ADD_FAILURE() << "the request has no " << name << " header";
  return "";
}

// A case taken from the request's own headers and body, for a receiver holding `secret`.
Case FromRequest(std::string name, const HttpRequest& request, std::string secret,
                 bool expect_valid, std::string expect_error = "") {
  return Case{.name = std::move(name),
              .secret = std::move(secret),
              .id = Header(request, "webhook-id"),
              .timestamp = Header(request, "webhook-timestamp"),
              .signature = Header(request, "webhook-signature"),
              .body = request.body,
              .expect_valid = expect_valid,
              .expect_error = std::move(expect_error)};
}

std::string CasesJson(const std::vector<Case>& cases) {
  boost::json::array out;
  for (const Case& c : cases) {
    boost::json::object one{{"name", c.name},
                            {"secret", c.secret},
                            {"id", c.id},
                            {"timestamp", c.timestamp},
                            {"signature", c.signature},
                            {"body", c.body},
                            {"expect", c.expect_valid ? "valid" : "invalid"}};
    if (!c.expect_error.empty()) one["expect_error"] = c.expect_error;
    out.push_back(std::move(one));
  }
  return boost::json::serialize(out);
}

// The absolute path of `name` on $PATH, or nullopt (posix_spawn does not search $PATH).
std::optional<std::string> FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    std::error_code ignored;
    if (std::filesystem::is_regular_file(candidate, ignored) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return std::nullopt;
}

struct VerifierRun {
  int exit_status = -1;
  std::vector<std::string> lines;  // its stdout
};

// Runs verify.mjs on `cases`; nullopt, with a failure recorded, when it cannot be run.
std::optional<VerifierRun> RunVerifier(const std::vector<Case>& cases) {
  const std::filesystem::path dir = GATILHO_INTEROP_DIR;
  if (!std::filesystem::exists(dir / "node_modules" / "standardwebhooks" / "package.json")) {
    ADD_FAILURE() << "the standardwebhooks verifier is not installed in " << dir.string()
                  << "/node_modules; run: npm ci --prefix tests/interop";
    return std::nullopt;
  }
  std::optional<std::string> node = FindOnPath("node");
  if (!node) node = FindOnPath("nodejs");
  if (!node) {
    ADD_FAILURE() << "node is not on PATH; run scripts/install-deps.sh";
    return std::nullopt;
  }
  TempDir temp;
  const std::string cases_path = temp.WriteFile("cases.json", CasesJson(cases));
  std::string error;
  std::unique_ptr<Subprocess> verifier =
      Subprocess::Start(*node, {(dir / "verify.mjs").string(), cases_path}, {}, &error);
  if (verifier == nullptr) {
    ADD_FAILURE() << "cannot start " << *node << ": " << error;
    return std::nullopt;
  }
  VerifierRun run;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kVerifierTimeoutMs);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::optional<std::string> line =
        left.count() > 0 ? verifier->ReadLine(static_cast<int>(left.count())) : std::nullopt;
    if (!line) break;
    run.lines.push_back(std::move(*line));
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    ADD_FAILURE() << "verify.mjs did not finish within " << kVerifierTimeoutMs << " ms";
    return std::nullopt;  // the destructor kills it
  }
  run.exit_status = verifier->Wait();
  return run;
}

std::string Output(const VerifierRun& run) {
  std::string out;
  for (const std::string& line : run.lines)
    out += "  " + line + "\n";
  return out.empty() ? "  (nothing)\n" : out;
}

// Success when verify.mjs exits 0 with exactly one `PASS name` line per case, in order.
::testing::AssertionResult VerifierPasses(const std::vector<Case>& cases) {
  const std::optional<VerifierRun> run = RunVerifier(cases);
  if (!run) return ::testing::AssertionFailure() << "the verifier did not run";
  std::vector<std::string> expected;
  for (const Case& c : cases)
    expected.push_back("PASS " + c.name);
  if (run->exit_status != 0 || run->lines != expected) {
    return ::testing::AssertionFailure()
           << "verify.mjs exited " << run->exit_status << " (want 0 and a PASS line per case); "
           << "it printed:\n"
           << Output(*run);
  }
  return ::testing::AssertionSuccess();
}

TEST(StandardWebhooksInterop, OneSecretVerifies) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kOldSecret}, NowWallMs());

  EXPECT_TRUE(VerifierPasses({FromRequest("one-secret", request, kOldSecret, true)}));
}

TEST(StandardWebhooksInterop, RotationVerifiesWithEitherSecretAlone) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kOldSecret, kNewSecret}, NowWallMs());
  ASSERT_NE(Header(request, "webhook-signature").find(' '), std::string::npos)
      << "two secrets should give two signatures";

  EXPECT_TRUE(VerifierPasses({FromRequest("rotation-old-secret", request, kOldSecret, true),
                              FromRequest("rotation-new-secret", request, kNewSecret, true)}));
}

TEST(StandardWebhooksInterop, SignedWithTheNewSecretOnlyIsRefusedByTheOld) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kNewSecret}, NowWallMs());

  EXPECT_TRUE(VerifierPasses({
      FromRequest("new-only-by-new", request, kNewSecret, true),
      FromRequest("new-only-by-old", request, kOldSecret, false, "No matching signature found"),
  }));
}

TEST(StandardWebhooksInterop, EnvelopePayloadVerifiesWithRotatedSecrets) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kOldSecret, kNewSecret}, NowWallMs(),
                                      PayloadFormat::kEnvelope);
  ASSERT_EQ(request.body.rfind("{\"type\":\"", 0), 0u) << request.body;

  EXPECT_TRUE(VerifierPasses({FromRequest("envelope-old-secret", request, kOldSecret, true),
                              FromRequest("envelope-new-secret", request, kNewSecret, true)}));
}

TEST(StandardWebhooksInterop, TamperedBodyIsRefused) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kOldSecret}, NowWallMs());
  Case tampered =
      FromRequest("tampered-body", request, kOldSecret, false, "No matching signature found");
  const size_t at = tampered.body.find("150.00");
  ASSERT_NE(at, std::string::npos);
  tampered.body.replace(at, 6, "990.00");

  EXPECT_TRUE(VerifierPasses({tampered}));
}

TEST(StandardWebhooksInterop, TimestampTenMinutesOldIsRefused) {
  const HttpRequest request =
      Deliver(SampleEvent(kPayload), {kOldSecret}, NowWallMs() - kTenMinutesMs);

  EXPECT_TRUE(VerifierPasses(
      {FromRequest("stale-timestamp", request, kOldSecret, false, "Message timestamp too old")}));
}

TEST(StandardWebhooksInterop, TimestampTenMinutesAheadIsRefused) {
  const HttpRequest request =
      Deliver(SampleEvent(kPayload), {kOldSecret}, NowWallMs() + kTenMinutesMs);

  EXPECT_TRUE(VerifierPasses(
      {FromRequest("future-timestamp", request, kOldSecret, false, "Message timestamp too new")}));
}

TEST(StandardWebhooksInterop, ChangedWebhookIdIsRefused) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kOldSecret}, NowWallMs());
  Case changed =
      FromRequest("changed-webhook-id", request, kOldSecret, false, "No matching signature found");
  changed.id = "evt_9c41d2e07c";

  EXPECT_TRUE(VerifierPasses({changed}));
}

TEST(StandardWebhooksInterop, OneMebibyteBodyVerifies) {
  // An XML document inside JSON, with multi-byte characters throughout, exactly 1 MiB long.
  constexpr size_t kSize = 1u << 20;
  const std::string head = R"({"ref":"pedido-77","xml":")";
  const std::string tail = R"("})";
  const std::string unit = "<item><descricao>Serviço de manutenção nº 7</descricao></item>";
  std::string payload = head;
  while (payload.size() + unit.size() + tail.size() <= kSize)
    payload += unit;
  payload.append(kSize - tail.size() - payload.size(), 'x');
  payload += tail;
  ASSERT_EQ(payload.size(), kSize);
  const HttpRequest request = Deliver(SampleEvent(payload), {kOldSecret, kNewSecret}, NowWallMs());
  ASSERT_EQ(request.body.size(), kSize);

  EXPECT_TRUE(VerifierPasses({FromRequest("large-body-old", request, kOldSecret, true),
                              FromRequest("large-body-new", request, kNewSecret, true)}));
}

TEST(StandardWebhooksInterop, Utf8BodyVerifies) {
  // Two- to four-byte sequences, U+2028 (a line break to JavaScript), a JSON escape left as
  // written, and CRLF between members: the signature is over these exact bytes.
  const std::string payload =
      "{\"razao_social\":\"Açaí & Café Ltda.\",\"municipio\":\"São Paulo\",\r\n"
      "\"obs\":\"日本語 — nota fiscal 🧾\",\"sep\":\"a\xe2\x80\xa8"
      "b\",\"escaped\":\"\\u00e9\"}";
  const HttpRequest request = Deliver(SampleEvent(payload), {kOldSecret}, NowWallMs());

  EXPECT_TRUE(VerifierPasses({FromRequest("utf8-body", request, kOldSecret, true)}));
}

// The harness itself: a case whose expectation is wrong must come back as a FAIL line with the
// library's reason, and exit 1, or the tests above could pass without verifying anything.
TEST(StandardWebhooksInterop, VerifierReportsAWrongExpectation) {
  const HttpRequest request = Deliver(SampleEvent(kPayload), {kNewSecret}, NowWallMs());
  const std::optional<VerifierRun> run = RunVerifier({
      FromRequest("right", request, kNewSecret, true),
      FromRequest("wrong", request, kOldSecret, true),
  });
  ASSERT_TRUE(run.has_value());

  EXPECT_EQ(run->exit_status, 1);
  EXPECT_EQ(run->lines,
            (std::vector<std::string>{"PASS right",
                                      "FAIL wrong: expected valid, refused: No matching "
                                      "signature found"}))
      << Output(*run);
}

TEST(StandardWebhooksInterop, VerifierRejectsBadInput) {
  const std::optional<VerifierRun> run = RunVerifier({});  // an empty array
  ASSERT_TRUE(run.has_value());

  EXPECT_EQ(run->exit_status, 2);
  EXPECT_TRUE(run->lines.empty()) << Output(*run);
}

}  // namespace
}  // namespace gatilho
