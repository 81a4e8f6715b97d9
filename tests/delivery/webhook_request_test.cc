#include "delivery/webhook_request.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

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

// An event as the envelope tests want it: an NF-e, with a JSON object for payload.
EventRecord EnvelopeEvent() {
  EventRecord event = SampleEvent();
  event.key.type = DocType::kNfe;
  event.created_ms = 1'700'000'000'123;  // 2023-11-14T22:13:20.123Z
  event.payload = R"({"status":"autorizado","ref":"pedido-77"})";
  return event;
}

WebhookTarget EnvelopeTarget() {
  WebhookTarget target;
  target.url = "https://erp.example/hook";
  target.payload = PayloadFormat::kEnvelope;
  return target;
}

TEST(WebhookRequest, EnvelopeWrapsThePayloadInStandardWebhooksForm) {
  EventRecord event = EnvelopeEvent();
  const std::string expected = R"({"type":"nfe.autorizado","timestamp":"2023-11-14T22:13:20.123Z",)"
                               R"("data":{"status":"autorizado","ref":"pedido-77"}})";

  HttpRequest request = BuildWebhookRequest(event, EnvelopeTarget(), nullptr, kNowMs);

  EXPECT_EQ(WebhookBody(event, PayloadFormat::kEnvelope), expected);
  EXPECT_EQ(request.body, expected);
  EXPECT_EQ(FindHeader(request, "content-type"), "application/json");
  EXPECT_EQ(FindHeader(request, "webhook-id"), "evt_3f2a9c");
  EXPECT_TRUE(WebhookBody(event, PayloadFormat::kRaw) == event.payload);
}

TEST(WebhookRequest, EnvelopeKeepsAnObjectPayloadByteForByte) {
  EventRecord event = SampleEvent();  // nfse; not valid JSON, with a NUL, CRLF and UTF-8
  event.created_ms = 951'782'400'007;

  std::string body = WebhookBody(event, PayloadFormat::kEnvelope);

  std::string expected =
      R"({"type":"nfse.autorizado","timestamp":"2000-02-29T00:00:00.007Z","data":)" +
      event.payload + "}";
  EXPECT_TRUE(body == expected) << body;
  // Leading JSON whitespace does not hide an object.
  event.payload = " \r\n\t{\"a\":1}\n";
  EXPECT_EQ(WebhookBody(event, PayloadFormat::kEnvelope),
            R"({"type":"nfse.autorizado","timestamp":"2000-02-29T00:00:00.007Z","data":)"
            " \r\n\t{\"a\":1}\n}");
}

TEST(WebhookRequest, EnvelopeIsTheSameOnEveryAttempt) {
  EventRecord event = EnvelopeEvent();
  Result<Signer> signer = Signer::Create({"whsec_" + std::string("c2VjcmV0LWtleS1ieXRlcw==")});
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();

  HttpRequest first = BuildWebhookRequest(event, EnvelopeTarget(), &*signer, kNowMs);
  HttpRequest retry = BuildWebhookRequest(event, EnvelopeTarget(), &*signer, kNowMs + 3'600'000);

  EXPECT_EQ(first.body, retry.body);
  EXPECT_EQ(FindHeader(first, "webhook-timestamp"), "1700000123");
  EXPECT_EQ(FindHeader(retry, "webhook-timestamp"), "1700003723");
  EXPECT_EQ(FindHeader(first, "webhook-id"), FindHeader(retry, "webhook-id"));
}

TEST(WebhookRequest, SignatureCoversTheEnvelopeAsSent) {
  Result<Signer> signer = Signer::Create({"whsec_" + std::string("c2VjcmV0LWtleS1ieXRlcw==")});
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EventRecord event = EnvelopeEvent();

  HttpRequest request = BuildWebhookRequest(event, EnvelopeTarget(), &*signer, kNowMs);

  ASSERT_NE(request.body, event.payload);
  EXPECT_EQ(FindHeader(request, "webhook-signature"),
            signer->Sign("evt_3f2a9c", kNowMs / 1000, request.body));
  EXPECT_NE(FindHeader(request, "webhook-signature"),
            signer->Sign("evt_3f2a9c", kNowMs / 1000, event.payload));
}

TEST(WebhookRequest, EnvelopeCarriesAPayloadThatIsNoObjectAsAString) {
  EventRecord event = EnvelopeEvent();
  const std::string prefix = R"({"type":"nfe.autorizado","timestamp":"2023-11-14T22:13:20.123Z",)";
  auto data_of = [&](std::string payload) {
    event.payload = std::move(payload);
    std::string body = WebhookBody(event, PayloadFormat::kEnvelope);
    EXPECT_EQ(body.substr(0, prefix.size()), prefix);
    EXPECT_EQ(body.back(), '}');
    // What follows "data": and comes before the closing brace.
    return body.substr(prefix.size() + 7, body.size() - prefix.size() - 8);
  };

  EXPECT_EQ(data_of("[1,2]"), R"("[1,2]")");
  EXPECT_EQ(data_of(""), R"("")");
  EXPECT_EQ(data_of("   "), R"("   ")");
  EXPECT_EQ(data_of(R"(<nfe a="1">\</nfe>)"), R"("<nfe a=\"1\">\\</nfe>")");
  constexpr char kControls[] = "tab\tcr\rlf\nnul\0bel\x07 del\x7f";
  EXPECT_EQ(data_of(std::string(kControls, sizeof kControls - 1)),
            R"("tab\tcr\rlf\nnul\u0000bel\u0007 del)"
            "\x7f\"");
  // Valid UTF-8 stays as it is; bytes that are not (a lone continuation byte, a truncated
  // sequence, an overlong '/', a surrogate) become U+FFFD, so the envelope stays valid JSON.
  EXPECT_EQ(data_of("a\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80z"),
            "\"a\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80z\"");
  EXPECT_EQ(data_of("\x80|\xc3|\xc0\xaf|\xed\xa0\x80"),
            R"("\ufffd|\ufffd|\ufffd\ufffd|\ufffd\ufffd\ufffd")");
}

TEST(WebhookRequest, CustomHeadersFollowGatilhosOwn) {
  WebhookTarget target;
  target.headers = {{"X-Tenant", "acme-01"}, {"x-gatilho-event", "custom"}, {"X-Empty", ""}};

  HttpRequest request = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);

  ASSERT_GE(request.headers.size(), 3u);
  std::vector<std::pair<std::string, std::string>> last(request.headers.end() - 3,
                                                        request.headers.end());
  EXPECT_EQ(last, target.headers);
  // gatilho's own header comes first and stays.
  EXPECT_EQ(FindHeader(request, "x-gatilho-event"), "autorizado");
  EXPECT_EQ(request.headers[request.headers.size() - 4].first, "x-gatilho-cycle");
}

TEST(WebhookRequest, BasicAuthIsSplitAtTheFirstColon) {
  WebhookTarget target;
  target.basic_auth = "erp-user:pa:ss";

  HttpRequest request = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);
  target.basic_auth = "only-user";
  HttpRequest no_password = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);
  HttpRequest none = BuildWebhookRequest(SampleEvent(), WebhookTarget{}, nullptr, kNowMs);

  EXPECT_EQ(request.basic_user, "erp-user");
  EXPECT_EQ(request.basic_password, "pa:ss");
  // libcurl writes the header from the credentials; none is added by hand.
  EXPECT_EQ(FindHeader(request, "Authorization"), std::nullopt);
  EXPECT_EQ(no_password.basic_user, "only-user");
  EXPECT_EQ(no_password.basic_password, "");
  EXPECT_EQ(none.basic_user, std::nullopt);
  EXPECT_EQ(none.basic_password, "");
}

TEST(WebhookRequest, BearerTokenIsSentAsAuthorization) {
  WebhookTarget target;
  target.bearer_token = "erp-token-123";

  HttpRequest request = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);

  EXPECT_EQ(FindHeader(request, "Authorization"), "Bearer erp-token-123");
  EXPECT_EQ(request.basic_user, std::nullopt);
}

TEST(WebhookRequest, TlsAndProxySettingsArePassedToTheRequest) {
  WebhookTarget target;
  target.client_cert = "/etc/gatilho/tls/client.pem";
  target.client_key = "/etc/gatilho/tls/client.key";
  target.ca_bundle = "/etc/gatilho/tls/erp-ca.pem";
  target.proxy = "socks5h://proxy.internal:1080";

  HttpRequest request = BuildWebhookRequest(SampleEvent(), target, nullptr, kNowMs);
  HttpRequest defaults = BuildWebhookRequest(SampleEvent(), WebhookTarget{}, nullptr, kNowMs);

  EXPECT_EQ(request.client_cert, "/etc/gatilho/tls/client.pem");
  EXPECT_EQ(request.client_key, "/etc/gatilho/tls/client.key");
  EXPECT_EQ(request.ca_bundle, "/etc/gatilho/tls/erp-ca.pem");
  EXPECT_EQ(request.proxy, "socks5h://proxy.internal:1080");
  EXPECT_EQ(defaults.client_cert, "");
  EXPECT_EQ(defaults.client_key, "");
  EXPECT_EQ(defaults.ca_bundle, "");
  EXPECT_EQ(defaults.proxy, "");
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
