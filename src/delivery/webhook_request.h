// Webhook requests: the body a delivery carries (raw, or in the Standard Webhooks envelope; the
// file sink writes the same body), the HTTP request that delivers one outbox event to an ERP's
// URL with the target's credentials, headers, TLS and proxy settings, and how the ERP's answer is
// read back.
//
// Pure functions of their arguments; the caller sends the request with the net module's
// HttpClient. Threads: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "delivery/signer.h"
#include "net/http_client.h"

namespace gatilho {

// What a delivery's body holds.
enum class PayloadFormat {
  kRaw,       // event.payload, byte for byte
  kEnvelope,  // the Standard Webhooks envelope around it (see WebhookBody)
};

// Where and how a company's events are posted.
struct WebhookTarget {
  std::string url;
  std::vector<std::string> secrets;  // "whsec_..." secrets, turned into a Signer by the caller
  PayloadFormat payload = PayloadFormat::kRaw;
  // Custom static headers, sent as-is after gatilho's own (they replace none of them).
  std::vector<std::pair<std::string, std::string>> headers;
  // The ERP's credentials; at most one of the three is meant to be set.
  std::string authorization;  // sent as-is in authorization_header when not empty
  std::string authorization_header = "Authorization";
  std::string basic_auth;    // "user:password" (split at the first ':'): HTTP Basic when not empty
  std::string bearer_token;  // "Authorization: Bearer <token>" when not empty
  // TLS and proxy, passed to HttpRequest as they are (see there); empty for libcurl's defaults.
  std::string client_cert;  // PEM file: client certificate for mutual TLS
  std::string client_key;   // PEM file: its private key
  std::string ca_bundle;    // PEM file: CAs to trust instead of the system's
  std::string proxy;        // proxy URL
  int64_t timeout_ms = 15'000;
};

// The body delivered for `event`, built from the event alone, so every attempt (and every sink:
// the file sink writes the same bytes) gets the same bytes:
//   kRaw: event.payload, byte for byte.
//   kEnvelope: {"type":"<doctype>.<event type>","timestamp":"<created>","data":<payload>}
//     with no whitespace, e.g. {"type":"nfe.autorizado","timestamp":"2023-11-14T22:13:20.123Z",
//     "data":{...}}: <doctype> is DocTypeName(event.key.type), <created> event.created_ms as
//     RFC 3339 UTC with milliseconds. When the payload is a JSON object (its first byte that
//     is not a space, tab, CR or LF is '{') it is the data byte for byte; otherwise the data is
//     a JSON string of it, any byte that is not valid UTF-8 becoming U+FFFD.
std::string WebhookBody(const EventRecord& event, PayloadFormat format);

// A POST of WebhookBody(event, target.payload) to target.url, with the headers, in this order:
//   content-type: application/json
//   webhook-id: event.id; webhook-timestamp: now_wall_ms in seconds;
//   webhook-signature: when `signer` is non-null and not empty, over the body as sent;
//   target.authorization_header: target.authorization, when the latter is set;
//   Authorization: "Bearer " + target.bearer_token, when the latter is set;
//   x-gatilho-event: event.type; x-gatilho-company: event.key.company;
//   x-gatilho-document: "<type>/<ref>"; x-gatilho-cycle: event.cycle;
//   then target.headers, as given.
// target.basic_auth becomes the request's basic_user and basic_password (libcurl writes that
// authorization header); client_cert, client_key, ca_bundle and proxy are copied to the request,
// and target.timeout_ms is its total timeout.
// target.secrets is not read: the signer is built once per target, not once per event.
HttpRequest BuildWebhookRequest(const EventRecord& event, const WebhookTarget& target,
                                const Signer* signer, int64_t now_wall_ms);

// True when the ERP took the event: any 2xx. A 3xx is not followed and so is not a delivery.
bool IsDelivered(int http_status);

// The first 200 bytes of an answer body, with control characters turned into spaces and never
// ending inside a UTF-8 sequence, fit for the attempt log and for human output.
std::string ResponseExcerpt(std::string_view body);

}  // namespace gatilho
