#include "delivery/webhook_request.h"

#include <algorithm>
#include <string>

#include "core/document_type.h"

namespace gatilho {
namespace {

constexpr size_t kExcerptBytes = 200;

}  // namespace

HttpRequest BuildWebhookRequest(const EventRecord& event, const WebhookTarget& target,
                                const Signer* signer, int64_t now_wall_ms) {
  HttpRequest request;
  request.method = "POST";
  request.url = target.url;
  request.body = event.payload;
  request.total_timeout_ms = target.timeout_ms;

  // Standard Webhooks signs whole seconds; the receiver compares them with its own clock.
  int64_t timestamp_seconds = now_wall_ms / 1000;
  auto& headers = request.headers;
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("webhook-id", event.id);
  headers.emplace_back("webhook-timestamp", std::to_string(timestamp_seconds));
  if (signer != nullptr && !signer->empty()) {
    headers.emplace_back("webhook-signature",
                         signer->Sign(event.id, timestamp_seconds, event.payload));
  }
  if (!target.authorization.empty()) {
    headers.emplace_back(target.authorization_header, target.authorization);
  }
  headers.emplace_back("x-gatilho-event", event.type);
  headers.emplace_back("x-gatilho-company", event.key.company);
  headers.emplace_back("x-gatilho-document",
                       std::string(DocTypeName(event.key.type)) + "/" + event.key.ref);
  headers.emplace_back("x-gatilho-cycle", std::to_string(event.cycle));
  return request;
}

bool IsDelivered(int http_status) {
  return http_status >= 200 && http_status <= 299;
}

std::string ResponseExcerpt(std::string_view body) {
  size_t size = std::min(body.size(), kExcerptBytes);
  // Step back over continuation bytes so a cut multi-byte character does not leave invalid
  // UTF-8 behind for the JSON and terminal output that show the excerpt.
  if (size < body.size()) {
    while (size > 0 && (static_cast<unsigned char>(body[size]) & 0xC0) == 0x80)
      --size;
  }
  std::string excerpt(body.substr(0, size));
  for (char& c : excerpt) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return excerpt;
}

}  // namespace gatilho
