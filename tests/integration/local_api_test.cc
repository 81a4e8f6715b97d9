// The local HTTP API against the real gatilho daemon, simulator and receiver: watches created
// over HTTP are polled and delivered, the watch and its events read back, redelivery, /metrics,
// /healthz, the refusals, and the status page rendered by a headless Chromium.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

constexpr char kApiToken[] = "integration-api-token-6f1c2b9e";

const std::vector<std::string> kFastApi = {"--time-scale",  "20", "--median-ms", "nfse=20000",
                                           "--reject-rate", "0",  "--deny-rate", "0",
                                           "--seed",        "7"};

// A port nothing listens on right now, for api_listen (which needs a fixed port).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return value;
}

class LocalApiIntegrationTest : public BridgeFixture {
 protected:
  // The daemon with the API on a free loopback port.
  void StartWithApi(const std::vector<Company>& companies) {
    std::string token_file = dir_.WriteFile("api.token", std::string(kApiToken) + "\n");
    chmod(token_file.c_str(), 0600);
    api_port_ = FreePort();
    ASSERT_GT(api_port_, 0);
    WriteConfig(companies, "api_token_file = api.token\napi_listen = 127.0.0.1:" +
                               std::to_string(api_port_) + "\napi_max_body_kib = 4\n");
    StartDaemon();
    ASSERT_TRUE(WaitUntil([&] { return Api("GET", "/healthz").status == 200; }, 20))
        << "the daemon's API never became healthy: " << Api("GET", "/healthz").body;
  }

  std::string ApiUrl(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(api_port_) + target;
  }

  HttpResult Api(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::string& token = kApiToken) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return HttpCall(method, ApiUrl(target), body, std::nullopt, headers);
  }

  static bool WaitUntil(const std::function<bool()>& done, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  // What `gatilho events --json` prints, one value per line.
  std::vector<boost::json::value> CliEvents() {
    std::vector<boost::json::value> events;
    std::istringstream lines(Cli({"events", "--json"}).out);
    std::string line;
    while (std::getline(lines, line))
      events.push_back(ParseJson(line));
    return events;
  }

  void ExpectError(const HttpResult& result, int status, const std::string& code) {
    EXPECT_EQ(result.status, status) << result.body;
    boost::json::value body = ParseJson(result.body);
    ASSERT_TRUE(body.is_object()) << result.body;
    EXPECT_EQ(body.at("error"), boost::json::value(code)) << result.body;
    EXPECT_TRUE(body.at("message").is_string()) << result.body;
  }

  int api_port_ = 0;
};

TEST_F(LocalApiIntegrationTest, WatchesCreatedOverTheApiArePolledDeliveredAndShown) {
  StartApi(kFastApi);
  StartReceiver({"--fail-first", "1"});
  StartWithApi({kAcme, kBeta});
  Submit(kAcme, "nfe", "API-1");
  Submit(kAcme, "nfse", "API-2");
  Submit(kBeta, "nfe", "API-3");

  HttpResult single =
      Api("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":"API-1"})");
  ASSERT_EQ(single.status, 201) << single.body;
  EXPECT_EQ(ParseJson(single.body).at("created"), true);
  HttpResult batch = Api("POST", "/v1/watches",
                         R"({"watches":[{"company":"acme","type":"nfse","ref":"API-2"},
                                        {"company":"beta","type":"nfe","ref":"API-3"}]})");
  ASSERT_EQ(batch.status, 201) << batch.body;
  EXPECT_EQ(ParseJson(batch.body).at("watches").as_array().size(), 2u);

  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});
  ASSERT_EQ(expected.size(), 3u);
  std::vector<Delivery> deliveries = WaitForEvents(expected, 60);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);

  HttpResult watch = Api("GET", "/v1/watches/acme/nfe/API-1");
  ASSERT_EQ(watch.status, 200) << watch.body;
  boost::json::value shown = ParseJson(watch.body);
  EXPECT_FALSE(shown.at("history").as_array().empty()) << watch.body;
  ASSERT_FALSE(shown.at("events").as_array().empty()) << watch.body;
  const boost::json::value& event = shown.at("events").at(0);
  std::string id(event.at("id").as_string());
  ASSERT_TRUE(WaitUntil(
      [&] {
        boost::json::value again = ParseJson(Api("GET", "/v1/watches/acme/nfe/API-1").body);
        return again.at("events").at(0).at("state") == "delivered";
      },
      30));

  // The API and the CLI print the same objects for the same event.
  boost::json::value listed = ParseJson(Api("GET", "/v1/events?company=acme&limit=10").body);
  std::vector<boost::json::value> cli = CliEvents();
  bool same = false;
  for (const boost::json::value& api_event : listed.at("events").as_array()) {
    for (const boost::json::value& cli_event : cli)
      same = same || (api_event.at("id") == id.c_str() && api_event == cli_event);
  }
  EXPECT_TRUE(same) << "GET /v1/events and gatilho events --json differ for " << id;

  size_t before = Deliveries().size();
  HttpResult redeliver = Api("POST", "/v1/events/" + id + "/redeliver");
  ASSERT_EQ(redeliver.status, 200) << redeliver.body;
  EXPECT_EQ(ParseJson(redeliver.body).at("redelivered"), true);
  ASSERT_TRUE(WaitUntil([&] { return Deliveries().size() > before; }, 30));
  EXPECT_EQ(Deliveries().back().webhook_id, id);

  HttpResult metrics;
  ASSERT_TRUE(WaitUntil(
      [&] {
        metrics = Api("GET", "/metrics");
        return metrics.body.find("gatilho_deliveries_total 4") != std::string::npos;
      },
      10))
      << metrics.body;
  EXPECT_EQ(metrics.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("# TYPE gatilho_polls_total counter"), std::string::npos);
  EXPECT_EQ(metrics.body.find("gatilho_polls_total 0\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("gatilho_delivery_latency_seconds_count 4"), std::string::npos);
  EXPECT_NE(metrics.body.find("companies=\"acme\""), std::string::npos);
  EXPECT_EQ(metrics.body.find(kAcme.token), std::string::npos);
  // Every sample line is `name{labels} value` or `name value`.
  std::istringstream lines(metrics.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) continue;
    size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_TRUE(line.starts_with("gatilho_")) << line;
    char* end = nullptr;
    std::string value = line.substr(space + 1);
    std::strtod(value.c_str(), &end);
    EXPECT_TRUE(value == "+Inf" || *end == '\0') << line;
  }
  HttpResult health = Api("GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(ParseJson(health.body).at("status"), "ok");

  HttpResult removed = Api("DELETE", "/v1/watches/beta/nfe/API-3");
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(Api("GET", "/v1/watches/beta/nfe/API-3").status, 404);
}

TEST_F(LocalApiIntegrationTest, BadRequestsAreRefusedAndChangeNothing) {
  StartApi(kFastApi);
  StartReceiver();
  StartWithApi({kAcme});
  const std::string watch = R"({"company":"acme","type":"nfe","ref":"BAD-1"})";
  std::string status_before = Cli({"status"}).out;

  ExpectError(Api("POST", "/v1/watches", watch, ""), 401, "unauthorized");
  EXPECT_NE(Api("GET", "/metrics", "", "").Header("www-authenticate").find("Bearer"),
            std::string::npos);
  ExpectError(Api("POST", "/v1/watches", watch, "wrong-token-wrong-token"), 401, "unauthorized");
  ExpectError(Api("POST", "/v1/watches", "{\"company\":"), 400, "malformed_json");
  ExpectError(Api("POST", "/v1/watches", R"({"company":"zeta","type":"nfe","ref":"BAD-1"})"), 404,
              "unknown_company");
  ExpectError(Api("POST", "/v1/watches", R"({"company":"acme","type":"nfx","ref":"BAD-1"})"), 422,
              "invalid_type");
  ExpectError(Api("POST", "/v1/watches", R"({"company":"acme","type":"nfe","ref":"BAD 1"})"), 422,
              "invalid_ref");
  ExpectError(Api("GET", "/v1/nothing"), 404, "unknown_route");
  ExpectError(Api("GET", "/v1/watches/acme/nfe/NOT-WATCHED"), 404, "unknown_watch");
  ExpectError(Api("POST", "/v1/events/no-such-event/redeliver"), 404, "unknown_event");
  HttpResult method = Api("PATCH", "/v1/watches", watch);
  ExpectError(method, 405, "method_not_allowed");
  EXPECT_EQ(method.Header("allow"), "POST");
  std::string big = R"({"watches":[)" + std::string(5000, ' ') + "]}";
  HttpResult oversized = Api("POST", "/v1/watches", big);
  EXPECT_EQ(oversized.status, 413) << oversized.body;
  EXPECT_NE(oversized.body.find("4096"), std::string::npos) << oversized.body;

  EXPECT_EQ(Cli({"status"}).out, status_before);
  ExpectError(Api("GET", "/v1/watches/acme/nfe/BAD-1"), 404, "unknown_watch");
  EXPECT_EQ(ParseJson(Api("GET", "/v1/events").body).at("events").as_array().size(), 0u);
}

TEST_F(LocalApiIntegrationTest, SecondDaemonOnATakenPortFailsNamingTheAddressAndKey) {
  StartApi(kFastApi);
  StartReceiver();
  StartWithApi({kAcme});
  // Another data_dir, so the run lock does not refuse it first.
  std::string other =
      dir_.WriteFile("other.conf",
                     "data_dir = data2\ncompanies_dir = companies\napi_token_file = api.token\n"
                     "api_listen = 127.0.0.1:" +
                         std::to_string(api_port_) + "\n");
  // Through a shell, to read what it prints on standard error.
  std::unique_ptr<Subprocess> second = Subprocess::Start(
      "/bin/sh", {"-c", std::string(GATILHO_BIN) + " run --config " + other + " 2>&1"});
  ASSERT_NE(second, nullptr);
  std::string out;
  while (std::optional<std::string> line = second->ReadLine(30'000))
    out += *line + "\n";
  EXPECT_EQ(second->Wait(), 1) << out;
  EXPECT_NE(out.find("127.0.0.1:" + std::to_string(api_port_)), std::string::npos) << out;
  EXPECT_NE(out.find("api_listen"), std::string::npos) << out;
  EXPECT_EQ(out.find(kApiToken), std::string::npos) << out;
  EXPECT_EQ(Api("GET", "/healthz").status, 200) << "the first daemon's API still answers";
}

TEST_F(LocalApiIntegrationTest, AfterAReloadTheApiKnowsTheNewCompanies) {
  StartApi(kFastApi);
  StartReceiver();
  StartWithApi({kAcme});
  const std::string beta_watch = R"({"company":"beta","type":"nfe","ref":"RELOAD-1"})";
  ExpectError(Api("POST", "/v1/watches", beta_watch), 404, "unknown_company");

  // The new company file, and the API's own lines kept in the global file.
  WriteConfig({kAcme, kBeta}, "api_token_file = api.token\napi_listen = 127.0.0.1:" +
                                  std::to_string(api_port_) + "\n");
  daemon_->Signal(SIGHUP);
  Submit(kBeta, "nfe", "RELOAD-1");
  HttpResult created;
  ASSERT_TRUE(WaitUntil(
      [&] {
        created = Api("POST", "/v1/watches", beta_watch);
        return created.status == 201;
      },
      10))
      << created.body;
  WaitForSimulatorToFinish(60);
  std::set<EventKey> expected = ExpectedEvents({kBeta});
  ASSERT_EQ(expected.size(), 1u);
  ExpectEveryEventOnceWithStableIds(expected, WaitForEvents(expected, 60));
  EXPECT_EQ(Api("GET", "/healthz").status, 200);
}

// ---- the status page in a real browser -----------------------------------------------------

// Runs Debian's headless Chromium on `url` with `extra` flags; returns its standard output. Its
// standard error (dbus complaints on a machine without a session bus) goes to
// <profile_dir>.log, which a failing assertion can point to.
std::optional<std::string> RunChromium(const std::string& profile_dir,
                                       const std::vector<std::string>& extra,
                                       const std::string& url) {
  std::string command =
      "exec /usr/bin/chromium --headless --no-sandbox --disable-gpu "
      "--no-first-run --user-data-dir='" +
      profile_dir + "' --virtual-time-budget=5000";
  for (const std::string& flag : extra)
    command += " '" + flag + "'";
  command += " '" + url + "' 2>>'" + profile_dir + ".log'";
  std::unique_ptr<Subprocess> browser = Subprocess::Start("/bin/sh", {"-c", command});
  if (!browser) return std::nullopt;
  std::string out;
  while (std::optional<std::string> line = browser->ReadLine(60'000))
    out += *line + "\n";
  if (browser->Wait() != 0) return std::nullopt;
  return out;
}

TEST_F(LocalApiIntegrationTest, StatusPageRendersPendingEventsFailingEndpointAndCredits) {
  if (!std::filesystem::exists("/usr/bin/chromium")) {
    const char* require = std::getenv("GATILHO_REQUIRE_CHROMIUM");
    if (require != nullptr && std::string(require) == "1") {
      FAIL() << "GATILHO_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing: "
                "apt-get install -y chromium";
    }
    GTEST_SKIP() << "chromium is not installed (apt-get install -y chromium)";
  }
  StartApi(kFastApi);
  StartReceiver();
  StartWithApi({kAcme, kBeta});
  Submit(kAcme, "nfe", "PAGE-DONE");
  ASSERT_EQ(Api("POST", "/v1/watches",
                R"({"watches":[{"company":"acme","type":"nfe","ref":"PAGE-DONE"},
                               {"company":"acme","type":"nfe","ref":"PAGE-WAITING"}]})")
                .status,
            201);
  ASSERT_TRUE(WaitUntil([&] { return !Deliveries().empty(); }, 60));
  const std::string beta_hook = receiver_url_ + "/erp/beta";
  ASSERT_EQ(Cli({"endpoint", "disable", beta_hook}).exit_code, 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        boost::json::value status = ParseJson(Api("GET", "/v1/status").body);
        return !status.at("failing_endpoints").as_array().empty() &&
               !status.at("tokens").as_array().empty() &&
               !status.at("recent_events").as_array().empty();
      },
      30))
      << Api("GET", "/v1/status").body;

  const std::string page = ApiUrl("/status#token=") + kApiToken;
  std::optional<std::string> dom = RunChromium(dir_.Sub("chromium"), {"--dump-dom"}, page);
  ASSERT_TRUE(dom.has_value()) << "chromium did not start";
  EXPECT_NE(dom->find("PAGE-WAITING"), std::string::npos) << *dom;  // pending document
  EXPECT_NE(dom->find("PAGE-DONE"), std::string::npos) << *dom;     // its event
  EXPECT_NE(dom->find("autorizado"), std::string::npos) << *dom;
  EXPECT_NE(dom->find("/erp/beta"), std::string::npos) << *dom;  // the failing endpoint
  EXPECT_NE(dom->find("disabled"), std::string::npos) << *dom;
  EXPECT_NE(dom->find(SecretHandle(kAcme.token)), std::string::npos) << *dom;  // its credits
  EXPECT_EQ(dom->find(kAcme.token), std::string::npos) << "a Focus token reached the page";

  std::optional<std::string> refused =
      RunChromium(dir_.Sub("chromium"), {"--dump-dom"}, ApiUrl("/status#token=wrong-token-here"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->find("Wrong token"), std::string::npos) << *refused;
  EXPECT_EQ(refused->find("PAGE-WAITING"), std::string::npos) << *refused;
  EXPECT_EQ(refused->find("PAGE-DONE"), std::string::npos) << *refused;

  const std::string png = std::string(GATILHO_BUILD_DIR) + "/status-page.png";
  std::filesystem::remove(png);
  ASSERT_TRUE(RunChromium(dir_.Sub("chromium"),
                          {"--screenshot=" + png, "--window-size=1280,900", "--hide-scrollbars"},
                          page)
                  .has_value());
  std::string bytes = ReadFile(png);
  ASSERT_GT(bytes.size(), 8u) << "no screenshot at " << png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

}  // namespace
}  // namespace gatilho::testing
