#include "api/proxy.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>

#include "core/digest.h"
#include "fiscal/erp_request.h"
#include "fiscal/sync_answer.h"
#include "schedule/poll_policy.h"

namespace gatilho {

namespace {

constexpr size_t kWholeAnswerBytes = 64 * 1024;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoringCase(key, name)) return value;
  }
  return {};
}

std::optional<int64_t> HeaderInt(const HeaderList& headers, std::string_view name) {
  std::string_view text = FindHeader(headers, name);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// The bytes of base64 `text` (padding optional), or nullopt when it is not base64.
std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int digit = Base64Digit(c);
    if (digit < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(digit);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

// The API token the request carries: the user of HTTP Basic (the API's way), or the `token`
// query parameter (its documented fallback); "" when neither.
std::string TokenOf(const ServerRequest& request) {
  std::string_view authorization = FindHeader(request.headers, "Authorization");
  constexpr std::string_view kBasic = "basic ";
  if (authorization.size() > kBasic.size() &&
      EqualsIgnoringCase(authorization.substr(0, kBasic.size()), kBasic)) {
    std::string_view encoded = authorization.substr(kBasic.size());
    while (!encoded.empty() && encoded.front() == ' ')
      encoded.remove_prefix(1);
    if (std::optional<std::string> decoded = DecodeBase64(encoded)) {
      return decoded->substr(0, decoded->find(':'));
    }
  }
  size_t question = request.target.find('?');
  if (question == std::string::npos) return "";
  std::string_view query = std::string_view(request.target).substr(question + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("token=")) return PercentDecode(pair.substr(6));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return "";
}

// The target's path, for log lines: the query may carry the token.
std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::optional<SyncAnswerKind> SyncKindOf(ErpRequestKind kind) {
  switch (kind) {
    case ErpRequestKind::kEmission:
      return SyncAnswerKind::kEmission;
    case ErpRequestKind::kCancellation:
      return SyncAnswerKind::kCancellation;
    case ErpRequestKind::kCorrection:
      return SyncAnswerKind::kCorrection;
    case ErpRequestKind::kOther:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Proxy::Proxy(Store& store, IntakeLink& link, HttpForwarder& forwarder, const Clock& clock,
             Options options)
    : store_(store),
      link_(link),
      forwarder_(forwarder),
      clock_(clock),
      options_(std::move(options)),
      companies_(std::make_shared<const CompanyMap>()) {}

void Proxy::SetCompanies(const std::map<std::string, CompanyConfig>& companies) {
  auto map = std::make_shared<CompanyMap>();
  for (const auto& [id, company] : companies) {
    (*map)[Sha256Hex(company.token)].push_back(Company{id, company.cnpj, company.base_url});
  }
  std::lock_guard<std::mutex> lock(mu_);
  companies_ = std::move(map);
}

const Proxy::Company* Proxy::FindCompany(const CompanyMap& companies,
                                         const std::string& token_digest,
                                         const std::string& body) const {
  auto it = companies.find(token_digest);
  if (it == companies.end()) return nullptr;
  const std::vector<Company>& sharing = it->second;
  if (sharing.size() > 1) {
    // The emission's JSON names its issuer's CNPJ (cnpj_emitente, prestador.cnpj, ...), in
    // digits; a cancellation carries none, and then the first company stands for the token.
    // TODO(proxy): companies sharing a token are told apart only by a CNPJ in the body, so a
    // cancellation or CC-e of the second one is learned as the first's and teaches nothing.
    for (const Company& company : sharing) {
      if (!company.cnpj.empty() && body.find(company.cnpj) != std::string::npos) return &company;
    }
  }
  return &sharing.front();
}

void Proxy::WarnUnknownToken(const std::string& token) {
  std::string handle = SecretHandle(token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!warned_handles_.insert(handle).second) return;
  }
  spdlog::warn(
      "proxy: a request with token {} matches no company; it and the next ones with that token "
      "go to {} and nothing is learned from them. Put the token in a company file to watch its "
      "documents",
      handle, HttpForwarder::HostOf(options_.upstream));
}

void Proxy::Handle(const ServerRequest& request, ResponseWriter& writer) {
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<const CompanyMap> companies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    companies = companies_;
  }
  const std::string token = TokenOf(request);
  const Company* company =
      token.empty() ? nullptr : FindCompany(*companies, Sha256Hex(token), request.body);
  if (company == nullptr && !token.empty()) WarnUnknownToken(token);
  const std::string base_url = company != nullptr ? company->base_url : options_.upstream;
  const ErpRequest erp =
      company != nullptr ? ClassifyErpRequest(request.method, request.target) : ErpRequest{};
  const bool learn_body = erp.kind != ErpRequestKind::kOther;

  ForwardRequest forward{request.method, request.target, request.headers, request.body};
  std::string body;
  bool body_whole = true;
  // An answer is held until it passes kWholeAnswerBytes and then streamed; a smaller one (most
  // of the API's) goes out whole in one write, which spares the ERP the ~40 ms a small write
  // after the headers waits for a delayed ACK when Nagle's algorithm holds it.
  int head_status = 0;
  HeaderList head_headers;
  std::string held;
  bool streaming = false;
  ForwardResult result = forwarder_.Forward(
      base_url, forward,
      [&](int status, const HeaderList& headers) {
        head_status = status;
        head_headers = headers;
        return Status::Ok();
      },
      [&](std::string_view chunk) {
        if (learn_body && body_whole) {
          if (body.size() + chunk.size() <= options_.max_learned_body_bytes) {
            body.append(chunk);
          } else {
            body_whole = false;
            body.clear();
          }
        }
        if (streaming) return writer.Write(chunk);
        held.append(chunk);
        if (held.size() <= kWholeAnswerBytes) return Status::Ok();
        streaming = true;
        if (Status s = writer.Begin(head_status, head_headers); !s.ok()) return s;
        Status s = writer.Write(held);
        held.clear();
        return s;
      });

  const std::string_view path = PathOf(request.target);
  const std::string who = company != nullptr ? "company " + company->id : "an unknown token";
  if (streaming) {
    if (result.status.ok()) {
      writer.End();
    } else {
      spdlog::warn(
          "proxy: the answer to {} {} of {} broke off after {} bytes ({}); the ERP got it "
          "incomplete",
          request.method, path, who, result.body_bytes, result.status.message());
    }
  } else if (result.answered && result.status.ok()) {
    writer.Send(head_status, head_headers, held);
  } else {
    // Nothing reached the ERP yet, so it can be told plainly (an answer that broke off early
    // included).
    const int status = result.timed_out ? 504 : 502;
    spdlog::warn("proxy: {} {} of {} could not be forwarded ({}); answered {}", request.method,
                 path, who, result.status.message(), status);
    boost::json::object error{
        {"codigo", result.timed_out ? "proxy_tempo_esgotado" : "proxy_sem_resposta"},
        {"mensagem", "gatilho could not get an answer from the API at " +
                         HttpForwarder::HostOf(base_url) + ": " + result.status.message()}};
    writer.Send(status, {{"Content-Type", "application/json"}}, boost::json::serialize(error));
  }
  const int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count();
  spdlog::debug("proxy: {} {} of {} -> {} in {} ms", request.method, path, who, result.http_status,
                elapsed_ms);

  if (company == nullptr || result.http_status == 0) return;
  link_.ErpRequest(ErpRequestSeen{company->id, result.http_status,
                                  HeaderInt(result.headers, "Rate-Limit-Limit"),
                                  HeaderInt(result.headers, "Rate-Limit-Remaining"),
                                  HeaderInt(result.headers, "Rate-Limit-Reset")});
  if (erp.kind == ErpRequestKind::kOther) return;

  WatchKey key{company->id, erp.type, erp.ref};
  const bool success = result.http_status >= 200 && result.http_status < 300;
  if (erp.kind == ErpRequestKind::kEmission && success) {
    const int64_t now = clock_.WallMs();
    static const PollPolicy kPolicy = PollPolicy::Defaults();
    const int64_t first_poll = kPolicy.FirstPoll(erp.type, now);
    Result<std::vector<Store::AddOutcome>> added = store_.AddWatches({key}, now, first_poll);
    if (!added.ok()) {
      spdlog::error(
          "proxy: {} was emitted (HTTP {}) but its watch could not be stored: {}; run `gatilho "
          "watch {} {} {}` once the store works again",
          key.ToString(), result.http_status, added.status().ToString(), key.company,
          DocTypeName(key.type), key.ref);
    } else {
      const Store::AddOutcome& outcome = added->front();
      spdlog::info("proxy: {} was emitted through the proxy (HTTP {}): {}", key.ToString(),
                   result.http_status,
                   outcome.created     ? "watching it"
                   : outcome.new_cycle ? "watching its cycle " + std::to_string(outcome.cycle)
                                       : std::string("already watched"));
      link_.StoreChanged();
    }
  }
  if (!success || !body_whole) return;
  if (!ReadSyncAnswer(erp.kind, erp.type, result.http_status, body, std::nullopt)) return;
  std::optional<SyncAnswerKind> kind = SyncKindOf(erp.kind);
  if (!kind) return;
  link_.SyncAnswerSeen(
      SyncAnswer{company->id, erp.type, erp.ref, *kind, result.http_status, std::move(body)});
}

}  // namespace gatilho
