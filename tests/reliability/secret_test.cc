// The secrets suite: no secret gatilho holds may appear in anything it produces, files holding
// secrets that others may read are warned about, and TLS verification cannot be turned off.
//
// NoSecretAppearsInAnythingARunProduced runs one session that uses every kind of secret (API
// tokens, a refused token, a token the API does not know, signing secrets in rotation, bearer,
// basic and header credentials, credentials in a webhook URL, the local API's token, the
// operator secret) through every path that could leak one: polls, deliveries the ERP refuses,
// the local API with a wrong and a right token, the proxy, the CLI, configuration errors, SIGHUP
// reloads, SIGTERM and crashes, all with log_level = debug. It then scans every byte the session
// produced (every process's stdout and stderr, the store's files, the file sink's output, every
// HTTP answer) for each secret, its base64 and, for whsec_ secrets, the key they encode.
//
// GATILHO_RELIABILITY=long repeats the session's document rounds (more documents, more reloads
// and crashes); the short form is part of every test run.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "integration/bridge_fixture.h"
#include "reliability/reliability_form.h"
#include "support/base64.h"
#include "support/loopback_server.h"
#include "support/tls_loopback_server.h"

namespace gatilho::testing {
namespace {

namespace fs = std::filesystem;

std::string WithoutPadding(std::string text) {
  while (!text.empty() && text.back() == '=')
    text.pop_back();
  return text;
}

// A Standard Webhooks secret for the raw key `key` (32 ASCII bytes, so that the decoded form is
// as easy to find as the encoded one).
std::string Whsec(std::string_view key) {
  return "whsec_" + Base64(key);
}

// A port nothing listens on right now, for the listen addresses that need a fixed port.
int FreePort() {
  LoopbackServer probe([](const LoopbackServer::Request&) { return LoopbackServer::Reply{}; });
  return probe.port();
}

bool WaitUntil(const std::function<bool()>& done, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++count;
  return count;
}

// The secrets of the session. Each is distinctive, so a hit is a leak and never a coincidence.
const std::string kAcmeToken = "tok-ACME-7f3a9c1e5b2d4f60";
const std::string kBetaToken = "tok-BETA-2d8e4b6a0c1f3e57";
const std::string kGamaToken = "tok-GAMA-9e1c3a5f7b0d2c46";        // the API refuses it (403)
const std::string kDeltaToken = "tok-DELTA-4b6d8f0a2c4e6a81";      // the API does not know it (401)
const std::string kEpsilonToken = "tok-EPSILON-5c7e9a1b3d5f70";    // a file-sink company's
const std::string kStrangerToken = "tok-STRANGER-8a0c2e4f6b1d39";  // no company's, via the proxy
const std::string kAcmeKeyOld = "acme-signing-key-old-0123456789a";
const std::string kAcmeKeyNew = "acme-signing-key-new-0123456789b";
const std::string kAcmeKeyNext = "acme-signing-key-nxt-0123456789c";  // added by a SIGHUP
const std::string kBetaKey = "beta-signing-key-0123456789abcdef";
const std::string kOperatorKey = "operator-signing-key-0123456789";
const std::string kAcmeBearer = "erp-bearer-ACME-4c9d2e7f1a3b";
const std::string kAcmeHeaderKey = "hdr-ACME-KEY-6f2e8a4c0b1d";
const std::string kBetaBasicUser = "erpuser-beta";
const std::string kBetaBasicPassword = "erp-pass-BETA-8b3f6d0e2c4a";
const std::string kGamaAuthorization = "ApiKey GAMA-AUTH-3f5a7c9e1b2d";
const std::string kGamaUrlPassword = "url-pass-GAMA-1a3c5e7b9d";
const std::string kGamaUrlQuery = "query-key-GAMA-2b4d6f8a0c";
const std::string kLocalApiToken = "api-LOCAL-bearer-0a1b2c3d4e5f6071";
const std::string kBadConfigUrlPassword = "url-pass-BAD-5d7f9b1c3e";

// One byte string whose presence in an artifact is a leak.
struct Needle {
  std::string secret;  // which secret, by name
  std::string form;    // "as written", "base64", "whsec key", ...
  std::string bytes;
};

struct Leak {
  std::string artifact;
  size_t offset = 0;
  std::string secret;
  std::string form;
};

// What a scan read (files and bytes) and every hit in it.
struct ScanResult {
  size_t artifacts = 0;
  size_t bytes = 0;
  std::vector<Leak> leaks;
};

class SecretTest : public BridgeFixture {
 protected:
  void SetUp() override { fs::create_directories(dir_.Sub("artifacts")); }

  std::string Etc(const std::string& name) const { return dir_.Sub("etc/" + name); }
  std::string Artifact(const std::string& name) const { return dir_.Sub("artifacts/" + name); }

  // Writes a configuration file under etc/ with mode 0600 (most of them), returning its path.
  std::string WriteEtc(const std::string& name, const std::string& contents, mode_t mode = 0600) {
    std::string path = dir_.WriteFile("etc/" + name, contents);
    chmod(path.c_str(), mode);
    return path;
  }

  void SaveArtifact(const std::string& name, const std::string& contents) {
    dir_.WriteFile("artifacts/" + name, contents);
  }

  // Starts a gatilho-sim server whose stderr goes to an artifact; returns its URL.
  std::unique_ptr<Subprocess> StartSim(const std::string& name,
                                       const std::vector<std::string>& args, std::string* url) {
    std::vector<std::string> all = {"-c", "e=$1; shift; exec \"$@\" 2>>\"$e\"", "sh",
                                    Artifact(name + ".stderr"), GATILHO_SIM_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::unique_ptr<Subprocess> process = Subprocess::Start("/bin/sh", all);
    if (!process) return nullptr;
    int port = WaitForListeningPort(*process, 10'000);
    process->Drain(Subprocess::DrainMode::kCollect);
    *url = "http://127.0.0.1:" + std::to_string(port);
    return port > 0 ? std::move(process) : nullptr;
  }

  // `gatilho run --config etc/gatilho.conf` with stderr appended to artifacts/daemon.stderr;
  // returns once it logged its start (and, when the local API is on, once that answers).
  void StartLoggedDaemon() {
    ++daemon_runs_;
    const size_t starts = Count(DaemonLog(), " started: ");
    // An ASan-built daemon (scripts/sanitize.sh) would catch the SIGSEGV this test sends and
    // report it instead of dying of it; the crashes here are meant to end it as in production.
    Subprocess::Env env;
    if (const char* asan = std::getenv("ASAN_OPTIONS"); asan != nullptr) {
      env.emplace_back("ASAN_OPTIONS", std::string(asan) + ":handle_segv=0:handle_abort=0");
    }
    daemon_ = Subprocess::Start(
        "/bin/sh",
        {"-c", "e=$1; shift; exec \"$@\" 2>>\"$e\"", "sh", Artifact("daemon.stderr"), GATILHO_BIN,
         "run", "--config", Etc("gatilho.conf")},
        env);
    ASSERT_NE(daemon_, nullptr);
    daemon_->Drain(Subprocess::DrainMode::kCollect);
    ASSERT_TRUE(WaitForLog(" started: ", starts + 1, 30)) << DaemonLog();
    if (api_port_ == 0) return;
    ASSERT_TRUE(WaitUntil([&] { return LocalApi("GET", "/healthz").status == 200; }, 30))
        << "the daemon's local API never became healthy\n"
        << DaemonLog();
  }

  // Ends the daemon with `signal` and keeps what it wrote on stdout; its exit status.
  int EndDaemon(int signal) {
    daemon_->Signal(signal);
    int code = daemon_->Wait();
    std::string out;
    for (const std::string& line : daemon_->CollectedLines())
      out += line + "\n";
    SaveArtifact("daemon-" + std::to_string(daemon_runs_) + ".stdout", out);
    daemon_.reset();
    return code;
  }

  std::string DaemonLog() const { return ReadFile(Artifact("daemon.stderr")); }

  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  // Runs `gatilho ARGS` (the config flag added after the subcommand unless `config` is empty),
  // keeping its stdout and stderr as artifacts.
  Run Gatilho(std::vector<std::string> args, const std::string& config = "") {
    std::string used = config.empty() ? Etc("gatilho.conf") : config;
    if (!args.empty()) args.insert(args.begin() + 1, {"--config", used});
    std::string name = "cli-" + std::to_string(++cli_runs_);
    std::vector<std::string> all = {"-c", "e=$1; shift; exec \"$@\" 2>\"$e\"", "sh",
                                    Artifact(name + ".stderr"), GATILHO_BIN};
    all.insert(all.end(), args.begin(), args.end());
    Run run;
    std::unique_ptr<Subprocess> process = Subprocess::Start("/bin/sh", all);
    if (!process) return run;
    while (std::optional<std::string> line = process->ReadLine(60'000))
      run.out += *line + "\n";
    run.exit_code = process->Wait();
    run.err = ReadFile(Artifact(name + ".stderr"));
    SaveArtifact(name + ".stdout", run.out);
    return run;
  }

  // An HTTP call whose answer (status, headers, body, error) is kept as an artifact.
  HttpResult Http(const std::string& method, const std::string& url, const std::string& body = "",
                  std::optional<std::string> basic_user = {},
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResult result = HttpCall(method, url, body, basic_user, headers);
    std::string saved = std::to_string(result.status) + " " + result.error + "\n";
    for (const auto& [name, value] : result.headers)
      saved += name + ": " + value + "\n";
    saved += "\n" + result.body;
    SaveArtifact("http-" + std::to_string(++http_calls_) + ".txt", saved);
    return result;
  }

  HttpResult LocalApi(const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& token = kLocalApiToken) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return Http(method, "http://127.0.0.1:" + std::to_string(api_port_) + target, body,
                std::nullopt, headers);
  }

  // The acme company file; `keys` are its signing keys in file order.
  std::string AcmeFile(const std::vector<std::string>& keys) const {
    std::string text = "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcmeToken +
                       "\nbase_url = " + api_url_ +
                       "\n\n[webhook]\nurl = " + erp_->Url("/erp/acme") + "\n";
    for (const std::string& key : keys)
      text += "secret = " + Whsec(key) + "\n";
    text += "bearer_token = " + kAcmeBearer + "\nheader = X-Api-Key: " + kAcmeHeaderKey + "\n";
    return text;
  }

  std::string BetaFile() const {
    return "cnpj = " + kBeta.cnpj + "\ntoken_file = beta.token\nbase_url = " + api_url_ +
           "\n\n[webhook]\nurl = " + erp_->Url("/erp/beta") + "\nsecret = " + Whsec(kBetaKey) +
           "\nbasic_auth_file = beta.basic\n";
  }

  // The whole configuration of the session, pointing at the simulator and the ERP.
  void WriteSessionConfig() {
    api_port_ = FreePort();
    proxy_port_ = FreePort();
    WriteEtc("api.token", kLocalApiToken + "\n");
    WriteEtc("gatilho.conf", "data_dir = " + dir_.Sub("data") + "\ncompanies_dir = companies\n" +
                                 "log_level = debug\nretry_horizon_hours = 1\n"
                                 "operator_url = " +
                                 erp_->Url("/ops") + "\noperator_secret = " + Whsec(kOperatorKey) +
                                 "\napi_token_file = api.token\napi_listen = 127.0.0.1:" +
                                 std::to_string(api_port_) +
                                 "\nproxy_listen = 127.0.0.1:" + std::to_string(proxy_port_) +
                                 "\nproxy_upstream = " + api_url_ + "\n");
    WriteEtc("companies/acme.conf", AcmeFile({kAcmeKeyOld, kAcmeKeyNew}));
    // Readable by others on purpose: its warning must name the file, not the token.
    WriteEtc("companies/beta.token", kBetaToken + "\n", 0644);
    WriteEtc("companies/beta.basic", kBetaBasicUser + ":" + kBetaBasicPassword + "\n");
    WriteEtc("companies/beta.conf", BetaFile());
    std::string gama_url = erp_->Url("/erp/gama?key=" + kGamaUrlQuery);
    gama_url.insert(gama_url.find("://") + 3, "gamauser:" + kGamaUrlPassword + "@");
    WriteEtc("companies/gama.conf",
             "cnpj = 11444777000161\ntoken = " + kGamaToken + "\nbase_url = " + api_url_ +
                 "\n\n[webhook]\nurl = " + gama_url + "\nauthorization = " + kGamaAuthorization +
                 "\nauthorization_header = X-Erp-Key\n");
    WriteEtc("companies/delta.conf", "cnpj = 45997418000153\ntoken = " + kDeltaToken +
                                         "\nbase_url = " + api_url_ +
                                         "\n\n[webhook]\nurl = " + erp_->Url("/erp/delta") + "\n");
    WriteEtc("companies/epsilon.conf", "cnpj = 60701190000104\ntoken = " + kEpsilonToken +
                                           "\nbase_url = " + api_url_ +
                                           "\n\n[file]\ndir = " + dir_.Sub("out/epsilon") + "\n");
  }

  // What the ERP's side answers: acme's first delivery 401 and its second 503, beta's first
  // 503, everything else 204.
  LoopbackServer::Reply ErpAnswer(const LoopbackServer::Request& request) {
    std::lock_guard lock(erp_mu_);
    int seen = ++erp_requests_[request.target.substr(0, request.target.find('?'))];
    if (request.target == "/erp/acme" && seen == 1) return {.status = 401, .body = "no"};
    if (request.target == "/erp/acme" && seen == 2) return {.status = 503, .body = "busy"};
    if (request.target == "/erp/beta" && seen == 1) return {.status = 503, .body = "busy"};
    return {.status = 204};
  }

  // Deliveries of `company` the ERP accepted.
  size_t Accepted(const std::string& company) const {
    size_t accepted = 0;
    for (const LoopbackServer::Request& request : erp_->requests()) {
      accepted += request.target == "/erp/" + company ? 1 : 0;
    }
    // The scripted refusals are not acceptances.
    size_t refused = company == "acme" ? 2 : company == "beta" ? 1 : 0;
    return accepted > refused ? accepted - refused : 0;
  }

  size_t EpsilonFiles() const {
    std::error_code error;
    size_t files = 0;
    if (!fs::exists(dir_.Sub("out/epsilon"), error)) return 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.Sub("out/epsilon"), error)) {
      files += entry.is_regular_file() && entry.path().extension() == ".json" ? 1 : 0;
    }
    return files;
  }

  // Every secret of the session in every form it could leak in.
  static std::vector<Needle> Needles() {
    std::vector<Needle> needles;
    auto add = [&](const std::string& name, const std::string& value) {
      needles.push_back({name, "as written", value});
      needles.push_back({name, "base64", WithoutPadding(Base64(value))});
    };
    for (const auto& [name, token] :
         std::vector<std::pair<std::string, std::string>>{{"acme token", kAcmeToken},
                                                          {"beta token", kBetaToken},
                                                          {"gama token", kGamaToken},
                                                          {"delta token", kDeltaToken},
                                                          {"epsilon token", kEpsilonToken},
                                                          {"stranger token", kStrangerToken}}) {
      add(name, token);
      // What an API token becomes on the wire: the HTTP Basic user with an empty password.
      needles.push_back({name, "basic credentials", WithoutPadding(Base64(token + ":"))});
    }
    for (const auto& [name, key] :
         std::vector<std::pair<std::string, std::string>>{{"acme old secret", kAcmeKeyOld},
                                                          {"acme new secret", kAcmeKeyNew},
                                                          {"acme next secret", kAcmeKeyNext},
                                                          {"beta secret", kBetaKey},
                                                          {"operator secret", kOperatorKey}}) {
      // The whsec_ text contains the base64 body; the body alone and the key it encodes are
      // what a leak that dropped the prefix or decoded it would look like.
      needles.push_back({name, "whsec_ body", WithoutPadding(Base64(key))});
      needles.push_back({name, "whsec key", key});
    }
    add("acme bearer token", kAcmeBearer);
    add("acme header value", kAcmeHeaderKey);
    add("beta basic password", kBetaBasicPassword);
    needles.push_back({"beta basic credentials", "base64",
                       WithoutPadding(Base64(kBetaBasicUser + ":" + kBetaBasicPassword))});
    add("gama authorization", kGamaAuthorization.substr(std::string("ApiKey ").size()));
    add("gama URL password", kGamaUrlPassword);
    add("gama URL query", kGamaUrlQuery);
    add("local API token", kLocalApiToken);
    add("bad config URL password", kBadConfigUrlPassword);
    return needles;
  }

  static size_t SecretCount() {
    std::set<std::string> names;
    for (const Needle& needle : Needles())
      names.insert(needle.secret);
    return names.size();
  }

  // Scans every file under the fixture's folder except the configuration inputs (etc/,
  // etc-bad/), which hold the secrets by design; or, with `inputs`, only those.
  ScanResult Scan(bool inputs = false) const {
    ScanResult result;
    std::vector<Needle> needles = Needles();
    std::error_code error;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path(), error)) {
      if (!entry.is_regular_file()) continue;
      std::string relative = fs::relative(entry.path(), dir_.path()).string();
      if ((relative.starts_with("etc/") || relative.starts_with("etc-bad/")) != inputs) continue;
      std::string bytes = ReadFile(entry.path().string());
      ++result.artifacts;
      result.bytes += bytes.size();
      for (const Needle& needle : needles) {
        for (size_t at = bytes.find(needle.bytes); at != std::string::npos;
             at = bytes.find(needle.bytes, at + 1)) {
          result.leaks.push_back({relative, at, needle.secret, needle.form});
        }
      }
    }
    return result;
  }

  // One round of documents: watched through the local API, the CLI and the proxy, delivered
  // to the ERP and the file sink. Returns once everything of the round has arrived.
  void DocumentRound(int round, int per_way) {
    const std::string prefix = "R" + std::to_string(round) + "-";
    for (int i = 0; i < per_way; ++i) {
      std::string ref = prefix + "API" + std::to_string(i);
      HttpResult submitted = Http("POST", api_url_ + "/v2/nfe?ref=" + ref,
                                  R"({"natureza_operacao":"Venda"})", kAcmeToken);
      ASSERT_EQ(submitted.status, 202) << submitted.body;
      HttpResult watched = LocalApi("POST", "/v1/watches",
                                    R"({"company":"acme","type":"nfe","ref":")" + ref + "\"}");
      ASSERT_EQ(watched.status, 201) << watched.body;
    }
    for (int i = 0; i < per_way; ++i) {
      // Through the proxy: the token as the Basic user, and once as a query parameter.
      std::string ref = prefix + "PX" + std::to_string(i);
      HttpResult emitted = Http("POST", ProxyUrl("/v2/nfe?ref=" + ref),
                                R"({"natureza_operacao":"Venda"})", kAcmeToken);
      ASSERT_EQ(emitted.status, 202) << emitted.body << emitted.error;
      Http("GET", ProxyUrl("/v2/nfe/" + ref + "?token=" + kAcmeToken));
    }
    HttpResult nfce = Http("POST", ProxyUrl("/v2/nfce?ref=" + prefix + "NFCE"),
                           R"({"natureza_operacao":"Venda"})", kAcmeToken);
    ASSERT_EQ(nfce.status, 201) << nfce.body << nfce.error;
    // A token that is no company's goes upstream and is refused there.
    Http("GET", ProxyUrl("/v2/nfe/" + prefix + "X"), "", kStrangerToken);
    std::vector<std::string> beta_refs, epsilon_refs;
    for (int i = 0; i < per_way; ++i) {
      beta_refs.push_back(prefix + "B" + std::to_string(i));
      epsilon_refs.push_back(prefix + "E" + std::to_string(i));
      ASSERT_EQ(Http("POST", api_url_ + "/v2/nfse?ref=" + beta_refs.back(),
                     R"({"natureza_operacao":"Venda"})", kBetaToken)
                    .status,
                202);
      ASSERT_EQ(Http("POST", api_url_ + "/v2/nfe?ref=" + epsilon_refs.back(),
                     R"({"natureza_operacao":"Venda"})", kEpsilonToken)
                    .status,
                202);
    }
    std::vector<std::string> args = {"watch", "--quiet", "beta", "nfse"};
    args.insert(args.end(), beta_refs.begin(), beta_refs.end());
    ASSERT_EQ(Gatilho(args).exit_code, 0);
    args = {"watch", "--quiet", "epsilon", "nfe"};
    args.insert(args.end(), epsilon_refs.begin(), epsilon_refs.end());
    ASSERT_EQ(Gatilho(args).exit_code, 0);
    ASSERT_EQ(Gatilho({"watch", "--quiet", "gama", "nfe", prefix + "G"}).exit_code, 0);
    ASSERT_EQ(Gatilho({"watch", "--quiet", "delta", "nfe", prefix + "D"}).exit_code, 0);

    acme_expected_ += static_cast<size_t>(2 * per_way + 1);
    beta_expected_ += static_cast<size_t>(per_way);
    epsilon_expected_ += static_cast<size_t>(per_way);
    ASSERT_TRUE(WaitUntil(
        [&] {
          return Accepted("acme") >= acme_expected_ && Accepted("beta") >= beta_expected_ &&
                 EpsilonFiles() >= epsilon_expected_;
        },
        120))
        << "acme " << Accepted("acme") << "/" << acme_expected_ << ", beta " << Accepted("beta")
        << "/" << beta_expected_ << ", epsilon " << EpsilonFiles() << "/" << epsilon_expected_
        << "\n"
        << DaemonLog();
  }

  std::string ProxyUrl(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(proxy_port_) + target;
  }

  // Waits until the daemon's log holds `text` at least `times` times.
  bool WaitForLog(const std::string& text, size_t times, int timeout_s) {
    return WaitUntil([&] { return Count(DaemonLog(), text) >= times; }, timeout_s);
  }

  std::mutex erp_mu_;
  std::map<std::string, int> erp_requests_;  // GUARDED_BY(erp_mu_)
  std::unique_ptr<LoopbackServer> erp_;
  int api_port_ = 0;
  int proxy_port_ = 0;
  int daemon_runs_ = 0;
  int cli_runs_ = 0;
  int http_calls_ = 0;
  size_t acme_expected_ = 0, beta_expected_ = 0, epsilon_expected_ = 0;
  size_t crash_stderr_bytes_ = 0;  // what the daemon wrote to stderr when it crashed
};

TEST_F(SecretTest, NoSecretAppearsInAnythingARunProduced) {
  const bool long_form = LongReliabilityForm();
  const int rounds = long_form ? 6 : 1;
  const int per_way = long_form ? 8 : 2;
  const auto started = std::chrono::steady_clock::now();
  erp_ = std::make_unique<LoopbackServer>(
      [this](const LoopbackServer::Request& request) { return ErpAnswer(request); });
  std::unique_ptr<Subprocess> sim = StartSim("sim-api",
                                             {"api",
                                              "--port",
                                              "0",
                                              "--token",
                                              kAcmeToken,
                                              "--token",
                                              kBetaToken,
                                              "--token",
                                              kEpsilonToken,
                                              "--blocked-token",
                                              kGamaToken,
                                              "--time-scale",
                                              "20",
                                              "--median-ms",
                                              "nfse=4000",
                                              "--reject-rate",
                                              "0",
                                              "--deny-rate",
                                              "0",
                                              "--seed",
                                              "3"},
                                             &api_url_);
  ASSERT_NE(sim, nullptr);
  WriteSessionConfig();

  Run check = Gatilho({"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  StartLoggedDaemon();
  int terms = 0, crashes = 0, reloads = 0;

  // The local API refuses a wrong token and a missing one, then serves the right one.
  EXPECT_EQ(LocalApi("GET", "/v1/events", "", "wrong-token-0000000000000000").status, 401);
  EXPECT_EQ(LocalApi("GET", "/v1/events", "", "").status, 401);
  EXPECT_EQ(LocalApi("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":"W"})",
                     kLocalApiToken.substr(0, 20))
                .status,
            401);

  for (int round = 0; round < rounds; ++round) {
    ASSERT_NO_FATAL_FAILURE(DocumentRound(round, per_way));
    for (const char* target : {"/v1/events?limit=1000", "/v1/status", "/metrics", "/healthz",
                               "/v1/watches/acme/nfe/R0-API0", "/v1/watches/gama/nfe/R0-G"}) {
      EXPECT_EQ(LocalApi("GET", target).status, 200) << target;
    }
    EXPECT_EQ(LocalApi("GET", "/status", "", "").status, 200);
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"status"},
                                               {"status", "--json"},
                                               {"status", "acme"},
                                               {"status", "acme", "nfe", "R0-API0"},
                                               {"status", "gama", "nfe", "R0-G"},
                                               {"events"},
                                               {"events", "--json"},
                                               {"events", "--state", "failed"},
                                               {"endpoint", "list"},
                                               {"check"}}) {
      Run run = Gatilho(args);
      EXPECT_EQ(run.exit_code, 0) << args[0] << "\n" << run.out << run.err;
    }

    // A rotation: a third signing key arrives by SIGHUP, then a broken edit of a file holding
    // secrets is refused (the running configuration stays), then the good file comes back.
    WriteEtc("companies/acme.conf", AcmeFile({kAcmeKeyOld, kAcmeKeyNew, kAcmeKeyNext}));
    daemon_->Signal(SIGHUP);
    ++reloads;
    ASSERT_TRUE(WaitForLog("SIGHUP: configuration reloaded", static_cast<size_t>(reloads), 30));
    WriteEtc("companies/beta.conf", BetaFile() + kBetaBasicPassword + "\n");
    WriteEtc("companies/acme.conf", AcmeFile({kAcmeKeyOld}) + "secret = " + kAcmeToken + "\n");
    daemon_->Signal(SIGHUP);
    ASSERT_TRUE(
        WaitForLog("SIGHUP: the configuration has problems", static_cast<size_t>(round + 1), 30));
    WriteEtc("companies/beta.conf", BetaFile());
    WriteEtc("companies/acme.conf", AcmeFile({kAcmeKeyOld, kAcmeKeyNew, kAcmeKeyNext}));
    daemon_->Signal(SIGHUP);
    ++reloads;
    ASSERT_TRUE(WaitForLog("SIGHUP: configuration reloaded", static_cast<size_t>(reloads), 30));

    // A redelivery, then the daemon stopped, crashed (SIGABRT, SIGSEGV) and started again.
    Run events = Gatilho({"events", "--json", "--company", "acme", "--state", "delivered"});
    std::smatch id;
    if (std::regex_search(events.out, id, std::regex("\"id\":\"(evt_[0-9a-f]+)\""))) {
      EXPECT_EQ(Gatilho({"redeliver", id[1]}).exit_code, 0);
    } else {
      ADD_FAILURE() << "no delivered acme event to redeliver:\n" << events.out;
    }
    EXPECT_EQ(EndDaemon(SIGTERM), 0);
    ++terms;
    for (int crash : {SIGABRT, SIGSEGV}) {
      ASSERT_NO_FATAL_FAILURE(StartLoggedDaemon());
      size_t log_before = DaemonLog().size();
      EXPECT_EQ(EndDaemon(crash), 128 + crash);
      ++crashes;
      crash_stderr_bytes_ += DaemonLog().size() - log_before;
    }
    ASSERT_NO_FATAL_FAILURE(StartLoggedDaemon());
  }

  // The refused tokens were used: the API refused them and the operator was told.
  EXPECT_TRUE(WaitForLog("the API refused the token of company gama", 1, 60)) << DaemonLog();
  EXPECT_TRUE(WaitForLog("the API refused the token of company delta", 1, 60)) << DaemonLog();
  EXPECT_EQ(EndDaemon(SIGTERM), 0);
  ++terms;
  Run once = Gatilho({"run", "--once"});
  EXPECT_TRUE(once.exit_code == 0 || once.exit_code == 4) << once.err;

  // Every credential reached the ERP, so the scan below looks for secrets that were in use.
  bool bearer = false, header = false, basic = false, rotation = false, operator_signed = false;
  for (const LoopbackServer::Request& request : erp_->requests()) {
    bearer = bearer || request.Header("authorization") == "Bearer " + kAcmeBearer;
    header = header || request.Header("x-api-key") == kAcmeHeaderKey;
    basic = basic || request.Header("authorization") ==
                         "Basic " + Base64(kBetaBasicUser + ":" + kBetaBasicPassword);
    rotation = rotation || (request.target == "/erp/acme" &&
                            Count(request.Header("webhook-signature"), "v1,") == 3);
    operator_signed = operator_signed ||
                      (request.target == "/ops" && !request.Header("webhook-signature").empty());
  }
  EXPECT_TRUE(bearer && header && basic && rotation && operator_signed)
      << bearer << header << basic << rotation << operator_signed;

  // Configuration errors in files holding secrets: each message names the file and the line,
  // never the value.
  dir_.WriteFile("etc-bad/gatilho.conf",
                 "data_dir = " + dir_.Sub("bad-data") +
                     "\ncompanies_dir = companies\noperator_url = " +
                     "https://ops.example\noperator_secret = " + kOperatorKey + "\n");
  dir_.WriteFile("etc-bad/companies/zeta.conf", "cnpj = " + kAcme.cnpj + "\n" + kAcmeToken + "\n");
  dir_.WriteFile("etc-bad/companies/acme.conf",
                 "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcmeToken + "\nbase_url = ftp://u:" +
                     kBadConfigUrlPassword + "@api.example\n[webhook]\nurl = https://erp\n" +
                     "secret = " + kAcmeBearer + "\nbearer_token = Bearer " + kAcmeBearer + "\n");
  dir_.WriteFile("etc-bad/companies/beta.conf",
                 "cnpj = " + kBeta.cnpj + "\ntokn = " + kBetaToken +
                     "\ntoken_file = two.token\nenvironment = producao\n[webhook]\nurl = "
                     "https://erp\nbasic_auth = " +
                     kBetaBasicPassword + "\nsecret = " + Whsec(kBetaKey).substr(0, 20) + "\n");
  dir_.WriteFile("etc-bad/companies/two.token", kBetaToken + " " + kGamaToken + "\n");
  std::string writable = dir_.WriteFile("etc-bad/companies/gama.conf",
                                        "cnpj = 11444777000161\ntoken = " + kGamaToken +
                                            "\nenvironment = producao\n[webhook]\nurl = "
                                            "https://erp\nauthorization = " +
                                            kGamaAuthorization + "\n");
  chmod(writable.c_str(), 0666);
  Run bad = Gatilho({"check"}, dir_.Sub("etc-bad/gatilho.conf"));
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("any user may change it"), std::string::npos) << bad.err;
  Run bad_run = Gatilho({"run", "--once"}, dir_.Sub("etc-bad/gatilho.conf"));
  EXPECT_EQ(bad_run.exit_code, 2) << bad_run.err;

  // The scan must be able to fail: the inputs hold every secret the configuration names.
  std::set<std::string> in_inputs;
  for (const Leak& hit : Scan(/*inputs=*/true).leaks)
    in_inputs.insert(hit.secret);
  for (const Needle& needle : Needles()) {
    // Only the test's own requests carry these two.
    if (needle.secret == "stranger token" || needle.secret == "beta basic credentials") continue;
    EXPECT_EQ(in_inputs.count(needle.secret), 1u) << needle.secret << " is not in the inputs";
  }

  if (const char* keep = std::getenv("GATILHO_SECRETS_ARTIFACTS_DIR")) {
    // For reading what a session produced, e.g. after a leak was reported.
    fs::copy(dir_.path(), keep, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  ScanResult scan = Scan();
  for (const Leak& leak : scan.leaks) {
    ADD_FAILURE() << "the " << leak.secret << " (" << leak.form << ") is in " << leak.artifact
                  << " at offset " << leak.offset;
  }
  EXPECT_GT(scan.artifacts, 30u);
  EXPECT_GT(scan.bytes, 100'000u) << "the session produced less than expected";
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "RELIABILITY secrets: form=%s secrets=%zu forms=%zu artifacts=%zu bytes_scanned=%zu "
      "deliveries=%zu files=%zu reloads=%d sigterms=%d crashes=%d crash_stderr_bytes=%zu "
      "leaks=%zu wall_s=%.1f\n",
      long_form ? "long" : "short", SecretCount(), Needles().size(), scan.artifacts, scan.bytes,
      Accepted("acme") + Accepted("beta"), EpsilonFiles(), reloads, terms, crashes,
      crash_stderr_bytes_, scan.leaks.size(), wall_s);
  RecordProperty("secrets", static_cast<int>(SecretCount()));
  RecordProperty("artifacts", static_cast<int>(scan.artifacts));
  RecordProperty("bytes_scanned", static_cast<int>(scan.bytes));
  RecordProperty("leaks", static_cast<int>(scan.leaks.size()));
}

TEST_F(SecretTest, SecretFilesOthersMayReadAreWarnedAboutByCheckAndOnceByTheDaemon) {
  erp_ = std::make_unique<LoopbackServer>(
      [](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 204}; });
  api_url_ = erp_->Url("");  // nothing is watched, so nothing is polled
  std::string global = WriteEtc(
      "gatilho.conf", "data_dir = " + dir_.Sub("data") +
                          "\ncompanies_dir = companies\n"
                          "api_token_file = api.token\n"
                          "operator_url = " +
                          erp_->Url("/ops") + "\noperator_secret = " + Whsec(kOperatorKey) + "\n");
  std::string api_token = WriteEtc("api.token", kLocalApiToken + "\n", 0644);
  std::string acme = WriteEtc("companies/acme.conf", AcmeFile({kAcmeKeyOld}), 0644);
  std::string beta_token = WriteEtc("companies/beta.token", kBetaToken + "\n", 0604);
  WriteEtc("companies/beta.basic", kBetaBasicUser + ":" + kBetaBasicPassword + "\n");
  // No inline secret: others may read it.
  WriteEtc("companies/beta.conf",
           "cnpj = " + kBeta.cnpj + "\ntoken_file = beta.token\nbase_url = " + api_url_ +
               "\n\n[webhook]\nurl = " + erp_->Url("/erp/beta") +
               "\nbasic_auth_file = beta.basic\n",
           0644);
  const std::vector<std::string> expected = {
      global + ":3: api_token_file: " + api_token +
          " holds the local API's bearer token and any user may read it (mode 0644); run chmod "
          "600 " +
          api_token,
      acme +
          " holds secrets (token, webhook.secret, webhook.bearer_token) and any user may read "
          "it (mode 0644); run chmod 600 " +
          acme,
      Etc("companies/beta.conf") + ":2: token_file: " + beta_token +
          " holds the company's API token and any user may read it (mode 0604)"};

  Run check = Gatilho({"check"});

  EXPECT_EQ(check.exit_code, 0) << check.err;
  for (const std::string& warning : expected)
    EXPECT_NE(check.out.find("warning: " + warning), std::string::npos) << warning << check.out;
  EXPECT_NE(check.out.find("configuration is valid, with 3 warnings"), std::string::npos)
      << check.out;

  StartLoggedDaemon();
  for (const std::string& warning : expected)
    EXPECT_EQ(Count(DaemonLog(), "warning " + warning), 1u) << warning << "\n" << DaemonLog();
  // A reload repeats none of them, and tells only what is new.
  std::string gama =
      WriteEtc("companies/gama.conf",
               "cnpj = 11444777000161\ntoken = " + kGamaToken + "\nbase_url = " + api_url_ +
                   "\n\n[webhook]\nurl = " + erp_->Url("/erp/gama") + "\n",
               0640);
  ASSERT_EQ(chown(gama.c_str(), static_cast<uid_t>(-1), getegid()), 0);
  chmod(acme.c_str(), 0600);
  chmod(gama.c_str(), 0644);
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog("SIGHUP: configuration reloaded", 1, 30)) << DaemonLog();
  EXPECT_EQ(Count(DaemonLog(), expected[0]), 1u) << DaemonLog();
  EXPECT_EQ(Count(DaemonLog(), "SIGHUP: " + gama +
                                   " holds secrets (token) and any user may "
                                   "read it (mode 0644)"),
            1u)
      << DaemonLog();

  // One anyone may change is refused: by a reload (the running configuration stays), by
  // `check` and by `run`.
  chmod(acme.c_str(), 0646);
  const std::string refused = acme +
                              " holds secrets (token, webhook.secret, webhook.bearer_token) and "
                              "any user may change it (mode 0646), so gatilho refuses it";
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(refused, 1, 30)) << DaemonLog();
  EXPECT_EQ(EndDaemon(SIGTERM), 0);
  check = Gatilho({"check"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find(refused +
                           ": whoever changes it could send the events to a URL of "
                           "their own; run chmod 600 " +
                           acme),
            std::string::npos)
      << check.err;
  EXPECT_EQ(Gatilho({"run", "--once"}).exit_code, 2);
  EXPECT_EQ(Scan().leaks.size(), 0u);
}

// The HTTPS server the daemon does not trust, and the PKI behind it.
class UntrustedTlsTest : public SecretTest {
 protected:
  void SetUp() override {
    SecretTest::SetUp();
    std::string error;
    ASSERT_TRUE(MakeTestPki(dir_.path(), &pki_, &error)) << error;
    tls_ = std::make_unique<TlsLoopbackServer>(
        TlsLoopbackServer::Options{.cert_file = pki_.server_cert, .key_file = pki_.server_key});
  }

  // The attempts' errors `gatilho events --json` shows for acme, one per line.
  std::string AttemptErrors() {
    Run events = Gatilho({"events", "--json", "--company", "acme"});
    std::string errors;
    std::regex error_field("\"error\":\"([^\"]*)\"");
    for (std::sregex_iterator it(events.out.begin(), events.out.end(), error_field), end; it != end;
         ++it) {
      if ((*it)[1].length() > 0) errors += (*it)[1].str() + "\n";
    }
    return errors;
  }

  TestPki pki_;
  std::unique_ptr<TlsLoopbackServer> tls_;
};

TEST_F(UntrustedTlsTest, WebhookToAnUntrustedCertificateWaitsUntilCaBundleTrustsIt) {
  StartApi({"--time-scale", "20", "--reject-rate", "0", "--deny-rate", "0"});
  auto company = [&](const std::string& extra) {
    WriteEtc("companies/acme.conf",
             "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcme.token + "\nbase_url = " + api_url_ +
                 "\n\n[webhook]\nurl = " + tls_->Url("/hook") + "\n" + extra);
  };
  WriteEtc("gatilho.conf", "data_dir = " + dir_.Sub("data") + "\ncompanies_dir = companies\n");
  company("");
  StartLoggedDaemon();
  Submit(kAcme, "nfce", "TLS1");  // synchronous: authorised at once
  ASSERT_EQ(Gatilho({"watch", "acme", "nfce", "TLS1"}).exit_code, 0);

  // Not delivered: the event waits, and both the attempt and the log say why and what to do.
  ASSERT_TRUE(WaitUntil([&] { return !AttemptErrors().empty(); }, 60)) << DaemonLog();
  const std::string advice =
      "if a private CA signs the ERP's certificate, set ca_bundle = <that CA's PEM file> in the "
      "company's [webhook] section (verification cannot be turned off)";
  std::string errors = AttemptErrors();
  EXPECT_NE(errors.find("TLS certificate verification failed: SSL certificate problem"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(advice), std::string::npos) << errors;
  EXPECT_NE(DaemonLog().find("failed (TLS certificate verification failed: "), std::string::npos);
  EXPECT_NE(DaemonLog().find(advice), std::string::npos) << DaemonLog();
  Run failed = Gatilho({"events", "--state", "failed"});
  EXPECT_NE(failed.out.find("TLS1"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("TLS certificate verification failed"), std::string::npos)
      << failed.out;
  EXPECT_TRUE(tls_->requests().empty()) << "the untrusted server got a request";
  EXPECT_GE(tls_->handshakes_failed(), 1);

  // A bundle with the wrong CA is not enough either; the right one is.
  company("ca_bundle = " + pki_.other_ca_cert + "\n");
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog("SIGHUP: configuration reloaded", 1, 30)) << DaemonLog();
  ASSERT_TRUE(WaitUntil(
      [&] { return AttemptErrors().find("check that ca_bundle") != std::string::npos; }, 60))
      << AttemptErrors();
  EXPECT_NE(AttemptErrors().find("check that ca_bundle " + pki_.other_ca_cert +
                                 " holds the CA that signs the ERP's certificate"),
            std::string::npos);
  EXPECT_TRUE(tls_->requests().empty());
  company("ca_bundle = " + pki_.ca_cert + "\n");
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog("SIGHUP: configuration reloaded", 2, 30)) << DaemonLog();
  ASSERT_TRUE(WaitUntil([&] { return !tls_->requests().empty(); }, 60)) << DaemonLog();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Gatilho({"events", "--state", "delivered"}).out.find("TLS1") != std::string::npos;
      },
      30));
  EXPECT_EQ(tls_->requests()[0].target, "/hook");
  EXPECT_EQ(EndDaemon(SIGTERM), 0);
}

TEST_F(UntrustedTlsTest, ApiWithAnUntrustedCertificateIsRefusedWithAClearMessage) {
  erp_ = std::make_unique<LoopbackServer>(
      [](const LoopbackServer::Request&) { return LoopbackServer::Reply{.status = 204}; });
  WriteEtc("gatilho.conf", "data_dir = " + dir_.Sub("data") + "\ncompanies_dir = companies\n");
  std::string acme =
      WriteEtc("companies/acme.conf", "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcmeToken +
                                          "\nbase_url = " + tls_->Url("") +
                                          "\n\n[webhook]\nurl = " + erp_->Url("/erp/acme") + "\n");
  StartLoggedDaemon();
  ASSERT_EQ(Gatilho({"watch", "acme", "nfe", "SELF1"}).exit_code, 0);

  const std::string refused = "the API of company acme at " + tls_->Url("") +
                              " presented a TLS certificate gatilho does not trust (TLS "
                              "certificate verification failed: SSL certificate problem";
  ASSERT_TRUE(WaitForLog(refused, 1, 60)) << DaemonLog();
  EXPECT_NE(DaemonLog().find("Verification cannot be turned off: check base_url in " + acme),
            std::string::npos)
      << DaemonLog();
  EXPECT_NE(DaemonLog().find("poll of acme/nfe/SELF1 failed: TLS certificate verification failed"),
            std::string::npos)
      << DaemonLog();
  EXPECT_TRUE(tls_->requests().empty()) << "the token went to a server gatilho does not trust";
  EXPECT_GE(tls_->handshakes_failed(), 1);
  EXPECT_EQ(EndDaemon(SIGTERM), 0);
  EXPECT_EQ(Scan().leaks.size(), 0u);
}

TEST_F(SecretTest, ConfigRefusesEveryAttemptToTurnOffTlsVerification) {
  std::string global = WriteEtc("gatilho.conf", "data_dir = " + dir_.Sub("data") +
                                                    "\ncompanies_dir = companies\n"
                                                    "tls_verify = no\n");
  std::string acme = WriteEtc("companies/acme.conf",
                              "cnpj = " + kAcme.cnpj + "\ntoken = " + kAcmeToken +
                                  "\nenvironment = producao\nverify_tls = false\n\n[webhook]\n"
                                  "url = https://erp.example/hook\ninsecure = true\n"
                                  "ssl_verify_peer = 0\n");

  Run check = Gatilho({"check"});
  Run once = Gatilho({"run", "--once"});

  EXPECT_EQ(check.exit_code, 2);
  EXPECT_EQ(once.exit_code, 2);
  const std::string cannot =
      "; TLS certificate verification cannot be turned off in gatilho. "
      "For an ERP whose certificate a private CA signs, set ca_bundle = "
      "<that CA's PEM file> in the company's [webhook] section";
  for (const std::string& line :
       {global + ":3: unknown key 'tls_verify'", acme + ":4: unknown key 'verify_tls'",
        acme + ":8: unknown key 'webhook.insecure'",
        acme + ":9: unknown key 'webhook.ssl_verify_peer'"}) {
    EXPECT_NE(check.err.find(line + cannot), std::string::npos) << line << "\n" << check.err;
    EXPECT_NE(once.err.find(line + cannot), std::string::npos) << line << "\n" << once.err;
  }
}

}  // namespace
}  // namespace gatilho::testing
