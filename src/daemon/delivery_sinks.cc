#include "daemon/delivery_sinks.h"

#include <algorithm>

#include "core/url.h"

namespace gatilho {

std::map<std::string, DeliverySink> DeliverySinks(const Config& config) {
  std::map<std::string, DeliverySink> sinks;
  for (const auto& [id, company] : config.companies) {
    DeliverySink sink;
    const WebhookConfig& webhook = company.webhook;
    if (company.sink == SinkKind::kFile) {
      sink.kind = DeliverySink::Kind::kFile;
      sink.file.dir = company.file.dir;
      sink.file.retention_ms = int64_t{company.file.retention_days} * 24 * 3600 * 1000;
    } else {
      WebhookTarget& target = sink.webhook;
      target.url = webhook.url;
      target.secrets = webhook.secrets;
      target.payload = webhook.payload == WebhookPayload::kEnvelope ? PayloadFormat::kEnvelope
                                                                    : PayloadFormat::kRaw;
      target.headers = webhook.headers;
      target.authorization = webhook.authorization;
      target.authorization_header = webhook.authorization_header;
      target.basic_auth = webhook.basic_auth;
      target.bearer_token = webhook.bearer_token;
      target.client_cert = webhook.client_cert;
      target.client_key = webhook.client_key;
      target.ca_bundle = webhook.ca_bundle;
      target.proxy = webhook.proxy;
      target.timeout_ms = int64_t{config.global.delivery_timeout_seconds} * 1000;
      sink.gate.max_in_flight = static_cast<size_t>(std::max(1, webhook.max_in_flight));
      sink.gate.rate_per_second = webhook.rate_per_second;
      sink.catch_up_latest = webhook.catch_up_latest;
    }
    sinks.emplace(id, std::move(sink));
  }
  return sinks;
}

DeliveryConnections ConnectionsFor(const std::map<std::string, DeliverySink>& sinks) {
  std::map<std::string, size_t> cap_by_endpoint;
  std::map<std::string, std::string> host_by_endpoint;
  for (const auto& [id, sink] : sinks) {
    if (sink.kind != DeliverySink::Kind::kWebhook) continue;
    std::string key = Dispatcher::EndpointKey(sink);
    // Companies sharing an endpoint share its gate, whose cap is the first company's.
    if (cap_by_endpoint.count(key) != 0) continue;
    cap_by_endpoint[key] = std::max<size_t>(1, sink.gate.max_in_flight);
    host_by_endpoint[key] =
        UrlHost(sink.webhook.proxy.empty() ? sink.webhook.url : sink.webhook.proxy);
  }
  DeliveryConnections needs;
  std::map<std::string, size_t> by_host;
  for (const auto& [key, cap] : cap_by_endpoint) {
    needs.total += cap;
    needs.per_host = std::max(needs.per_host, by_host[host_by_endpoint[key]] += cap);
  }
  return needs;
}

HttpClient::Options HttpOptionsFor(int poll_concurrency,
                                   const std::map<std::string, DeliverySink>& sinks) {
  constexpr size_t kSpareConnections = 8;
  const size_t polls = static_cast<size_t>(std::max(1, poll_concurrency));
  DeliveryConnections deliveries = ConnectionsFor(sinks);
  HttpClient::Options options;
  // With fewer connections than polls in flight libcurl queues the rest behind them; with a
  // per-host limit below an ERP host's caps a slow endpoint holds its neighbours' connections.
  options.max_connections_per_host =
      std::max({options.max_connections_per_host, polls, deliveries.per_host});
  options.max_total_connections = polls + deliveries.total + kSpareConnections;
  return options;
}

size_t DispatcherSlotsFor(const std::map<std::string, DeliverySink>& sinks) {
  // A file sink's write is synchronous and over before the next starts: one slot covers them.
  return ConnectionsFor(sinks).total + 1;
}

}  // namespace gatilho
