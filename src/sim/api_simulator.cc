#include "sim/api_simulator.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>
#include <tuple>

#include "sim/base64.h"
#include "sim/document_body.h"

namespace gatilho::sim {
namespace {

namespace json = boost::json;

constexpr std::string_view kDefaultCnpj = "07504505000132";
constexpr std::string_view kHtmlPage =
    "<html><head><title>Erro</title></head><body><h1>Estamos em manutenção</h1>"
    "<p>Tente novamente em alguns instantes.</p></body></html>";
constexpr std::string_view kBadGatewayPage =
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse Error(int status, std::string_view code, std::string_view message) {
  return Json(status, json::serialize(json::object{{"codigo", code}, {"mensagem", message}}));
}

HttpResponse NotFound() {
  return Error(404, "nao_encontrado", "Nota fiscal não encontrada");
}

HttpResponse RouteNotFound() {
  return Error(404, "nao_encontrado", "Recurso não encontrado");
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// The decoded value of query parameter `name`, or nullopt when absent.
std::optional<std::string> QueryParam(std::string_view target, std::string_view name) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

bool ValidRef(std::string_view ref) {
  if (ref.empty()) return false;
  for (char c : ref) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The token of HTTP Basic credentials (user part; the password is ignored, as the API ignores
// it), else the `token` query parameter the API also accepts. Empty when neither is usable.
std::string TokenOf(const HttpRequest& request) {
  const std::string_view authorization = request.Header("authorization");
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.substr(0, kBasic.size()) == kBasic) {
    const std::optional<std::string> credentials =
        Base64Decode(authorization.substr(kBasic.size()));
    if (credentials) return credentials->substr(0, credentials->find(':'));
    return {};
  }
  return QueryParam(request.target, "token").value_or("");
}

// The body as a JSON object, or nullopt when it is not one.
std::optional<json::object> ParseObject(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

HttpResponse NotAnObject() {
  constexpr char kMessage[] = "O corpo da requisição não é um objeto JSON válido";
  return Error(415, "requisicao_invalida", kMessage);
}

// Characters, not bytes: the API's limits count letters, and justifications are Portuguese.
std::size_t Utf8Length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

// Whether `object[field]` is a string of min..max characters.
bool TextBetween(const json::object& object, std::string_view field, std::size_t min,
                 std::size_t max) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_string()) return false;
  const std::size_t length = Utf8Length(value->as_string());
  return length >= min && length <= max;
}

std::string CnpjOf(const json::object& body) {
  for (std::string_view field : {"cnpj_emitente", "cnpj_prestador", "cnpj"}) {
    const json::value* value = body.if_contains(field);
    if (value != nullptr && value->is_string() && !value->as_string().empty()) {
      return std::string(value->as_string());
    }
  }
  return std::string(kDefaultCnpj);
}

// Cancelling something that is not authorised: each type has its own documented answer.
HttpResponse NotAuthorized(DocType type) {
  switch (type) {
    case DocType::kNfce:
      return Error(422, "nfce_nao_autorizada", "A NFC-e não está autorizada");
    case DocType::kNfse:
    case DocType::kNfsen:
      return Error(400, "nfe_nao_autorizada", "A nota fiscal não está autorizada");
    case DocType::kNfcom:
      return Error(400, "nao_autorizado", "A NFCom não está autorizada");
    default:
      return Error(422, "nfe_nao_autorizada", "A nota fiscal não está autorizada");
  }
}

HttpResponse AlreadyCancelled() {
  return Error(400, "nfe_cancelada", "A nota fiscal já foi cancelada");
}

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

HttpResponse TooManyRequests(int retry_after_s) {
  constexpr char kMessage[] = "Limite de requisições excedido; aguarde o fim do período";
  HttpResponse response = Error(429, "limite_excedido", kMessage);
  // Both spellings of "wait this long": the API's own header and the generic HTTP one.
  response.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  response.headers.emplace_back("Rate-Limit-Reset", std::to_string(retry_after_s));
  return response;
}

// The answer for a drawn fault. Faults that break the transport (timeout, truncated, reset)
// start from the real answer, so that what does arrive is what the API would have said.
HttpResponse FaultResponse(const FaultDraw& draw, const FaultSettings& settings,
                           const std::function<HttpResponse()>& route) {
  HttpResponse response;
  switch (draw.fault) {
    case Fault::kServerError:
      // Half the failures look like a proxy in front of the API, half like the API itself.
      if (NowMs() % 2 == 0) {
        response.status = 502;
        response.content_type = "text/html";
        response.body = kBadGatewayPage;
      } else {
        response = Error(503, "servico_indisponivel", "Serviço temporariamente indisponível");
      }
      break;
    case Fault::kMalformed:
      response.body = R"({"cnpj_emitente":"07504505000132","ref":"x","status":"autori)";
      break;
    case Fault::kHtml:
      response.content_type = "text/html; charset=utf-8";
      response.body = kHtmlPage;
      break;
    case Fault::kDrop:
      response.drop = true;
      break;
    case Fault::kTimeout:
      response = route();
      response.delay_ms = settings.timeout_ms;
      break;
    case Fault::kTruncated:
      response = route();
      response.truncate = true;
      break;
    case Fault::kReset:
      response.reset = true;
      break;
    case Fault::kTooManyRequests:
    case Fault::kStorm:
      response = TooManyRequests(draw.retry_after_s);
      break;
    case Fault::kNone:
      response = route();
      break;
  }
  return response;
}

std::optional<FaultSettings> ParseFaults(const std::string& body) {
  const std::optional<json::object> object = ParseObject(body);
  if (!object) return std::nullopt;
  FaultSettings settings;
  for (const auto& [field, target] :
       {std::pair<std::string_view, double*>{"fault_5xx", &settings.fault_5xx},
        {"fault_malformed", &settings.fault_malformed},
        {"fault_html", &settings.fault_html},
        {"fault_drop", &settings.fault_drop},
        {"fault_timeout", &settings.fault_timeout},
        {"fault_truncated", &settings.fault_truncated},
        {"fault_reset", &settings.fault_reset},
        {"fault_429", &settings.fault_429}}) {
    const json::value* value = object->if_contains(field);
    if (value == nullptr) continue;
    if (!value->is_number()) return std::nullopt;
    *target = value->to_number<double>();
    if (*target < 0 || *target > 1) return std::nullopt;
  }
  for (const auto& [field, target, min] :
       {std::tuple<std::string_view, int*, int64_t>{"latency_ms", &settings.latency_ms, 0},
        {"timeout_ms", &settings.timeout_ms, 1},
        {"storm_ms", &settings.storm_ms, 0},
        {"storm_every_ms", &settings.storm_every_ms, 0}}) {
    const json::value* value = object->if_contains(field);
    if (value == nullptr) continue;
    if (!value->is_int64() || value->as_int64() < min || value->as_int64() > 600000) {
      return std::nullopt;
    }
    *target = static_cast<int>(value->as_int64());
  }
  if (settings.storm_every_ms > 0 && settings.storm_ms >= settings.storm_every_ms) {
    return std::nullopt;
  }
  return settings;
}

json::object FaultsJson(const FaultSettings& settings) {
  return {{"fault_5xx", settings.fault_5xx},         {"fault_malformed", settings.fault_malformed},
          {"fault_html", settings.fault_html},       {"fault_drop", settings.fault_drop},
          {"fault_timeout", settings.fault_timeout}, {"fault_truncated", settings.fault_truncated},
          {"fault_reset", settings.fault_reset},     {"fault_429", settings.fault_429},
          {"latency_ms", settings.latency_ms},       {"timeout_ms", settings.timeout_ms},
          {"storm_ms", settings.storm_ms},           {"storm_every_ms", settings.storm_every_ms}};
}

}  // namespace

ApiSimulator::ApiSimulator(const ApiSettings& settings)
    : tokens_(settings.tokens.begin(), settings.tokens.end()),
      blocked_tokens_(settings.blocked_tokens.begin(), settings.blocked_tokens.end()),
      model_(settings.processing),
      store_(model_),
      limiter_(settings.rate_limit, settings.rate_window_seconds),
      faults_(settings.faults, MonotonicMs()) {
  for (Feed feed : {Feed::kNfe, Feed::kCte, Feed::kNfse}) {
    for (int i = 0; i < settings.received; ++i)
      received_.Add(feed, settings.received_cnpj, {}, NowMs());
  }
}

HttpResponse ApiSimulator::Handle(const HttpRequest& request) {
  const std::string path(PathOf(request.target));
  if (path.rfind("/__sim/", 0) == 0) return Introspect(request, path);

  ++requests_;
  CountMethod(request.method);
  const FaultSettings faults = faults_.Get();
  const std::string token = TokenOf(request);
  HttpResponse response;
  if (token.empty() ||
      (!tokens_.empty() && !tokens_.contains(token) && !blocked_tokens_.contains(token))) {
    response = Error(401, "nao_autorizado", "Token de acesso inválido ou ausente");
  } else if (blocked_tokens_.contains(token)) {
    response = Error(403, "permissao_negada", "Acesso bloqueado para este token");
  } else {
    const RateLimiter::Decision decision = limiter_.Admit(token);
    if (!decision.allowed) {
      ++rate_limited_;
      constexpr char kMessage[] = "Limite de requisições excedido; aguarde o fim do período";
      response = Error(429, "limite_excedido", kMessage);
    } else {
      const FaultDraw draw = faults_.Draw(MonotonicMs());
      response = FaultResponse(draw, faults, [&] { return Route(request, token); });
    }
    if (decision.limited) {
      response.headers.emplace_back("Rate-Limit-Limit", std::to_string(decision.limit));
      response.headers.emplace_back("Rate-Limit-Remaining", std::to_string(decision.remaining));
      // A storm's 429 already says when to come back; the window's reset would contradict it.
      const bool has_reset =
          std::any_of(response.headers.begin(), response.headers.end(),
                      [](const auto& h) { return h.first == "Rate-Limit-Reset"; });
      if (!has_reset) {
        response.headers.emplace_back("Rate-Limit-Reset", std::to_string(decision.reset_seconds));
      }
    }
  }
  response.delay_ms += faults.latency_ms;
  return response;
}

void ApiSimulator::CountMethod(const std::string& method) {
  if (method == "GET") {
    ++gets_;
  } else if (method == "POST") {
    ++posts_;
  } else if (method == "DELETE") {
    ++deletes_;
  } else {
    ++other_methods_;
  }
}

HttpResponse ApiSimulator::Route(const HttpRequest& request, const std::string& token) {
  const std::vector<std::string_view> segments = Segments(PathOf(request.target));
  if (segments.size() < 2 || segments.size() > 4 || segments[0] != "v2") return RouteNotFound();
  if (const std::optional<Feed> feed = FeedForPath(segments[1])) {
    if (segments.size() == 2 && request.method == "GET") return ListReceived(request, *feed);
    return RouteNotFound();
  }
  const std::optional<DocType> type = ParseDocType(segments[1]);
  if (!type) return RouteNotFound();
  const std::string& method = request.method;

  if (segments.size() == 2) {
    return method == "POST" ? Emit(request, token, *type) : RouteNotFound();
  }
  // Every later operation lives under the consult path, where CT-e OS has none of its own.
  if (ConsultType(*type) != *type) return RouteNotFound();
  const std::string ref(segments[2]);
  if (segments.size() == 3) {
    if (method == "GET") {
      const std::optional<Document> doc = store_.Find(token, *type, ref, NowMs());
      return doc ? Json(200, ConsultBody(*doc)) : NotFound();
    }
    if (method == "DELETE") return Cancel(request, token, *type, ref);
    return RouteNotFound();
  }
  if (method != "POST") return RouteNotFound();
  if (segments[3] == "carta_correcao" && (*type == DocType::kNfe || *type == DocType::kCte)) {
    return CartaCorrecao(request, token, *type, ref);
  }
  if (segments[3] == "encerrar" && *type == DocType::kMdfe) return Close(request, token, ref);
  return RouteNotFound();
}

HttpResponse ApiSimulator::Emit(const HttpRequest& request, const std::string& token,
                                DocType type) {
  const std::optional<std::string> ref = QueryParam(request.target, "ref");
  if (!ref || ref->empty()) {
    return Error(400, "requisicao_invalida", "Parâmetro ref não informado");
  }
  if (!ValidRef(*ref)) {
    return Error(400, "requisicao_invalida",
                 "Parâmetro ref inválido: use apenas letras, números, '_' e '-'");
  }
  const std::optional<json::object> body = ParseObject(request.body);
  if (!body) return NotAnObject();

  const DocumentStore::Result result = store_.Submit(token, type, *ref, CnpjOf(*body), NowMs());
  const bool transport = ConsultType(type) == DocType::kCte || type == DocType::kMdfe;
  const std::string prefix = type == DocType::kMdfe ? "mdfe" : "cte";
  switch (result.outcome) {
    case DocumentStore::Outcome::kDone:
      if (IsSynchronous(type)) return Json(201, ConsultBody(result.document));
      return Json(202, AcceptedBody(result.document));
    case DocumentStore::Outcome::kProcessing:
      if (transport) {
        return Error(409, prefix + "_em_processamento", "O documento ainda está em processamento");
      }
      return Error(422, "em_processamento",
                   "A nota fiscal está em processamento; aguarde alguns minutos");
    default:
      if (transport) {
        return Error(409, prefix + "_ja_autorizado",
                     "Já existe um documento autorizado com esta "
                     "referência");
      }
      return Error(422, "nfe_autorizada", "A nota fiscal já foi autorizada com esta referência");
  }
}

HttpResponse ApiSimulator::Cancel(const HttpRequest& request, const std::string& token,
                                  DocType type, const std::string& ref) {
  const std::optional<json::object> body = ParseObject(request.body);
  if (!body) return NotAnObject();
  if (!TextBetween(*body, "justificativa", 15, 255)) {
    return Error(400, "requisicao_invalida",
                 "Parâmetro justificativa deve ter entre 15 e 255 caracteres");
  }
  const DocumentStore::Result result = store_.Cancel(token, type, ref, NowMs());
  switch (result.outcome) {
    case DocumentStore::Outcome::kDone:
      return Json(200, CancelBody(result.document));
    case DocumentStore::Outcome::kNotFound:
      return NotFound();
    case DocumentStore::Outcome::kCancelled:
      return AlreadyCancelled();
    default:
      return NotAuthorized(type);
  }
}

HttpResponse ApiSimulator::CartaCorrecao(const HttpRequest& request, const std::string& token,
                                         DocType type, const std::string& ref) {
  const std::optional<json::object> body = ParseObject(request.body);
  if (!body) return NotAnObject();
  const bool valid = type == DocType::kNfe ? TextBetween(*body, "correcao", 15, 1000)
                                           : TextBetween(*body, "campo_corrigido", 1, 1000) &&
                                                 TextBetween(*body, "valor_corrigido", 1, 1000);
  if (!valid) {
    return Error(400, "requisicao_invalida",
                 type == DocType::kNfe
                     ? "Parâmetro correcao deve ter entre 15 e 1000 caracteres"
                     : "Parâmetros campo_corrigido e valor_corrigido são obrigatórios");
  }
  const DocumentStore::Result result = store_.AddCartaCorrecao(token, type, ref, NowMs());
  switch (result.outcome) {
    case DocumentStore::Outcome::kDone:
      return Json(200, CartaCorrecaoBody(result.document));
    case DocumentStore::Outcome::kNotFound:
      return NotFound();
    case DocumentStore::Outcome::kCancelled:
      return Error(422, "already_processed", "A nota fiscal está cancelada");
    case DocumentStore::Outcome::kLimitReached:
      return Error(422, "requisicao_invalida", "Limite de 20 cartas de correção atingido");
    default:
      return NotAuthorized(type);
  }
}

HttpResponse ApiSimulator::Close(const HttpRequest& request, const std::string& token,
                                 const std::string& ref) {
  if (!ParseObject(request.body)) return NotAnObject();
  const DocumentStore::Result result = store_.Close(token, ref, NowMs());
  switch (result.outcome) {
    case DocumentStore::Outcome::kDone:
      return Json(200, CloseBody(result.document));
    case DocumentStore::Outcome::kNotFound:
      return NotFound();
    case DocumentStore::Outcome::kCancelled:
      return AlreadyCancelled();
    default:
      return NotAuthorized(DocType::kMdfe);
  }
}

HttpResponse ApiSimulator::ListReceived(const HttpRequest& request, Feed feed) {
  ++feed_requests_;
  const std::optional<std::string> cnpj = QueryParam(request.target, "cnpj");
  if (!cnpj || cnpj->empty()) {
    return Error(400, "requisicao_invalida", "Parâmetro cnpj não informado");
  }
  int64_t after = 0;
  if (const std::optional<std::string> versao = QueryParam(request.target, "versao")) {
    const auto [end, ec] = std::from_chars(versao->data(), versao->data() + versao->size(), after);
    if (ec != std::errc() || end != versao->data() + versao->size() || after < 0) {
      return Error(400, "requisicao_invalida", "Parâmetro versao deve ser um número inteiro");
    }
  }
  const ReceivedFeeds::Page page = received_.List(feed, *cnpj, after);
  json::array items;
  for (const json::object& item : page.items)
    items.push_back(item);
  HttpResponse response = Json(200, json::serialize(items));
  response.headers.emplace_back("X-Total-Count", std::to_string(page.total));
  response.headers.emplace_back("X-Max-Version", std::to_string(page.max_version));
  return response;
}

HttpResponse ApiSimulator::ControlReceived(const HttpRequest& request) {
  constexpr char kUsage[] =
      "Esperado {\"feed\": \"nfe\"|\"cte\"|\"nfse\", \"cnpj\": \"...\", \"chave\"?, "
      "\"count\"?: 1..10000, e os campos do item a definir}";
  std::optional<json::object> body = ParseObject(request.body);
  if (!body) return Error(400, "requisicao_invalida", kUsage);
  const json::value* feed_name = body->if_contains("feed");
  const json::value* cnpj = body->if_contains("cnpj");
  const std::optional<Feed> feed = feed_name != nullptr && feed_name->is_string()
                                       ? ParseFeed(feed_name->as_string())
                                       : std::nullopt;
  if (!feed || cnpj == nullptr || !cnpj->is_string() || cnpj->as_string().empty()) {
    return Error(400, "requisicao_invalida", kUsage);
  }
  int64_t count = 1;
  if (const json::value* value = body->if_contains("count")) {
    if (!value->is_int64() || value->as_int64() < 1 || value->as_int64() > 10000) {
      return Error(400, "requisicao_invalida", kUsage);
    }
    count = value->as_int64();
  }
  std::string chave;
  if (const json::value* value = body->if_contains("chave")) {
    if (!value->is_string() || value->as_string().empty() || count != 1) {
      return Error(400, "requisicao_invalida", kUsage);
    }
    chave = std::string(value->as_string());
  }
  const std::string cnpj_text(cnpj->as_string());
  json::object fields = *body;
  for (std::string_view control : {"feed", "cnpj", "chave", "count"})
    fields.erase(control);

  if (!chave.empty() && received_.Has(*feed, cnpj_text, chave)) {
    std::optional<json::object> changed =
        received_.Change(*feed, cnpj_text, chave, fields, NowMs());
    if (!changed) return NotFound();
    return Json(200, json::serialize(*changed));
  }
  if (!chave.empty()) fields[*feed == Feed::kNfe ? "chave_nfe" : "chave"] = chave;
  json::array added;
  for (int64_t i = 0; i < count; ++i) {
    std::optional<json::object> item = received_.Add(*feed, cnpj_text, fields, NowMs());
    if (!item) return Error(409, "requisicao_invalida", "Documento já existe com esta chave");
    added.push_back(std::move(*item));
  }
  if (count == 1) return Json(201, json::serialize(added.front()));
  return Json(201, json::serialize(added));
}

HttpResponse ApiSimulator::Introspect(const HttpRequest& request, const std::string& path) {
  if (path == "/__sim/stats" && request.method == "GET") return Json(200, StatsBody());
  if (path == "/__sim/documents" && request.method == "GET") return Json(200, DocumentsBody());
  if (path == "/__sim/faults" && request.method == "POST") {
    const std::optional<FaultSettings> settings = ParseFaults(request.body);
    if (!settings) {
      return Error(400, "requisicao_invalida",
                   "Esperado um objeto com probabilidades fault_* entre 0 e 1, latency_ms, "
                   "timeout_ms (>= 1), storm_ms e storm_every_ms entre 0 e 600000, e storm_ms "
                   "menor que storm_every_ms");
    }
    faults_.Set(*settings, MonotonicMs());
    return Json(200, json::serialize(FaultsJson(*settings)));
  }
  if (path == "/__sim/received" && request.method == "POST") return ControlReceived(request);
  if (path == "/__sim/faults" && request.method == "GET") {
    return Json(200, json::serialize(FaultsJson(faults_.Get())));
  }
  return RouteNotFound();
}

std::string ApiSimulator::StatsBody() {
  json::object faults;
  for (std::size_t kind = 1; kind < kFaultKinds; ++kind) {
    const Fault fault = static_cast<Fault>(kind);
    faults[FaultName(fault)] = faults_.injected(fault);
  }
  json::object tokens;
  for (const RateLimiter::TokenCounters& counters : limiter_.Counters()) {
    tokens[counters.token_hash] = {{"requests", counters.requests},
                                   {"rate_limited", counters.rate_limited}};
  }
  json::object stats{
      {"requests", requests_.load()},
      {"rate_limited", rate_limited_.load()},
      {"by_method", json::object{{"GET", gets_.load()},
                                 {"POST", posts_.load()},
                                 {"DELETE", deletes_.load()},
                                 {"other", other_methods_.load()}}},
      {"tokens", std::move(tokens)},
      {"documents", store_.size()},
      {"received_documents", received_.size()},
      {"feed_requests", feed_requests_.load()},
      {"faults_injected", faults_.injected()},
      {"faults", std::move(faults)},
      {"storms", faults_.storms()},
  };
  return json::serialize(stats);
}

std::string ApiSimulator::DocumentsBody() {
  json::array documents;
  for (const Document& doc : store_.Snapshot(NowMs())) {
    documents.push_back(json::object{{"token_hash", doc.token_hash},
                                     {"type", DocTypeName(doc.type)},
                                     {"ref", doc.ref},
                                     {"status", DocStatusName(doc.status)},
                                     {"attempt", doc.attempt},
                                     {"submitted_ms", doc.submitted_ms},
                                     {"finished_ms", doc.finished_ms}});
  }
  return json::serialize(documents);
}

}  // namespace gatilho::sim
