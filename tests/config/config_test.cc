#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// A company file that passes every check; tests append to it or replace one line.
std::string ValidCompany(const std::string& extra = "") {
  return "cnpj = 11.222.333/0001-81\n"
         "token = tok-abc123\n"
         "environment = homologacao\n" +
         extra +
         "[webhook]\n"
         "url = https://erp.example.com/hook\n";
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteGlobal(const std::string& extra = "") {
    return dir_.WriteFile("gatilho.conf", "data_dir = data\ncompanies_dir = companies\n" + extra);
  }
  std::string WriteCompany(const std::string& id, const std::string& contents) {
    return dir_.WriteFile("companies/" + id + ".conf", contents);
  }

  testing::TempDir dir_;
};

TEST_F(ConfigTest, LoadsMinimalValidSetup) {
  std::string path = WriteGlobal();
  WriteCompany("acme", ValidCompany());

  Result<Config> config = LoadConfig(path);

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->global.config_file, path);
  EXPECT_EQ(config->global.log_level, "info");
  EXPECT_DOUBLE_EQ(config->global.budget_share, 0.8);
  EXPECT_EQ(config->global.budget_floor, 2);
  EXPECT_EQ(config->global.delivery_timeout_seconds, 15);
  EXPECT_EQ(config->global.retry_horizon_hours, 72);
  EXPECT_EQ(config->global.poll_concurrency, 16);
  ASSERT_EQ(config->companies.size(), 1u);
  const CompanyConfig* acme = config->Find("acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->id, "acme");
  EXPECT_EQ(acme->cnpj, "11222333000181");
  EXPECT_EQ(acme->token, "tok-abc123");
  EXPECT_EQ(acme->environment, "homologacao");
  EXPECT_EQ(acme->base_url, "https://homologacao.focusnfe.com.br");
  EXPECT_EQ(acme->types.size(), kAllDocTypes.size());
  EXPECT_EQ(acme->events.size(), kEventNames.size());
  EXPECT_EQ(acme->webhook.url, "https://erp.example.com/hook");
  EXPECT_TRUE(acme->webhook.secrets.empty());
  EXPECT_EQ(acme->webhook.authorization_header, "Authorization");
  EXPECT_EQ(acme->source_file, dir_.Sub("companies/acme.conf"));
  EXPECT_EQ(config->Find("other"), nullptr);
}

TEST_F(ConfigTest, ReadsEveryGlobalSetting) {
  std::string path = WriteGlobal(
      "log_level = debug\nbudget_share = 0.5\ndelivery_timeout_seconds = 30\n"
      "retry_horizon_hours = 24\npoll_concurrency = 4\nbudget_floor = 0\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->log_level, "debug");
  EXPECT_DOUBLE_EQ(global->budget_share, 0.5);
  EXPECT_EQ(global->delivery_timeout_seconds, 30);
  EXPECT_EQ(global->retry_horizon_hours, 24);
  EXPECT_EQ(global->poll_concurrency, 4);
  EXPECT_EQ(global->budget_floor, 0);
}

TEST_F(ConfigTest, RelativeDirsAreResolvedAgainstTheConfigFile) {
  std::string path =
      dir_.WriteFile("etc/gatilho.conf", "data_dir = ../var/lib\ncompanies_dir = companies/\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->data_dir, dir_.Sub("var/lib"));
  EXPECT_EQ(global->companies_dir, dir_.Sub("etc/companies"));
}

TEST_F(ConfigTest, AbsoluteDirsAreKept) {
  std::string path =
      dir_.WriteFile("gatilho.conf", "data_dir = /var/lib/gatilho\ncompanies_dir = /srv/c\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->data_dir, "/var/lib/gatilho");
  EXPECT_EQ(global->companies_dir, "/srv/c");
}

TEST_F(ConfigTest, MissingDataDirNamesTheKeyAndFile) {
  std::string path = dir_.WriteFile("gatilho.conf", "companies_dir = companies\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  EXPECT_EQ(global.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(global.status().message(), HasSubstr(path + ": data_dir is missing; add data_dir"));
}

TEST_F(ConfigTest, MissingGlobalFileIsAnIoErrorNamingThePath) {
  std::string path = dir_.Sub("nowhere.conf");

  Result<Config> config = LoadConfig(path);

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kIoError);
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

TEST_F(ConfigTest, OutOfRangeGlobalNumbersAreRejected) {
  std::string path = WriteGlobal(
      "budget_share = 1.5\ndelivery_timeout_seconds = 0\nretry_horizon_hours = soon\n"
      "poll_concurrency = 2000\nlog_level = verbose\nbudget_floor = -1\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  std::string message = global.status().message();
  EXPECT_THAT(message, HasSubstr(":3: budget_share must be a number from 0.05 to 1.0"));
  EXPECT_THAT(message, HasSubstr(":4: delivery_timeout_seconds must be a whole number from 1"));
  EXPECT_THAT(message, HasSubstr(":5: retry_horizon_hours must be a whole number from 1"));
  EXPECT_THAT(message, HasSubstr(":6: poll_concurrency must be a whole number from 1 to 1024"));
  EXPECT_THAT(message, HasSubstr(":7: log_level must be one of trace, debug, info"));
  EXPECT_THAT(message, HasSubstr(":8: budget_floor must be a whole number from 0 to 100"));
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosestKnownOne) {
  std::string path = WriteCompany("acme", ValidCompany("evnets = autorizado\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":4: unknown key 'evnets'; did you mean 'events'?"));
}

TEST_F(ConfigTest, TokenAndTokenFileAreExclusive) {
  std::string path = WriteCompany("acme", ValidCompany("token_file = acme.token\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":4: token and token_file are both set (token at line 2)"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("tok-abc123")));
}

TEST_F(ConfigTest, MissingTokenIsAnError) {
  std::string path = WriteCompany(
      "acme", "cnpj = 11222333000181\nenvironment = producao\n[webhook]\nurl = http://erp/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(), HasSubstr(path + ": the API token is missing"));
}

TEST_F(ConfigTest, TokenFileIsReadAndTrimmed) {
  dir_.WriteFile("companies/secrets/acme.token", "  tok-from-file\n\n");
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\n"
                                  "token_file = secrets/acme.token\n"
                                  "environment = producao\n"
                                  "[webhook]\nurl = https://erp.example.com/hook\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->token, "tok-from-file");
}

TEST_F(ConfigTest, EmptyTokenFileIsAnError) {
  dir_.WriteFile("companies/acme.token", " \n");
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\ntoken_file = acme.token\n"
                                  "environment = producao\n[webhook]\nurl = http://e/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":2: token_file " + dir_.Sub("companies/acme.token") + " is empty"));
}

TEST_F(ConfigTest, TokenFileHoldingMoreThanTheTokenIsAnError) {
  dir_.WriteFile("companies/acme.token", "token = tok-abc\n");
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\ntoken_file = acme.token\n"
                                  "environment = producao\n[webhook]\nurl = http://e/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":2: token_file " + dir_.Sub("companies/acme.token") +
                        " holds more than one word"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("tok-abc")));
}

TEST_F(ConfigTest, MissingTokenFileNamesThePath) {
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\ntoken_file = acme.token\n"
                                  "environment = producao\n[webhook]\nurl = http://e/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Status::Code::kIoError);
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":2: token_file: cannot open " + dir_.Sub("companies/acme.token")));
}

TEST_F(ConfigTest, BadCnpjCheckDigitsAreRejected) {
  std::string path = WriteCompany("acme",
                                  "cnpj = 11.222.333/0001-82\ntoken = t\nenvironment = producao\n"
                                  "[webhook]\nurl = https://erp.example.com/hook\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(company.status().message(),
              HasSubstr(":1: cnpj '11.222.333/0001-82' has wrong check digits"));
}

TEST_F(ConfigTest, SecretWithoutWhsecPrefixIsRejectedWithoutEchoingIt) {
  std::string path =
      WriteCompany("acme", ValidCompany() + "secret = c3VwZXJzZWNyZXRrZXlzdXBlcnNlY3JldGtleTEy\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":6: webhook.secret must start with 'whsec_'"));
  EXPECT_THAT(message, HasSubstr("openssl rand -base64 32"));
  EXPECT_THAT(message, Not(HasSubstr("c3VwZXJzZWNyZXRrZXlzdXBlcnNlY3JldGtleTEy")));
}

TEST_F(ConfigTest, SeveralSecretsAreKeptInOrderForRotation) {
  std::string other = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
  std::string path =
      WriteCompany("acme", ValidCompany() + "secret = " + kSecret + "\nsecret = " + other + "\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_THAT(company->webhook.secrets, ::testing::ElementsAre(kSecret, other));
}

TEST_F(ConfigTest, EnvironmentSelectsTheApi) {
  std::string path = WriteCompany(
      "acme",
      "cnpj = 11222333000181\ntoken = t\nenvironment = producao\n[webhook]\nurl = http://e/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->base_url, "https://api.focusnfe.com.br");
}

TEST_F(ConfigTest, BaseUrlOverridesEnvironment) {
  std::string path = WriteCompany("acme", ValidCompany("base_url = http://127.0.0.1:8080/\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(company->environment, "homologacao");
}

TEST_F(ConfigTest, BaseUrlMustBeHttp) {
  std::string path = WriteCompany("acme", ValidCompany("base_url = ftp://user:pw@host\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(), HasSubstr(":4: base_url must be an http:// or https://"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("user:pw")));
}

TEST_F(ConfigTest, WithoutEnvironmentOrBaseUrlTheApiIsMissing) {
  std::string path =
      WriteCompany("acme", "cnpj = 11222333000181\ntoken = t\n[webhook]\nurl = http://e/\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(), HasSubstr("add environment = producao"));
}

TEST_F(ConfigTest, TypesAndEventsRestrictWhatIsWatched) {
  std::string path =
      WriteCompany("acme", ValidCompany("types = nfe, nfse,\nevents = autorizado,cancelado\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->types, (std::set<DocType>{DocType::kNfe, DocType::kNfse}));
  EXPECT_EQ(company->events, (std::set<std::string>{"autorizado", "cancelado"}));
}

TEST_F(ConfigTest, UnknownDocumentTypeListsTheKnownOnes) {
  std::string path = WriteCompany("acme", ValidCompany("types = nfe,nfx\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":4: types names an unknown document type 'nfx'; known types: " +
                        std::string(DocTypeNames())));
}

TEST_F(ConfigTest, UnknownEventListsTheKnownOnes) {
  std::string path = WriteCompany("acme", ValidCompany("events = autorizada\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":4: events names an unknown event 'autorizada'; known events: "
                        "autorizado, erro_autorizacao"));
}

TEST_F(ConfigTest, ErrorsCarryLineNumbers) {
  std::string path = WriteCompany("acme",
                                  "# Acme Ltda\n\ncnpj = 123\ntoken = t\n"
                                  "environment = producao\n[webhook]\n"
                                  "url = erp.example.com\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(), HasSubstr(path + ":3: cnpj '123' has 3 digits"));
  EXPECT_THAT(company.status().message(), HasSubstr(path + ":7: webhook.url must be an http://"));
}

TEST_F(ConfigTest, AllErrorsOfAFileAreReported) {
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000180\n"
                                  "environment = staging\n"
                                  "colour = blue\n"
                                  "[webhook]\n"
                                  "secret = plain\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(":1: cnpj"));
  EXPECT_THAT(message, HasSubstr(": the API token is missing"));
  EXPECT_THAT(message, HasSubstr(":2: environment must be producao or homologacao"));
  EXPECT_THAT(message, HasSubstr(":3: unknown key 'colour'"));
  EXPECT_THAT(message, HasSubstr(": webhook.url is missing"));
  EXPECT_THAT(message, HasSubstr(":5: webhook.secret must start with 'whsec_'"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 5);
}

TEST_F(ConfigTest, ErrorsOfTheGlobalFileAndOfEveryCompanyAreReportedTogether) {
  std::string path = WriteGlobal("poll_concurrency = 0\n");
  WriteCompany("acme", ValidCompany("types = nfx\n"));
  WriteCompany("beta", ValidCompany("cnpj = 1\n"));

  Result<Config> config = LoadConfig(path);

  ASSERT_FALSE(config.ok());
  std::string message = config.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":3: poll_concurrency"));
  EXPECT_THAT(message, HasSubstr(dir_.Sub("companies/acme.conf") + ":4: types"));
  EXPECT_THAT(message,
              HasSubstr(dir_.Sub("companies/beta.conf") + ":4: cnpj is set more than once"));
}

TEST_F(ConfigTest, CompanyIdMustBeAValidFileStem) {
  std::string path = WriteCompany("Acme Ltda", ValidCompany());

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(
      company.status().message(),
      HasSubstr(path + ": the company id 'Acme Ltda' (the file name without .conf) must "
                       "match [a-z0-9][a-z0-9_-]{0,63}; rename the file to acme_ltda.conf"));
}

TEST_F(ConfigTest, FilesNotEndingInConfAreIgnored) {
  std::string path = WriteGlobal();
  WriteCompany("acme", ValidCompany());
  dir_.WriteFile("companies/acme.conf.sample", "not = a company\n");
  dir_.WriteFile("companies/README", "notes\n");

  Result<Config> config = LoadConfig(path);

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->companies.size(), 1u);
  EXPECT_NE(config->Find("acme"), nullptr);
}

TEST_F(ConfigTest, EmptyCompaniesDirIsAnError) {
  std::string path = WriteGlobal();
  dir_.WriteFile("companies/acme.conf.sample", "cnpj = 11222333000181\n");

  Result<Config> config = LoadConfig(path);

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr(path + ":2: companies_dir " + dir_.Sub("companies") +
                        " holds no company files; add one <company-id>.conf per company"));
}

TEST_F(ConfigTest, MissingCompaniesDirIsAnIoErrorNamingIt) {
  std::string path = WriteGlobal();

  Result<Config> config = LoadConfig(path);

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Status::Code::kIoError);
  EXPECT_THAT(config.status().message(), HasSubstr("cannot list " + dir_.Sub("companies")));
}

TEST_F(ConfigTest, AuthorizationAndItsHeaderAreRead) {
  std::string path = WriteCompany(
      "acme",
      ValidCompany() + "authorization = Bearer erp-key\nauthorization_header = X-Api-Key\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.authorization, "Bearer erp-key");
  EXPECT_EQ(company->webhook.authorization_header, "X-Api-Key");
}

TEST_F(ConfigTest, AuthorizationHeaderWithoutValueIsAnError) {
  std::string path = WriteCompany("acme", ValidCompany() + "authorization_header = X-Api-Key\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":6: webhook.authorization_header is set but webhook.authorization is "
                        "not"));
}

TEST_F(ConfigTest, AuthorizationHeaderMustBeAHeaderName) {
  std::string path = WriteCompany(
      "acme", ValidCompany() + "authorization = k\nauthorization_header = X Api: Key\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":7: webhook.authorization_header must be an HTTP header name"));
}

TEST_F(ConfigTest, KeyBelowTheWebhookSectionIsPointedOut) {
  std::string path = WriteCompany("acme", ValidCompany() + "types = nfe\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(":6: unknown key 'webhook.types'; 'types' must come before the "
                        "[webhook] section"));
}

}  // namespace
}  // namespace gatilho
