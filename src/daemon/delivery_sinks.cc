#include "daemon/delivery_sinks.h"

#include <algorithm>

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

}  // namespace gatilho
