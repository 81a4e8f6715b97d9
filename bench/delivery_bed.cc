// The delivery benchmark's test bed; see delivery_bed.h.
#include "delivery_bed.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

namespace gatilho::bench {

namespace {

// The Standard Webhooks key the benchmark signs with. Signing is part of every delivery's cost,
// so the sinks carry a secret as a configured company would.
constexpr char kRawKey[] = "gatilho-delivery-bench-key-32byt";

std::string Secret() {
  const std::string_view raw(kRawKey, sizeof(kRawKey) - 1);
  std::string out((raw.size() + 2) / 3 * 4 + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(raw.data()),
                                      static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(written));
  return "whsec_" + out;
}

std::string Ref(size_t index) {
  char ref[32];
  std::snprintf(ref, sizeof(ref), "NF%06zu", index);
  return ref;
}

}  // namespace

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ObservedHttpClient::Start(HttpRequest request, Callback done) {
  std::string url = request.url;
  Endpoint& endpoint = endpoints_[url];
  ++endpoint.in_flight;
  endpoint.max_in_flight = std::max(endpoint.max_in_flight, endpoint.in_flight);
  inner_->Start(std::move(request),
                [this, url = std::move(url), done = std::move(done)](HttpResponse response) {
                  const bool delivered = response.status >= 200 && response.status < 300;
                  // Out of flight before the dispatcher hears of it, as the dispatcher counts it.
                  --endpoints_[url].in_flight;
                  done(std::move(response));
                  Endpoint& answered = endpoints_[url];
                  ++answered.answered;
                  if (delivered) {
                    ++answered.delivered;
                    answered.last_2xx_ns = SteadyNs();
                  }
                });
}

ObservedHttpClient::Endpoint ObservedHttpClient::endpoint(const std::string& url) const {
  auto found = endpoints_.find(url);
  return found == endpoints_.end() ? Endpoint{} : found->second;
}

Result<std::unique_ptr<Bed>> Bed::Create(const std::string& dir,
                                         std::map<std::string, DeliverySink> sinks,
                                         const HttpClient::Options& http_options) {
  std::unique_ptr<Bed> bed(new Bed());
  Store::Options store_options;
  store_options.dir = dir;
  Result<std::unique_ptr<Store>> store = Store::Open(store_options);
  if (!store.ok()) return store.status();
  bed->store_ = std::move(*store);
  Result<std::unique_ptr<HttpClient>> http = HttpClient::Create(http_options);
  if (!http.ok()) return http.status();
  bed->http_ = std::make_unique<ObservedHttpClient>(std::move(*http));
  // The daemon's own limit for these sinks (daemon/delivery_sinks.h), not the default.
  Dispatcher::Options options;
  options.max_in_flight = DispatcherSlotsFor(sinks);
  Result<std::unique_ptr<Dispatcher>> dispatcher = Dispatcher::Create(
      *bed->store_, *bed->http_, SystemClock::Instance(), std::move(sinks), options, nullptr);
  if (!dispatcher.ok()) return dispatcher.status();
  bed->dispatcher_ = std::move(*dispatcher);
  return bed;
}

Bed::~Bed() {
  http_.reset();
  dispatcher_.reset();
  store_.reset();
}

Status Bed::Wait(int64_t max_wait_ms) {
  const Clock& clock = SystemClock::Instance();
  Result<std::optional<int64_t>> wake = dispatcher_->NextWakeMs();
  if (!wake.ok()) return wake.status();
  int64_t timeout = max_wait_ms;
  if (wake->has_value()) timeout = std::min(timeout, **wake - clock.WallMs());
  return http_->Poll(static_cast<int>(std::max<int64_t>(timeout, 0)), nullptr);
}

DeliverySink WebhookSink(const std::string& url, size_t max_in_flight) {
  DeliverySink sink;
  sink.kind = DeliverySink::Kind::kWebhook;
  sink.webhook.url = url;
  sink.webhook.secrets = {Secret()};
  sink.webhook.timeout_ms = 15'000;  // delivery_timeout_seconds' default
  sink.gate.max_in_flight = max_in_flight;
  return sink;
}

std::string ConsultBody(const std::string& ref) {
  // Shaped like an authorised NF-e's consult answer: the fields an ERP reads, with values of
  // their real lengths.
  std::string body;
  body.reserve(768);
  body +=
      R"({"cnpj_emitente":"07504505000132","ref":")" + ref +
      R"(","status":"autorizado","status_sefaz":"100",)"
      R"("mensagem_sefaz":"Autorizado o uso da NF-e","chave_nfe":"NFe3524010750450500013255001)";
  body += ref.substr(ref.size() - 6) + R"(1000000001234","numero":")" + ref.substr(ref.size() - 6) +
          R"(","serie":"1",)";
  body += R"("caminho_xml_nota_fiscal":"/arquivos/07504505000132_000000/202401/XMLs/)" + ref +
          R"(-nfe.xml","caminho_danfe":"/arquivos/07504505000132_000000/202401/DANFEs/)" + ref +
          R"(.pdf","caminho_xml_carta_correcao":null,"protocolo":"135240000123456",)";
  body += R"("data_emissao":"2024-01-15T10:21:33-03:00","valor_total":"1523.90",)"
          R"("natureza_operacao":"Venda de mercadoria adquirida de terceiros",)"
          R"("requisicao_nota_fiscal":{"destinatario_cnpj":"11222333000181",)"
          R"("destinatario_nome":"Comercial Exemplo de Testes Ltda","itens":3}})";
  return body;
}

Result<std::vector<WatchUpdate>> PrepareEvents(Store& store, const std::string& company,
                                               size_t count, int64_t now_ms) {
  std::vector<WatchKey> keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i)
    keys.push_back(WatchKey{company, DocType::kNfe, Ref(i)});
  Result<std::vector<Store::AddOutcome>> added = store.AddWatches(keys, now_ms, now_ms);
  if (!added.ok()) return added.status();
  Result<std::vector<DueWatch>> watches = store.ListWatches(company, DocType::kNfe, count);
  if (!watches.ok()) return watches.status();
  if (watches->size() != count) {
    return Status::Internal("seeded " + std::to_string(count) + " watches of " + company +
                            " but the store lists " + std::to_string(watches->size()));
  }
  std::vector<WatchUpdate> updates;
  updates.reserve(count);
  for (DueWatch& watch : *watches) {
    EventRecord event;
    event.id = company + "-" + watch.key.ref + "-autorizado";
    event.key = watch.key;
    event.cycle = watch.record.cycle;
    event.type = "autorizado";
    event.payload = ConsultBody(watch.key.ref);
    event.created_ms = now_ms;
    event.next_attempt_ms = now_ms;
    WatchUpdate update;
    update.key = watch.key;
    update.expected_cycle = watch.record.cycle;
    update.record = std::move(watch.record);
    update.events.push_back(std::move(event));
    updates.push_back(std::move(update));
  }
  return updates;
}

Status ApplyInBatches(Store& store, const std::vector<WatchUpdate>& updates, size_t batch) {
  for (size_t begin = 0; begin < updates.size(); begin += batch) {
    const size_t end = std::min(updates.size(), begin + batch);
    std::vector<WatchUpdate> slice(updates.begin() + static_cast<ptrdiff_t>(begin),
                                   updates.begin() + static_cast<ptrdiff_t>(end));
    if (Status s = store.Apply(slice); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace gatilho::bench
