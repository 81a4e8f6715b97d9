// Fuzz target: the local HTTP API's request handling, without sockets. The input is a request
// as text: "<method> <target>\n", then "Name: value" header lines, an empty line and the body
// (all of it body once the headers end). LocalApi::Handle answers it over a real Store in a
// temp dir opened once per process. Invariants: exactly one answer with a status code from
// 100 to 599; a request without the right bearer token leaves Store::Counts as they were; the
// bearer token never appears in an answer.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "api/local_api.h"
#include "core/clock.h"

namespace {

constexpr std::string_view kToken = "fuzz-api-token-0123456789";

void Check(bool condition) {
  if (!condition) std::abort();
}

class QuietLink : public gatilho::IntakeLink {
 public:
  explicit QuietLink(int64_t now_ms) {
    figures_.published_ms = now_ms;
    figures_.polls = 3;
    figures_.tokens.push_back({"tok-1234", "acme", 100, 80, 5, 75, 2, false});
    figures_.endpoints.push_back({"https://erp.example/hook", "closed"});
  }
  void StoreChanged() override {}
  void ErpRequest(gatilho::ErpRequestSeen) override {}
  void SyncAnswerSeen(gatilho::SyncAnswer) override {}
  gatilho::RuntimeFigures Figures() const override { return figures_; }

 private:
  gatilho::RuntimeFigures figures_;
};

// Keeps what the handler answered.
class RecordingWriter : public gatilho::ResponseWriter {
 public:
  gatilho::Status Send(int status, const gatilho::HeaderList& headers,
                       std::string_view body) override {
    Record(status, headers);
    body_ = std::string(body);
    return gatilho::Status::Ok();
  }
  gatilho::Status Begin(int status, const gatilho::HeaderList& headers) override {
    Record(status, headers);
    return gatilho::Status::Ok();
  }
  gatilho::Status Write(std::string_view chunk) override {
    Check(answers_ == 1);
    body_ += chunk;
    return gatilho::Status::Ok();
  }
  gatilho::Status End() override { return gatilho::Status::Ok(); }

  int status() const { return status_; }
  int answers() const { return answers_; }
  const std::string& everything() const { return everything_; }
  const std::string& body() const { return body_; }

 private:
  void Record(int status, const gatilho::HeaderList& headers) {
    ++answers_;
    status_ = status;
    for (const auto& [name, value] : headers)
      everything_ += name + ": " + value + "\n";
  }

  int answers_ = 0;
  int status_ = 0;
  std::string everything_;
  std::string body_;
};

struct Fixture {
  gatilho::VirtualClock clock;
  QuietLink link{clock.WallMs()};
  std::unique_ptr<gatilho::Store> store;
  std::unique_ptr<gatilho::LocalApi> api;

  Fixture() {
    spdlog::set_level(spdlog::level::off);
    std::string dir =
        (std::filesystem::temp_directory_path() / "gatilho-local-api-fuzz-XXXXXX").string();
    Check(mkdtemp(dir.data()) != nullptr);
    gatilho::Store::Options options;
    options.dir = dir + "/data";
    gatilho::Result<std::unique_ptr<gatilho::Store>> opened = gatilho::Store::Open(options);
    Check(opened.ok());
    store = std::move(*opened);

    auto config = std::make_shared<gatilho::Config>();
    config->global.companies_dir = dir + "/companies";
    config->global.api_token = std::string(kToken);
    for (auto [id, types] : {std::pair<std::string, std::set<gatilho::DocType>>{
                                 "acme", {gatilho::DocType::kNfe, gatilho::DocType::kNfse}},
                             {"beta", {gatilho::DocType::kCte}}}) {
      gatilho::CompanyConfig company;
      company.id = id;
      company.token = "focus-token-of-" + id;
      company.types = types;
      company.source_file = config->global.companies_dir + "/" + id + ".conf";
      config->companies[id] = company;
    }
    api = std::make_unique<gatilho::LocalApi>(*store, config, link, clock);
  }
};

auto Tie(const gatilho::StoreCounts& c) {
  return std::make_tuple(c.watches_pending, c.watches_following, c.watches_done, c.watches_paused,
                         c.watches_failing, c.events_pending, c.events_delivered, c.events_dead,
                         c.events_superseded);
}

std::string_view NextLine(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

gatilho::ServerRequest ReadRequest(std::string_view input) {
  gatilho::ServerRequest request;
  request.peer = "127.0.0.1:40000";
  std::string_view rest = input;
  std::string_view request_line = NextLine(rest);
  size_t space = request_line.find(' ');
  request.method = std::string(request_line.substr(0, space));
  if (space != std::string_view::npos) request.target = std::string(request_line.substr(space + 1));
  while (!rest.empty()) {
    std::string_view line = NextLine(rest);
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  request.body = std::string(rest);
  return request;
}

bool CarriesTheToken(const gatilho::ServerRequest& request) {
  std::string_view authorization = request.Header("Authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() != kBearer.size() + kToken.size()) return false;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i]) return false;
  }
  return authorization.substr(kBearer.size()) == kToken;
}

// Whether the request carries the token anywhere but in Authorization, where an answer quoting
// the request (a 405 names the method, a 404 the path) could legitimately repeat it.
bool EchoesTheToken(const gatilho::ServerRequest& request) {
  if (request.method.find(kToken) != std::string::npos) return true;
  if (request.target.find(kToken) != std::string::npos) return true;
  if (request.body.find(kToken) != std::string::npos) return true;
  for (const auto& [name, value] : request.headers) {
    if (name.find(kToken) != std::string::npos) return true;
    if (value.find(kToken) != std::string::npos && value != request.Header("Authorization")) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  gatilho::ServerRequest request =
      ReadRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  bool authorized = CarriesTheToken(request);

  gatilho::Result<gatilho::StoreCounts> before = fixture->store->Counts();
  Check(before.ok());
  RecordingWriter writer;
  fixture->api->Handle(request, writer);
  Check(writer.answers() == 1);
  Check(writer.status() >= 100 && writer.status() <= 599);
  if (!EchoesTheToken(request)) {
    Check(writer.everything().find(kToken) == std::string::npos);
    Check(writer.body().find(kToken) == std::string::npos);
  }
  if (!authorized) {
    gatilho::Result<gatilho::StoreCounts> after = fixture->store->Counts();
    Check(after.ok());
    Check(Tie(*before) == Tie(*after));
  }
  return 0;
}
