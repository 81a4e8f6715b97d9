// Webhook requests: the HTTP request that delivers one outbox event to an ERP's URL, and how
// the ERP's answer is read back.
//
// Pure functions of their arguments; the caller sends the request with the net module's
// HttpClient. Threads: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "delivery/signer.h"
#include "net/http_client.h"

namespace gatilho {

// Where and how a company's events are posted.
struct WebhookTarget {
  std::string url;
  std::vector<std::string> secrets;  // "whsec_..." secrets, turned into a Signer by the caller
  std::string authorization;         // sent as-is in authorization_header when not empty
  std::string authorization_header = "Authorization";
  int64_t timeout_ms = 15'000;
};

// A POST of event.payload, byte for byte, to target.url, with the headers:
//   content-type: application/json
//   webhook-id: event.id; webhook-timestamp: now_wall_ms in seconds;
//   webhook-signature: when `signer` is non-null and not empty;
//   target.authorization_header: target.authorization, when the latter is set;
//   x-gatilho-event: event.type; x-gatilho-company: event.key.company;
//   x-gatilho-document: "<type>/<ref>"; x-gatilho-cycle: event.cycle.
// target.secrets is not read: the signer is built once per target, not once per event.
HttpRequest BuildWebhookRequest(const EventRecord& event, const WebhookTarget& target,
                                const Signer* signer, int64_t now_wall_ms);

// True when the ERP took the event: any 2xx. A 3xx is not followed and so is not a delivery.
bool IsDelivered(int http_status);

// The first 200 bytes of an answer body, with control characters turned into spaces and never
// ending inside a UTF-8 sequence, fit for the attempt log and for human output.
std::string ResponseExcerpt(std::string_view body);

}  // namespace gatilho
