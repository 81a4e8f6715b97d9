#include "config/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr ConfigKey kKeys[] = {
    {"name"}, {"colour"}, {"webhook.url"}, {"webhook.secret", /*repeatable=*/true}};

TEST(ConfigFile, ReadsKeysWithTheirSectionAndLine) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf",
                                   "# comment\n"
                                   "name = Acme  # trailing comment\n"
                                   "\n"
                                   "[webhook]\n"
                                   "url=https://erp/hook\r\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(errors.size(), 0u);
  ASSERT_NE(file->Find("name"), nullptr);
  EXPECT_EQ(file->Find("name")->value, "Acme");
  EXPECT_EQ(file->Find("name")->line, 2);
  ASSERT_NE(file->Find("webhook.url"), nullptr);
  EXPECT_EQ(file->Find("webhook.url")->value, "https://erp/hook");
  EXPECT_EQ(file->Locate(*file->Find("webhook.url")), path + ":5");
  EXPECT_EQ(file->Find("colour"), nullptr);
}

TEST(ConfigFile, RepeatableKeysKeepEveryValueInOrder) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "[webhook]\nsecret = one\nsecret = two\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_EQ(errors.size(), 0u);
  std::vector<const ConfigEntry*> secrets = file->FindAll("webhook.secret");
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0]->value, "one");
  EXPECT_EQ(secrets[1]->line, 3);
}

TEST(ConfigFile, RepeatedKeyIsAnErrorNamingBothLines) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "name = a\ncolour = red\nname = b\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->Find("name")->value, "a");
  EXPECT_EQ(errors.ToStatus().message(),
            path + ":3: name is set more than once (first at line 1); keep only one");
}

TEST(ConfigFile, UnknownKeyFarFromAnyKnownOneListsThemAll) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "flavour = mint\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_EQ(errors.ToStatus().message(),
            path +
                ":1: unknown key 'flavour'; known keys: name, colour, webhook.url, "
                "webhook.secret");
}

TEST(ConfigFile, SectionKeyOutsideItsSectionIsPointedOut) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "url = https://erp/hook\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_THAT(errors.ToStatus().message(),
              HasSubstr(":1: unknown key 'url'; 'url' belongs in the [webhook] section"));
}

TEST(ConfigFile, MisspelledSectionSuggestsTheRightKey) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "[webhooks]\nurl = https://erp/hook\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_THAT(errors.ToStatus().message(),
              HasSubstr(":2: unknown key 'webhooks.url'; did you mean 'webhook.url'?"));
}

TEST(ConfigFile, KeyUnderTheWrongSectionNamesItsSection) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "[delivery]\nurl = https://erp/hook\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  EXPECT_THAT(errors.ToStatus().message(),
              HasSubstr(":2: unknown key 'delivery.url'; 'url' belongs in the [webhook] section"));
}

TEST(ConfigFile, AttemptToTurnOffTlsVerificationSaysItCannotAndPointsToCaBundle) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf",
                                   "verify_tls = false\n"
                                   "[webhook]\n"
                                   "insecure = true\n"
                                   "ssl_verify_peer = 0\n"
                                   "tls_skip_verify = yes\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  ASSERT_EQ(errors.size(), 4u);
  std::string message = errors.ToStatus().message();
  for (const char* located :
       {":1: unknown key 'verify_tls'", ":3: unknown key 'webhook.insecure'",
        ":4: unknown key 'webhook.ssl_verify_peer'", ":5: unknown key 'webhook.tls_skip_verify'"}) {
    EXPECT_THAT(message,
                HasSubstr(path + located + "; TLS certificate verification cannot be turned off"));
  }
  EXPECT_THAT(message, HasSubstr("set ca_bundle = <that CA's PEM file>"));
}

TEST(ConfigFile, SecretWrittenWithoutItsKeyIsNotEchoed) {
  testing::TempDir dir;
  std::string path =
      dir.WriteFile("a.conf", "[webhook]\nwhsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX==\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_TRUE(file.ok());
  std::string message = errors.ToStatus().message();
  EXPECT_THAT(message, HasSubstr(path + ":2: this line is not a known setting"));
  EXPECT_THAT(message, Not(HasSubstr("AAECAwQF")));
}

TEST(ConfigFile, LineWithoutEqualsSignIsRejectedWithoutEchoingIt) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("a.conf", "name = a\ntok-1234567890secret\n");
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(path, kKeys, errors);

  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr(path + ":2: this line is not 'key = value'"));
  EXPECT_THAT(file.status().message(), Not(HasSubstr("tok-1234567890secret")));
}

TEST(ConfigFile, UnreadableFileIsAnIoErrorNamingIt) {
  testing::TempDir dir;
  ConfigErrors errors;

  Result<ConfigFile> file = ConfigFile::Read(dir.Sub("missing.conf"), kKeys, errors);

  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), Status::Code::kIoError);
  EXPECT_THAT(file.status().message(),
              HasSubstr("cannot open " + dir.Sub("missing.conf") + ": No such file or directory"));
}

}  // namespace
}  // namespace gatilho
