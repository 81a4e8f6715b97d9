#include "delivery/webhook_request.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/document_type.h"

namespace gatilho {
namespace {

constexpr size_t kExcerptBytes = 200;

// The length of the valid UTF-8 sequence that starts text[at], or 0 when none does (a stray
// continuation byte, a truncated or overlong sequence, a surrogate, or past U+10FFFF).
size_t Utf8SequenceLength(std::string_view text, size_t at) {
  unsigned char lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  size_t length = (lead & 0xE0) == 0xC0   ? 2
                  : (lead & 0xF0) == 0xE0 ? 3
                  : (lead & 0xF8) == 0xF0 ? 4
                                          : 0;
  if (length == 0 || text.size() - at < length) return 0;
  constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};  // below: overlong
  uint32_t code_point = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    unsigned char next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < kSmallest[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

// Appends `text` to `out` as a JSON string; bytes that are not valid UTF-8 become U+FFFD, so the
// result is valid JSON whatever `text` holds.
void AppendJsonString(std::string& out, std::string_view text) {
  constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t at = 0; at < text.size();) {
    char c = text[at];
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      size_t length = Utf8SequenceLength(text, at);
      if (length == 0) {
        out += "\\ufffd";
        ++at;
      } else {
        out.append(text.substr(at, length));
        at += length;
      }
      continue;
    }
    ++at;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// True when `payload` is meant as a JSON object: its first byte that is not JSON whitespace is
// '{'. It is not parsed: the envelope carries it as it is.
bool LooksLikeJsonObject(std::string_view payload) {
  size_t first = payload.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && payload[first] == '{';
}

}  // namespace

std::string WebhookBody(const EventRecord& event, PayloadFormat format) {
  if (format == PayloadFormat::kRaw) return event.payload;
  std::string body;
  body.reserve(event.payload.size() + 96);
  body += "{\"type\":";
  AppendJsonString(body, std::string(DocTypeName(event.key.type)) + "." + event.type);
  body += ",\"timestamp\":\"";
  body += FormatRfc3339(event.created_ms);
  body += "\",\"data\":";
  if (LooksLikeJsonObject(event.payload)) {
    body += event.payload;
  } else {
    AppendJsonString(body, event.payload);
  }
  body += '}';
  return body;
}

HttpRequest BuildWebhookRequest(const EventRecord& event, const WebhookTarget& target,
                                const Signer* signer, int64_t now_wall_ms) {
  HttpRequest request;
  request.method = "POST";
  request.url = target.url;
  // Built from the event alone, so a retry sends (and signs) the same bytes.
  request.body = WebhookBody(event, target.payload);
  request.total_timeout_ms = target.timeout_ms;
  if (!target.basic_auth.empty()) {
    size_t colon = target.basic_auth.find(':');
    request.basic_user = target.basic_auth.substr(0, colon);
    if (colon != std::string::npos) request.basic_password = target.basic_auth.substr(colon + 1);
  }
  request.client_cert = target.client_cert;
  request.client_key = target.client_key;
  request.ca_bundle = target.ca_bundle;
  request.proxy = target.proxy;

  // Standard Webhooks signs whole seconds; the receiver compares them with its own clock.
  int64_t timestamp_seconds = now_wall_ms / 1000;
  auto& headers = request.headers;
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("webhook-id", event.id);
  headers.emplace_back("webhook-timestamp", std::to_string(timestamp_seconds));
  if (signer != nullptr && !signer->empty()) {
    // Over the body exactly as sent: the receiver verifies the bytes it gets.
    headers.emplace_back("webhook-signature",
                         signer->Sign(event.id, timestamp_seconds, request.body));
  }
  if (!target.authorization.empty()) {
    headers.emplace_back(target.authorization_header, target.authorization);
  }
  if (!target.bearer_token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + target.bearer_token);
  }
  headers.emplace_back("x-gatilho-event", event.type);
  headers.emplace_back("x-gatilho-company", event.key.company);
  headers.emplace_back("x-gatilho-document",
                       std::string(DocTypeName(event.key.type)) + "/" + event.key.ref);
  headers.emplace_back("x-gatilho-cycle", std::to_string(event.cycle));
  headers.insert(headers.end(), target.headers.begin(), target.headers.end());
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
