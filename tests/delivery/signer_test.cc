#include "delivery/signer.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace gatilho {
namespace {

// From the Standard Webhooks specification's test vector.
constexpr char kSpecSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSpecId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr char kSpecPayload[] = R"({"test": 2432232314})";
constexpr char kSpecSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(Signer, MatchesStandardWebhooksTestVector) {
  Result<Signer> signer = Signer::Create({kSpecSecret});
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();

  EXPECT_FALSE(signer->empty());
  EXPECT_EQ(signer->Sign(kSpecId, kSpecTimestamp, kSpecPayload), kSpecSignature);
}

TEST(Signer, RotationSignsWithEverySecret) {
  // "c2Vjb25kLWtleQ==" is base64 of "second-key": padded, so the padding handling is exercised.
  Result<Signer> signer = Signer::Create({"whsec_c2Vjb25kLWtleQ==", kSpecSecret});
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  Result<Signer> second_only = Signer::Create({"whsec_c2Vjb25kLWtleQ=="});
  ASSERT_TRUE(second_only.ok());

  std::string header = signer->Sign(kSpecId, kSpecTimestamp, kSpecPayload);

  EXPECT_EQ(header,
            second_only->Sign(kSpecId, kSpecTimestamp, kSpecPayload) + " " + kSpecSignature);
  EXPECT_NE(second_only->Sign(kSpecId, kSpecTimestamp, kSpecPayload), kSpecSignature);
}

TEST(Signer, PaddedLongKeyMatchesAnIndependentHmac) {
  // HMAC hashes keys longer than its 64-byte block, so a stray zero byte left by the base64
  // padding would change the signature; with a short key the zero padding would hide it.
  const std::string raw_key(65, 'k');
  std::string encoded((raw_key.size() + 2) / 3 * 4 + 1, '\0');
  encoded.resize(static_cast<size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(raw_key.data()), 65)));
  ASSERT_TRUE(encoded.ends_with("="));
  Result<Signer> signer = Signer::Create({"whsec_" + encoded});
  ASSERT_TRUE(signer.ok());

  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  const std::string content = "id.1.body";
  HMAC(EVP_sha256(), raw_key.data(), static_cast<int>(raw_key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_size);
  std::string expected((mac_size + 2) / 3 * 4 + 1, '\0');
  expected.resize(static_cast<size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()), mac, mac_size)));

  EXPECT_EQ(signer->Sign("id", 1, "body"), "v1," + expected);
}

TEST(Signer, NoSecretsMakeAnEmptySigner) {
  Result<Signer> signer = Signer::Create({});
  ASSERT_TRUE(signer.ok());

  EXPECT_TRUE(signer->empty());
  EXPECT_EQ(signer->Sign("id", 1, "body"), "");
}

TEST(Signer, RejectsSecretWithoutPrefix) {
  Result<Signer> signer = Signer::Create({kSpecSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});

  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(signer.status().message().find("#2"), std::string::npos) << signer.status().message();
  EXPECT_EQ(signer.status().message().find("MfKQ9r8G"), std::string::npos);
}

TEST(Signer, BadBase64IsRejectedWithoutEchoingTheSecret) {
  for (std::string body : {"not*base64!", "abc", "ab=c", "", "===="}) {
    std::string secret = "whsec_" + body;

    Result<Signer> signer = Signer::Create({secret});

    ASSERT_FALSE(signer.ok()) << body;
    EXPECT_EQ(signer.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(signer.status().message().find("#1"), std::string::npos);
    if (!body.empty()) {
      EXPECT_EQ(signer.status().message().find(body), std::string::npos)
          << signer.status().message();
    }
  }
}

}  // namespace
}  // namespace gatilho
