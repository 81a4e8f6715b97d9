#include "delivery/webhook_request.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>

namespace gatilho {
namespace {

constexpr int64_t kNowMs = 1'700'000'123'456;

EventRecord SampleEvent() {
  EventRecord event;
  event.seq = 12;
  event.id = "evt_3f2a9c";
  event.key = WatchKey{.company = "acme", .type = DocType::kNfse, .ref = "pedido-77"};
  event.cycle = 2;
  event.type = "autorizado";
  // Not valid JSON on purpose, with a NUL, CRLF and UTF-8: the body must not be re-encoded.
  event.payload = std::string("{\"status\": \"autorizado\",\r\n \"x\": \"\xc3\xa7\0\"}", 38);
  return event;
}

std::optional<std::string> FindHeader(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string Base64(const unsigned char* data, size_t size) {
  std::string out((size + 2) / 3 * 4 + 1, '\0');
  out.resize(static_cast<size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size))));
  return out;
}

TEST(WebhookRequest, BodyIsThePayloadByteForByte) {
  EventRecord event = SampleEvent();
  WebhookTarget target;
  target.url = "https://erp.example/hook";
  target.timeout_ms = 9'000;

  HttpRequest request = BuildWebhookRequest(event, target, nullptr, kNowMs);

  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://erp.example/hook");
  EXPECT_EQ(request.total_timeout_ms, 9'000);
  EXPECT_EQ(request.body.size(), event.payload.size());
  EXPECT_TRUE(request.body == event.payload);
  EXPECT_EQ(FindHeader(request, "content-type"), "application/json");
  EXPECT_EQ(FindHeader(request, "webhook-id"), "evt_3f2a9c");
  EXPECT_EQ(FindHeader(request, "webhook-timestamp"), "1700000123");
  EXPECT_EQ(FindHeader(request, "x-gatilho-event"), "autorizado");
  EXPECT_EQ(FindHeader(request, "x-gatilho-company"), "acme");
  EXPECT_EQ(FindHeader(request, "x-gatilho-document"), "nfse/pedido-77");
  EXPECT_EQ(FindHeader(request, "x-gatilho-cycle"), "2");
}

TEST(WebhookRequest, SignatureVerifiesWithAnIndependentHmac) {
  const std::string raw_key = "an independent 32-byte test key!";
  std::string secret =
      "whsec_" + Base64(reinterpret_cast<const unsigned char*>(raw_key.data()), raw_key.size());
  Result<Signer> signer = Signer::Create({secret});
  ASSERT_TRUE(signer.ok());
  EventRecord event = SampleEvent();

  HttpRequest request = BuildWebhookRequest(event, WebhookTarget{}, &*signer, kNowMs);

  // What a receiver does: HMAC the id, the timestamp and the body exactly as received.
  std::string signed_content = *FindHeader(request, "webhook-id") + "." +
                               *FindHeader(request, "webhook-timestamp") + "." + request.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), raw_key.data(), static_cast<int>(raw_key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
       &mac_size);
  EXPECT_EQ(FindHeader(request, "webhook-signature"), "v1," + Base64(mac, mac_size));
}

TEST(WebhookRequest, AuthorizationPairIsSent) {
  WebhookTarget target;
  target.url = "http://erp.local/in";
  target.authorization = "Bearer erp-secret";
  target.authorization_header = "X-Erp-Auth";

  HttpRequest request = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);

  EXPECT_EQ(FindHeader(request, "X-Erp-Auth"), "Bearer erp-secret");
  EXPECT_EQ(FindHeader(request, "Authorization"), std::nullopt);
}

TEST(WebhookRequest, NoSignatureHeaderWithoutSecrets) {
  Result<Signer> empty = Signer::Create({});
  ASSERT_TRUE(empty.ok());

  HttpRequest unsigned_request = BuildWebhookRequest(SampleEvent(), {}, &*empty, kNowMs);
  HttpRequest no_signer = BuildWebhookRequest(SampleEvent(), {}, nullptr, kNowMs);

  EXPECT_EQ(FindHeader(unsigned_request, "webhook-signature"), std::nullopt);
  EXPECT_EQ(FindHeader(no_signer, "webhook-signature"), std::nullopt);
  EXPECT_EQ(FindHeader(no_signer, "Authorization"), std::nullopt);
  EXPECT_EQ(FindHeader(no_signer, "webhook-id"), "evt_3f2a9c");
}

TEST(WebhookRequest, OnlyA2xxIsADelivery) {
  EXPECT_TRUE(IsDelivered(200));
  EXPECT_TRUE(IsDelivered(204));
  EXPECT_TRUE(IsDelivered(299));
  EXPECT_FALSE(IsDelivered(0));
  EXPECT_FALSE(IsDelivered(199));
  EXPECT_FALSE(IsDelivered(302));
  EXPECT_FALSE(IsDelivered(410));
  EXPECT_FALSE(IsDelivered(500));
}

TEST(WebhookRequest, ResponseExcerptIsShortAndPrintable) {
  EXPECT_EQ(ResponseExcerpt("line one\r\nline\ttwo\x7f"), "line one  line two ");
  EXPECT_EQ(ResponseExcerpt(std::string(500, 'a')), std::string(200, 'a'));
  // "ç" is two bytes; cutting at 200 would split the one that starts at byte 199.
  EXPECT_EQ(ResponseExcerpt(std::string(199, 'a') + "\xc3\xa7" + "tail"), std::string(199, 'a'));
  EXPECT_EQ(ResponseExcerpt(""), "");
}

}  // namespace
}  // namespace gatilho
