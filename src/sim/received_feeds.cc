#include "sim/received_feeds.h"

#include <boost/json.hpp>
#include <ctime>

namespace gatilho::sim {
namespace {

namespace json = boost::json;

// The issuers the generated documents come from: a handful is enough to look real.
constexpr std::string_view kIssuers[][2] = {
    {"Distribuidora Paulista de Papel Ltda", "11222333000181"},
    {"Transportes Serra Azul S.A.", "22333444000190"},
    {"Servicos de Limpeza Horizonte ME", "33444555000102"},
};

std::string Digits(int64_t value, int width) {
  std::string text = std::to_string(value < 0 ? -value : value);
  if (static_cast<int>(text.size()) >= width) return text.substr(text.size() - width);
  return std::string(width - text.size(), '0') + text;
}

// The date and time of `ms` as the API writes it, in Brasília time (UTC-3, no DST since 2019).
std::string IsoTime(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000 - 3 * 3600);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S-03:00", &parts);
  return text;
}

// A 44-digit access key of model `model` ("55" NF-e, "57" CT-e), unique per `n`.
std::string AccessKey(std::string_view issuer_cnpj, std::string_view model, int64_t n) {
  std::string key = "35" + std::string("2612") + std::string(issuer_cnpj) + std::string(model) +
                    "001" + Digits(n, 9) + "1" + Digits(n * 7919 + 13, 8);
  int sum = 0;
  for (char c : key)
    sum += c - '0';
  return key + std::to_string(sum % 10);
}

json::object GeneratedNfe(const std::string& cnpj, int64_t n, int64_t now_ms) {
  const auto& issuer = kIssuers[n % 3];
  return {{"nome_emitente", issuer[0]},
          {"documento_emitente", issuer[1]},
          {"cnpj_destinatario", cnpj},
          {"chave_nfe", AccessKey(issuer[1], "55", n)},
          {"valor_total", std::to_string(100 + n % 900) + ".50"},
          {"data_emissao", IsoTime(now_ms)},
          {"situacao", "autorizada"},
          {"manifestacao_destinatario", nullptr},
          {"nfe_completa", false},
          {"tipo_nfe", "1"},
          {"versao", 0},
          {"digest_value", "dGVzdGUtZGlnZXN0LQ" + Digits(n, 6) + "="},
          {"numero_carta_correcao", nullptr},
          {"carta_correcao", nullptr},
          {"data_carta_correcao", nullptr},
          {"data_cancelamento", nullptr},
          {"justificativa_cancelamento", nullptr}};
}

json::object GeneratedCte(const std::string& cnpj, int64_t n, int64_t now_ms) {
  const auto& issuer = kIssuers[1];
  return {{"nome_emitente", issuer[0]},
          {"documento_emitente", issuer[1]},
          {"cnpj_destinatario", cnpj},
          {"chave", AccessKey(issuer[1], "57", n)},
          {"valor_total", std::to_string(50 + n % 500) + ".00"},
          {"data_emissao", IsoTime(now_ms)},
          {"situacao", "autorizada"},
          {"tipo_cte", "0"},
          {"versao", 0},
          {"digest_value", "Y3RlLWRpZ2VzdC0" + Digits(n, 6) + "="},
          {"carta_correcao", nullptr},
          {"data_carta_correcao", nullptr},
          {"data_cancelamento", nullptr},
          {"justificativa_cancelamento", nullptr}};
}

json::object GeneratedNfse(const std::string& cnpj, int64_t n, int64_t now_ms) {
  const auto& issuer = kIssuers[2];
  const std::string chave = "3550308" + std::string(issuer[1]) + Digits(n, 9);
  return {{"chave", chave},
          {"versao", 0},
          {"status", "autorizado"},
          {"numero", std::to_string(n)},
          {"numero_rps", std::to_string(1000 + n)},
          {"serie_rps", "1"},
          {"data_emissao", IsoTime(now_ms)},
          {"data_emissao_rps", IsoTime(now_ms).substr(0, 10)},
          {"codigo_verificacao", "AB" + Digits(n * 31, 6)},
          {"valor_servicos", std::to_string(200 + n % 800) + ".00"},
          {"documento_prestador", issuer[1]},
          {"nome_prestador", issuer[0]},
          {"inscricao_municipal_prestador", "1234567"},
          {"nome_municipio", "São Paulo"},
          {"sigla_uf", "SP"},
          {"codigo_municipio", "3550308"},
          {"documento_tomador", cnpj},
          {"url", "https://nfe.prefeitura.sp.gov.br/nfe.aspx?n=" + std::to_string(n)},
          {"url_xml", "/notas_fiscais_servico_recebidas/" + chave + ".xml"}};
}

std::string_view KeyField(Feed feed) {
  return feed == Feed::kNfe ? "chave_nfe" : "chave";
}

}  // namespace

std::optional<Feed> FeedForPath(std::string_view segment) {
  if (segment == "nfes_recebidas") return Feed::kNfe;
  if (segment == "ctes_recebidas") return Feed::kCte;
  if (segment == "nfses_recebidas") return Feed::kNfse;
  return std::nullopt;
}

std::optional<Feed> ParseFeed(std::string_view name) {
  if (name == "nfe") return Feed::kNfe;
  if (name == "cte") return Feed::kCte;
  if (name == "nfse") return Feed::kNfse;
  return std::nullopt;
}

std::string_view FeedName(Feed feed) {
  switch (feed) {
    case Feed::kNfe:
      return "nfe";
    case Feed::kCte:
      return "cte";
    case Feed::kNfse:
      return "nfse";
  }
  return "nfe";
}

std::string ReceivedFeeds::KeyOf(Feed feed, std::string_view chave) {
  return std::string(FeedName(feed)) + "/" + std::string(chave);
}

std::optional<json::object> ReceivedFeeds::Add(Feed feed, const std::string& cnpj,
                                               const json::object& fields, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t n = ++generated_;
  json::object item = feed == Feed::kNfe   ? GeneratedNfe(cnpj, n, now_ms)
                      : feed == Feed::kCte ? GeneratedCte(cnpj, n, now_ms)
                                           : GeneratedNfse(cnpj, n, now_ms);
  for (const auto& field : fields)
    item[field.key()] = field.value();
  const json::value& key_value = item[KeyField(feed)];
  if (!key_value.is_string() || key_value.as_string().empty()) return std::nullopt;
  const std::string chave(key_value.as_string());

  Account& account = accounts_[cnpj];
  if (account.versao_of.contains(KeyOf(feed, chave))) return std::nullopt;
  const int64_t versao = ++account.last_versao;
  item["versao"] = versao;
  account.versao_of[KeyOf(feed, chave)] = versao;
  account.by_versao.emplace(versao, Stored{feed, chave, item});
  ++size_;
  return item;
}

std::optional<json::object> ReceivedFeeds::Change(Feed feed, const std::string& cnpj,
                                                  const std::string& chave,
                                                  const json::object& fields, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto account_it = accounts_.find(cnpj);
  if (account_it == accounts_.end()) return std::nullopt;
  Account& account = account_it->second;
  auto versao_it = account.versao_of.find(KeyOf(feed, chave));
  if (versao_it == account.versao_of.end()) return std::nullopt;
  auto stored_it = account.by_versao.find(versao_it->second);
  Stored stored = std::move(stored_it->second);
  account.by_versao.erase(stored_it);

  json::object& item = stored.item;
  for (const auto& field : fields) {
    if (field.key() == KeyField(feed) || field.key() == "versao") continue;
    item[field.key()] = field.value();
  }
  const json::value* state = item.if_contains(feed == Feed::kNfse ? "status" : "situacao");
  const bool cancelled = state != nullptr && state->is_string() &&
                         (state->as_string() == "cancelada" || state->as_string() == "cancelado");
  if (cancelled && feed != Feed::kNfse && item["data_cancelamento"].is_null()) {
    item["data_cancelamento"] = IsoTime(now_ms);
    if (!fields.contains("justificativa_cancelamento")) {
      item["justificativa_cancelamento"] = "Cancelamento a pedido do emitente";
    }
  }
  const int64_t versao = ++account.last_versao;
  item["versao"] = versao;
  versao_it->second = versao;
  json::object answer = item;
  account.by_versao.emplace(versao, std::move(stored));
  return answer;
}

bool ReceivedFeeds::Has(Feed feed, const std::string& cnpj, const std::string& chave) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(cnpj);
  return it != accounts_.end() && it->second.versao_of.contains(KeyOf(feed, chave));
}

ReceivedFeeds::Page ReceivedFeeds::List(Feed feed, const std::string& cnpj, int64_t after) const {
  Page page;
  page.max_version = after;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(cnpj);
  if (it == accounts_.end()) return page;
  for (auto doc = it->second.by_versao.upper_bound(after); doc != it->second.by_versao.end();
       ++doc) {
    if (doc->second.feed != feed) continue;
    ++page.total;
    if (page.items.size() < kPageSize) {
      page.items.push_back(doc->second.item);
      page.max_version = doc->first;
    }
  }
  return page;
}

int64_t ReceivedFeeds::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

}  // namespace gatilho::sim
