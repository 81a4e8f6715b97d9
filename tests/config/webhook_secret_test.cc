#include "config/webhook_secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Base64 of 32 and of 16 bytes.
constexpr char kKey32[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kKey16[] = "AAECAwQFBgcICQoLDA0ODw==";

TEST(CheckWebhookSecret, AcceptsAStandardWebhooksSecret) {
  EXPECT_TRUE(CheckWebhookSecret(std::string("whsec_") + kKey32).ok());
}

TEST(CheckWebhookSecret, AcceptsTheSmallestAndLargestKeys) {
  EXPECT_TRUE(CheckWebhookSecret("whsec_" + std::string(32, 'A')).ok());  // 24 bytes
  EXPECT_TRUE(CheckWebhookSecret("whsec_" + std::string(88, 'A').replace(86, 2, "==")).ok());
}

TEST(CheckWebhookSecret, RejectsAMissingPrefixWithoutQuotingTheSecret) {
  Status status = CheckWebhookSecret(kKey32);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("must start with 'whsec_'"));
  EXPECT_THAT(status.message(), Not(HasSubstr("AAECAwQF")));
}

TEST(CheckWebhookSecret, RejectsWhatIsNotBase64) {
  Status status = CheckWebhookSecret("whsec_not-base64-at-all!");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("standard base64"));
  EXPECT_THAT(status.message(), Not(HasSubstr("not-base64")));
}

TEST(CheckWebhookSecret, RejectsMisplacedPadding) {
  EXPECT_FALSE(CheckWebhookSecret("whsec_A===" + std::string(32, 'A')).ok());
}

TEST(CheckWebhookSecret, RejectsAKeyShorterThan24Bytes) {
  Status status = CheckWebhookSecret(std::string("whsec_") + kKey16);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("decodes to 16 bytes; it must hold 24 to 64 bytes"));
}

TEST(CheckWebhookSecret, RejectsAKeyLongerThan64Bytes) {
  Status status = CheckWebhookSecret("whsec_" + std::string(92, 'A'));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("decodes to 69 bytes"));
}

}  // namespace
}  // namespace gatilho
