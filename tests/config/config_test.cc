#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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
  EXPECT_EQ(config->global.operator_url, "");
  EXPECT_EQ(config->global.operator_secret, "");
  EXPECT_EQ(config->global.breaker_alert_minutes, 15);
  EXPECT_EQ(config->global.attempt_retention_days, 30);
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
  EXPECT_EQ(acme->sink, SinkKind::kWebhook);
  EXPECT_EQ(acme->webhook.payload, WebhookPayload::kRaw);
  EXPECT_TRUE(acme->webhook.headers.empty());
  EXPECT_EQ(acme->webhook.basic_auth, "");
  EXPECT_EQ(acme->webhook.bearer_token, "");
  EXPECT_EQ(acme->webhook.client_cert, "");
  EXPECT_EQ(acme->webhook.client_key, "");
  EXPECT_EQ(acme->webhook.ca_bundle, "");
  EXPECT_EQ(acme->webhook.proxy, "");
  EXPECT_EQ(acme->webhook.max_in_flight, 8);
  EXPECT_DOUBLE_EQ(acme->webhook.rate_per_second, 0);
  EXPECT_FALSE(acme->webhook.catch_up_latest);
  EXPECT_EQ(acme->file.dir, "");
  EXPECT_EQ(acme->file.retention_days, 30);
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

TEST_F(ConfigTest, SpoolDirIsOffByDefaultAndResolvedLikeDataDir) {
  Result<GlobalConfig> off = LoadGlobalConfig(WriteGlobal());
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(off->spool_dir, "");

  Result<GlobalConfig> empty = LoadGlobalConfig(WriteGlobal("spool_dir =\n"));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->spool_dir, "");

  Result<GlobalConfig> relative = LoadGlobalConfig(WriteGlobal("spool_dir = spool/in/\n"));
  ASSERT_TRUE(relative.ok()) << relative.status().ToString();
  EXPECT_EQ(relative->spool_dir, dir_.Sub("spool/in"));
}

TEST_F(ConfigTest, SpoolDirThatIsDataDirIsRejectedWithTheLine) {
  std::string path = WriteGlobal("spool_dir = ./data\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  EXPECT_EQ(global.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(global.status().message(),
              HasSubstr(path + ":3: spool_dir " + dir_.Sub("data") + " is also data_dir"));
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

// --- Global: operator events and retention ---------------------------------------------------

TEST_F(ConfigTest, ReadsTheOperatorEndpointAndRetention) {
  std::string path = WriteGlobal(std::string("operator_url = https://ops.example.com/hook\n") +
                                 "operator_secret = " + kSecret +
                                 "\nbreaker_alert_minutes = 60\nattempt_retention_days = 365\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->operator_url, "https://ops.example.com/hook");
  EXPECT_EQ(global->operator_secret, kSecret);
  EXPECT_EQ(global->breaker_alert_minutes, 60);
  EXPECT_EQ(global->attempt_retention_days, 365);
}

TEST_F(ConfigTest, StoreMaxMibCapsTheStoreAndIsValidated) {
  Result<GlobalConfig> defaults = LoadGlobalConfig(WriteGlobal(""));
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->store_max_mib, kMaxStoreMib);

  Result<GlobalConfig> capped = LoadGlobalConfig(WriteGlobal("store_max_mib = 512\n"));
  ASSERT_TRUE(capped.ok()) << capped.status().ToString();
  EXPECT_EQ(capped->store_max_mib, 512);

  Result<GlobalConfig> zero = LoadGlobalConfig(WriteGlobal("store_max_mib = 0\n"));
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(),
              HasSubstr(":3: store_max_mib must be a whole number from 1 to 1048576"));
  Result<GlobalConfig> huge = LoadGlobalConfig(WriteGlobal("store_max_mib = 1048577\n"));
  ASSERT_FALSE(huge.ok());
}

TEST_F(ConfigTest, OperatorUrlWithoutSecretIsUnsigned) {
  std::string path = WriteGlobal("operator_url = http://127.0.0.1:9000/ops\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->operator_url, "http://127.0.0.1:9000/ops");
  EXPECT_EQ(global->operator_secret, "");
}

TEST_F(ConfigTest, OperatorUrlMustBeHttpAndIsNotEchoed) {
  std::string path = WriteGlobal("operator_url = ftp://ops:hunter2@ops.example.com\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  EXPECT_THAT(global.status().message(),
              HasSubstr(path + ":3: operator_url must be an http:// or https:// URL"));
  EXPECT_THAT(global.status().message(), Not(HasSubstr("hunter2")));
}

TEST_F(ConfigTest, BadOperatorSecretIsRejectedWithoutEchoingIt) {
  std::string path = WriteGlobal(
      "operator_url = https://ops.example.com/\n"
      "operator_secret = c3VwZXJzZWNyZXRrZXlzdXBlcnNlY3JldGtleTEy\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  std::string message = global.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":4: operator_secret must start with 'whsec_'"));
  EXPECT_THAT(message, Not(HasSubstr("c3VwZXJzZWNyZXRrZXlzdXBlcnNlY3JldGtleTEy")));
}

TEST_F(ConfigTest, OperatorSecretWithoutOperatorUrlIsAnError) {
  std::string path = WriteGlobal(std::string("operator_secret = ") + kSecret + "\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  std::string message = global.status().message();
  EXPECT_THAT(message,
              HasSubstr(path + ":3: operator_secret is set but operator_url is not; it only "
                               "signs what is sent there: add operator_url"));
  EXPECT_THAT(message, Not(HasSubstr(std::string(kSecret).substr(6))));
}

TEST_F(ConfigTest, OutOfRangeAlertAndRetentionAreRejected) {
  std::string path = WriteGlobal("breaker_alert_minutes = 0\nattempt_retention_days = 3651\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  std::string message = global.status().message();
  EXPECT_THAT(message,
              HasSubstr(":3: breaker_alert_minutes must be a whole number from 1 to 10080"));
  EXPECT_THAT(message,
              HasSubstr(":4: attempt_retention_days must be a whole number from 1 to 3650"));
}

TEST_F(ConfigTest, AlertAndRetentionBoundsAreAccepted) {
  std::string path = WriteGlobal("breaker_alert_minutes = 10080\nattempt_retention_days = 1\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->breaker_alert_minutes, 10080);
  EXPECT_EQ(global->attempt_retention_days, 1);
}

// --- [webhook]: delivery options ------------------------------------------------------------

TEST_F(ConfigTest, ReadsEveryDeliveryOption) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "payload = envelope\n"
                                              "header = X-Tenant: acme\n"
                                              "header =   x-erp-route :  fiscal/in  \n"
                                              "bearer_token = erp-bearer-1\n"
                                              "proxy = socks5h://proxy.internal:1080\n"
                                              "max_in_flight = 32\n"
                                              "rate_per_second = 2.5\n"
                                              "catch_up = latest\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  const WebhookConfig& webhook = company->webhook;
  EXPECT_EQ(webhook.payload, WebhookPayload::kEnvelope);
  EXPECT_THAT(
      webhook.headers,
      ::testing::ElementsAre(std::pair<std::string, std::string>("X-Tenant", "acme"),
                             std::pair<std::string, std::string>("x-erp-route", "fiscal/in")));
  EXPECT_EQ(webhook.bearer_token, "erp-bearer-1");
  EXPECT_EQ(webhook.proxy, "socks5h://proxy.internal:1080");
  EXPECT_EQ(webhook.max_in_flight, 32);
  EXPECT_DOUBLE_EQ(webhook.rate_per_second, 2.5);
  EXPECT_TRUE(webhook.catch_up_latest);
}

TEST_F(ConfigTest, ExplicitDefaultsAreAccepted) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "payload = raw\ncatch_up = all\nrate_per_second = 0\n"
                                              "max_in_flight = 1\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.payload, WebhookPayload::kRaw);
  EXPECT_FALSE(company->webhook.catch_up_latest);
  EXPECT_DOUBLE_EQ(company->webhook.rate_per_second, 0);
  EXPECT_EQ(company->webhook.max_in_flight, 1);
}

TEST_F(ConfigTest, PayloadMustBeRawOrEnvelope) {
  std::string path = WriteCompany("acme", ValidCompany() + "payload = json\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.payload must be raw (the API's JSON as it is) or "
                               "envelope"));
  EXPECT_THAT(company.status().message(), HasSubstr("found 'json'"));
}

TEST_F(ConfigTest, CatchUpMustBeAllOrLatest) {
  std::string path = WriteCompany("acme", ValidCompany() + "catch_up = newest\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.catch_up must be all (after an outage, deliver "
                               "every event) or latest"));
  EXPECT_THAT(company.status().message(), HasSubstr("found 'newest'"));
}

TEST_F(ConfigTest, MaxInFlightMustBeFrom1To256) {
  for (const char* value : {"0", "257", "many", "2.5"}) {
    std::string path = WriteCompany("acme", ValidCompany() + "max_in_flight = " + value + "\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << value;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: webhook.max_in_flight must be a whole number from 1 to 256"))
        << value;
  }
  std::string path = WriteCompany("acme", ValidCompany() + "max_in_flight = 256\n");
  Result<CompanyConfig> company = LoadCompanyConfig(path);
  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.max_in_flight, 256);
}

TEST_F(ConfigTest, RatePerSecondMustBeFrom0To10000) {
  for (const char* value : {"-1", "10000.5", "fast", "nan", "inf", ""}) {
    std::string path = WriteCompany("acme", ValidCompany() + "rate_per_second = " + value + "\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << value;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: webhook.rate_per_second must be a number from 0 to 10000"))
        << value;
  }
  std::string path = WriteCompany("acme", ValidCompany() + "rate_per_second = 10000\n");
  Result<CompanyConfig> company = LoadCompanyConfig(path);
  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_DOUBLE_EQ(company->webhook.rate_per_second, 10000);
}

TEST_F(ConfigTest, ProxyAcceptsHttpHttpsAndSocks) {
  for (const char* proxy : {"http://proxy:3128", "https://proxy:443", "socks5://127.0.0.1:1080",
                            "socks5h://user:pw@proxy:1080"}) {
    std::string path = WriteCompany("acme", ValidCompany() + "proxy = " + proxy + "\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_TRUE(company.ok()) << proxy << ": " << company.status().ToString();
    EXPECT_EQ(company->webhook.proxy, proxy);
  }
}

TEST_F(ConfigTest, ProxyWithAnotherSchemeIsRejectedWithoutEchoingIt) {
  for (const char* proxy : {"ftp://user:hunter2@proxy", "proxy.internal:3128", "socks4://h:1"}) {
    std::string path = WriteCompany("acme", ValidCompany() + "proxy = " + proxy + "\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << proxy;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: webhook.proxy must be an http://, https://, socks5:// or "
                                 "socks5h:// URL"));
    EXPECT_THAT(company.status().message(), Not(HasSubstr(proxy)));
  }
}

// --- [webhook]: custom headers --------------------------------------------------------------

TEST_F(ConfigTest, HeadersGatilhoSetsItselfAreRefusedSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"Content-Type", "application/json"},
      {"content-length", "from the body"},
      {"Host", "from webhook.url"},
      {"Webhook-Id", "Standard Webhooks"},
      {"webhook-timestamp", "Standard Webhooks"},
      {"WEBHOOK-SIGNATURE", "Standard Webhooks"},
      {"X-Gatilho-Event", "x-gatilho- prefix"},
      {"x-gatilho-whatever", "x-gatilho- prefix"},
      {"Transfer-Encoding", "from the body"},
  };
  for (const auto& [name, why] : cases) {
    std::string path =
        WriteCompany("acme", ValidCompany() + "header = " + name + ": value-that-is-secret-42\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << name;
    std::string message = company.status().message();
    EXPECT_THAT(message, HasSubstr(path + ":6: webhook.header " + name + " cannot be set: gatilho"))
        << name;
    EXPECT_THAT(message, HasSubstr(why)) << name;
    EXPECT_THAT(message, HasSubstr("; remove the line")) << name;
    EXPECT_THAT(message, Not(HasSubstr("value-that-is-secret-42"))) << name;
  }
}

TEST_F(ConfigTest, HeaderCarryingTheAuthorizationInUseIsRefused) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "authorization = erp-key-9\n"
                                              "authorization_header = X-Api-Key\n"
                                              "header = x-api-key: other-key-7\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":8: webhook.header x-api-key cannot be set: it carries "
                                        "the authorization from webhook.authorization (line 6)"));
  EXPECT_THAT(message, Not(HasSubstr("erp-key-9")));
  EXPECT_THAT(message, Not(HasSubstr("other-key-7")));
}

TEST_F(ConfigTest, AuthorizationHeaderIsRefusedWithBearerOrBasicAuth) {
  for (const char* auth : {"bearer_token = tok-1\n", "basic_auth = erp:pw-1\n"}) {
    std::string path =
        WriteCompany("acme", ValidCompany() + auth + "header = Authorization: Bearer zzz-9\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << auth;
    std::string message = company.status().message();
    EXPECT_THAT(message, HasSubstr(":7: webhook.header Authorization cannot be set: it carries "
                                   "the authorization from webhook."))
        << auth;
    EXPECT_THAT(message, Not(HasSubstr("zzz-9")));
    EXPECT_THAT(message, Not(HasSubstr("pw-1")));
  }
}

TEST_F(ConfigTest, AuthorizationHeaderIsAnOrdinaryHeaderWhenNoAuthorizationIsSet) {
  std::string path = WriteCompany("acme", ValidCompany() + "header = Authorization: Token abc\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_THAT(company->webhook.headers, ::testing::ElementsAre(std::pair<std::string, std::string>(
                                            "Authorization", "Token abc")));
}

TEST_F(ConfigTest, MalformedHeadersAreRejectedWithoutEchoingTheValue) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "header = X-Tenant acme-secret-1\n"
                                              "header = X Tenant: acme-secret-2\n"
                                              "header = : acme-secret-3\n"
                                              "header = X-Empty:\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":6: webhook.header must be 'Name: value'"));
  EXPECT_THAT(message, HasSubstr(path + ":7: webhook.header must be 'Name: value'"));
  EXPECT_THAT(message, HasSubstr(path + ":8: webhook.header must be 'Name: value'"));
  EXPECT_THAT(message, HasSubstr(path + ":9: webhook.header X-Empty has no value"));
  EXPECT_THAT(message, Not(HasSubstr("acme-secret")));
}

TEST_F(ConfigTest, HeaderNamesMustBeUniqueIgnoringCase) {
  std::string path =
      WriteCompany("acme", ValidCompany() + "header = X-Tenant: a\nheader = x-tenant: b-secret\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":7: webhook.header x-tenant is set more than once (first at "
                               "line 6); keep one line per header"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("b-secret")));
}

// --- [webhook]: authenticating to the ERP ---------------------------------------------------

TEST_F(ConfigTest, BasicAuthIsRead) {
  std::string path = WriteCompany("acme", ValidCompany() + "basic_auth = erp-user:p4ss:word\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.basic_auth, "erp-user:p4ss:word");
  EXPECT_EQ(company->webhook.bearer_token, "");
  EXPECT_EQ(company->webhook.authorization, "");
}

TEST_F(ConfigTest, BasicAuthMustBeUserColonPasswordAndIsNotEchoed) {
  for (const char* value : {"only-a-password-77", ":password-77"}) {
    std::string path = WriteCompany("acme", ValidCompany() + "basic_auth = " + value + "\n");

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << value;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: webhook.basic_auth must be user:password"));
    EXPECT_THAT(company.status().message(), Not(HasSubstr("password-77")));
  }
  std::string path = WriteCompany("acme", ValidCompany() + "basic_auth =\n");
  Result<CompanyConfig> company = LoadCompanyConfig(path);
  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.basic_auth is empty; set it to user:password"));
}

TEST_F(ConfigTest, BearerTokenIsRead) {
  std::string path = WriteCompany("acme", ValidCompany() + "bearer_token = eyJhbGciOi.abc_-~+/=\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.bearer_token, "eyJhbGciOi.abc_-~+/=");
}

TEST_F(ConfigTest, BearerTokenWithTheSchemeWrittenIsRejectedWithoutEchoingIt) {
  std::string path = WriteCompany("acme", ValidCompany() + "bearer_token = Bearer tok-secret-5\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.bearer_token holds a blank; set only the token, "
                               "without 'Bearer '"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("tok-secret-5")));
}

TEST_F(ConfigTest, AtMostOneKindOfAuthorization) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "authorization = Token key-secret-1\n"
                                              "bearer_token = key-secret-2\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":7: webhook.authorization and webhook.bearer_token are "
                                        "both set (lines 6 and 7)"));
  EXPECT_THAT(message, HasSubstr("keep only one of authorization, basic_auth and bearer_token"));
  EXPECT_THAT(message, Not(HasSubstr("key-secret")));
}

TEST_F(ConfigTest, ThreeKindsOfAuthorizationAreReportedOnce) {
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "bearer_token = key-secret-2\n"
                                              "basic_auth = u:key-secret-3\n"
                                              "authorization = key-secret-1\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":7: webhook.bearer_token, webhook.basic_auth and "
                                        "webhook.authorization are all set (lines 6, 7 and 8)"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 0) << message;
  EXPECT_THAT(message, Not(HasSubstr("key-secret")));
}

TEST_F(ConfigTest, CredentialFilesAreReadRelativeToTheCompanyFileAndTrimmed) {
  dir_.WriteFile("companies/secrets/erp.bearer", "  erp-bearer-from-file\n");
  dir_.WriteFile("companies/secrets/erp.basic", "erp-user:pass word\n\n");
  std::string bearer =
      WriteCompany("acme", ValidCompany() + "bearer_token_file = secrets/erp.bearer\n");
  std::string basic =
      WriteCompany("beta", ValidCompany() + "basic_auth_file = secrets/erp.basic\n");

  Result<CompanyConfig> acme = LoadCompanyConfig(bearer);
  Result<CompanyConfig> beta = LoadCompanyConfig(basic);

  ASSERT_TRUE(acme.ok()) << acme.status().ToString();
  EXPECT_EQ(acme->webhook.bearer_token, "erp-bearer-from-file");
  ASSERT_TRUE(beta.ok()) << beta.status().ToString();
  EXPECT_EQ(beta->webhook.basic_auth, "erp-user:pass word");
}

TEST_F(ConfigTest, CredentialAndItsFileAreExclusive) {
  dir_.WriteFile("companies/erp.bearer", "tok-from-file\n");
  std::string path = WriteCompany(
      "acme", ValidCompany() + "bearer_token = tok-inline-1\nbearer_token_file = erp.bearer\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":7: webhook.bearer_token_file and webhook.bearer_token "
                                        "are both set (bearer_token at line 6); keep only one"));
  EXPECT_THAT(message, Not(HasSubstr("tok-inline-1")));
  EXPECT_THAT(message, Not(HasSubstr("tok-from-file")));
}

TEST_F(ConfigTest, MissingCredentialFileIsAnIoErrorNamingThePath) {
  std::string path = WriteCompany("acme", ValidCompany() + "basic_auth_file = erp.basic\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Status::Code::kIoError);
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.basic_auth_file: cannot open " +
                        dir_.Sub("companies/erp.basic") +
                        ": No such file or directory; put the "
                        "ERP's user:password in that file"));
}

TEST_F(ConfigTest, BadCredentialFileContentsAreNotEchoed) {
  dir_.WriteFile("companies/erp.bearer", "Bearer tok-secret-8\n");
  dir_.WriteFile("companies/erp.basic", "no-colon-secret-9\n");
  dir_.WriteFile("companies/empty.bearer", "\n");
  std::string bearer = WriteCompany("acme", ValidCompany() + "bearer_token_file = erp.bearer\n");
  std::string basic = WriteCompany("beta", ValidCompany() + "basic_auth_file = erp.basic\n");
  std::string empty = WriteCompany("gama", ValidCompany() + "bearer_token_file = empty.bearer\n");

  Result<CompanyConfig> acme = LoadCompanyConfig(bearer);
  Result<CompanyConfig> beta = LoadCompanyConfig(basic);
  Result<CompanyConfig> gama = LoadCompanyConfig(empty);

  ASSERT_FALSE(acme.ok());
  EXPECT_THAT(
      acme.status().message(),
      HasSubstr(bearer + ":6: webhook.bearer_token_file " + dir_.Sub("companies/erp.bearer") +
                " holds more than one word; it must hold only the bearer token"));
  EXPECT_THAT(acme.status().message(), Not(HasSubstr("tok-secret-8")));
  ASSERT_FALSE(beta.ok());
  EXPECT_THAT(beta.status().message(),
              HasSubstr(basic + ":6: webhook.basic_auth_file " + dir_.Sub("companies/erp.basic") +
                        ": its contents must be user:password"));
  EXPECT_THAT(beta.status().message(), Not(HasSubstr("no-colon-secret-9")));
  ASSERT_FALSE(gama.ok());
  EXPECT_THAT(gama.status().message(), HasSubstr(empty + ":6: webhook.bearer_token_file " +
                                                 dir_.Sub("companies/empty.bearer") + " is empty"));
}

// --- [webhook]: TLS ---------------------------------------------------------------------------

TEST_F(ConfigTest, TlsFilesAreResolvedAgainstTheCompanyFile) {
  dir_.WriteFile("companies/tls/acme.crt", "-----BEGIN CERTIFICATE-----\n");
  dir_.WriteFile("companies/tls/acme.key", "-----BEGIN PRIVATE KEY-----\n");
  std::string ca = dir_.WriteFile("ca/erp-ca.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string path = WriteCompany("acme", ValidCompany() +
                                              "client_cert = tls/acme.crt\n"
                                              "client_key = ./tls/../tls/acme.key\n"
                                              "ca_bundle = " +
                                              ca + "\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.client_cert, dir_.Sub("companies/tls/acme.crt"));
  EXPECT_EQ(company->webhook.client_key, dir_.Sub("companies/tls/acme.key"));
  EXPECT_EQ(company->webhook.ca_bundle, ca);
}

TEST_F(ConfigTest, CaBundleAloneIsEnough) {
  dir_.WriteFile("companies/erp-ca.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string path = WriteCompany("acme", ValidCompany() + "ca_bundle = erp-ca.pem\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->webhook.ca_bundle, dir_.Sub("companies/erp-ca.pem"));
  EXPECT_EQ(company->webhook.client_cert, "");
}

TEST_F(ConfigTest, ClientCertAndKeyGoTogether) {
  dir_.WriteFile("companies/acme.crt", "cert\n");
  dir_.WriteFile("companies/acme.key", "key\n");
  std::string cert_only = WriteCompany("acme", ValidCompany() + "client_cert = acme.crt\n");
  std::string key_only = WriteCompany("beta", ValidCompany() + "client_key = acme.key\n");

  Result<CompanyConfig> acme = LoadCompanyConfig(cert_only);
  Result<CompanyConfig> beta = LoadCompanyConfig(key_only);

  ASSERT_FALSE(acme.ok());
  EXPECT_THAT(acme.status().message(),
              HasSubstr(cert_only + ":6: webhook.client_cert is set but webhook.client_key is "
                                    "not; mutual TLS needs both"));
  ASSERT_FALSE(beta.ok());
  EXPECT_THAT(beta.status().message(),
              HasSubstr(key_only + ":6: webhook.client_key is set but webhook.client_cert is "
                                   "not; mutual TLS needs both"));
}

TEST_F(ConfigTest, MissingTlsFileIsAnIoErrorNamingThePath) {
  dir_.WriteFile("companies/acme.crt", "cert\n");
  std::string path =
      WriteCompany("acme", ValidCompany() + "client_cert = acme.crt\nclient_key = acme.key\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Status::Code::kIoError);
  EXPECT_THAT(
      company.status().message(),
      HasSubstr(path + ":7: webhook.client_key: cannot open " + dir_.Sub("companies/acme.key") +
                ": No such file or directory; put the client certificate's private key "
                "(PEM) there"));
}

TEST_F(ConfigTest, TlsPathThatIsAFolderOrEmptyIsAnError) {
  dir_.WriteFile("companies/certs/x.pem", "x\n");
  std::string path = WriteCompany("acme", ValidCompany() + "ca_bundle = certs\n");
  std::string empty = WriteCompany("beta", ValidCompany() + "ca_bundle =\n");

  Result<CompanyConfig> acme = LoadCompanyConfig(path);
  Result<CompanyConfig> beta = LoadCompanyConfig(empty);

  ASSERT_FALSE(acme.ok());
  EXPECT_THAT(acme.status().message(),
              HasSubstr(path + ":6: webhook.ca_bundle " + dir_.Sub("companies/certs") +
                        " is a folder; set it to the path of the CA certificates"));
  ASSERT_FALSE(beta.ok());
  EXPECT_THAT(beta.status().message(), HasSubstr(empty + ":6: webhook.ca_bundle is empty"));
}

TEST_F(ConfigTest, TlsFilesNeedAnHttpsUrl) {
  dir_.WriteFile("companies/erp-ca.pem", "ca\n");
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\ntoken = t\nenvironment = producao\n"
                                  "[webhook]\nurl = http://erp.local/hook\n"
                                  "ca_bundle = erp-ca.pem\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: webhook.ca_bundle only applies to https:// and webhook.url "
                               "is http:// (line 5)"));
}

// --- [file]: the file sink --------------------------------------------------------------------

std::string FileCompany(const std::string& extra = "") {
  return "cnpj = 11.222.333/0001-81\n"
         "token = tok-abc123\n"
         "environment = homologacao\n"
         "[file]\n"
         "dir = spool/acme\n" +
         extra;
}

TEST_F(ConfigTest, FileSinkCompanyWritesToAFolderResolvedAgainstItsFile) {
  std::string path = WriteCompany("acme", FileCompany());

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->sink, SinkKind::kFile);
  EXPECT_EQ(company->file.dir, dir_.Sub("companies/spool/acme"));
  EXPECT_EQ(company->file.retention_days, 30);
  EXPECT_EQ(company->webhook.url, "");
}

TEST_F(ConfigTest, FileSinkCompanyLoadsWithTheRest) {
  std::string path = WriteGlobal();
  WriteCompany("acme", FileCompany("retention_days = 7\n"));
  WriteCompany("beta", ValidCompany());

  Result<Config> config = LoadConfig(path);

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_NE(config->Find("acme"), nullptr);
  EXPECT_EQ(config->Find("acme")->sink, SinkKind::kFile);
  EXPECT_EQ(config->Find("acme")->file.retention_days, 7);
  EXPECT_EQ(config->Find("beta")->sink, SinkKind::kWebhook);
}

TEST_F(ConfigTest, FileSinkAbsoluteDirIsKeptAndAnExistingFolderIsFine) {
  dir_.WriteFile("out/keep", "");
  std::string path = WriteCompany("acme",
                                  "cnpj = 11222333000181\ntoken = t\nenvironment = producao\n"
                                  "[file]\ndir = " +
                                      dir_.Sub("out") + "/\nretention_days = 3650\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->file.dir, dir_.Sub("out"));
  EXPECT_EQ(company->file.retention_days, 3650);
}

TEST_F(ConfigTest, FileSinkRetentionMustBeFrom1To3650) {
  for (const char* value : {"0", "3651", "forever"}) {
    std::string path =
        WriteCompany("acme", FileCompany("retention_days = " + std::string(value) + "\n"));

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << value;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: file.retention_days must be a whole number from 1 to 3650"));
  }
}

TEST_F(ConfigTest, FileSinkDirMustNotBeEmptyOrARegularFile) {
  dir_.WriteFile("companies/spool/acme", "I am a file\n");
  std::string taken = WriteCompany("acme", FileCompany());
  std::string empty = WriteCompany("beta",
                                   "cnpj = 11222333000181\ntoken = t\nenvironment = producao\n"
                                   "[file]\ndir =\n");

  Result<CompanyConfig> acme = LoadCompanyConfig(taken);
  Result<CompanyConfig> beta = LoadCompanyConfig(empty);

  ASSERT_FALSE(acme.ok());
  EXPECT_THAT(acme.status().message(),
              HasSubstr(taken + ":5: file.dir " + dir_.Sub("companies/spool/acme") +
                        " exists and is not a folder"));
  ASSERT_FALSE(beta.ok());
  EXPECT_THAT(beta.status().message(), HasSubstr(empty + ":5: file.dir is empty; set it to"));
}

TEST_F(ConfigTest, BothSinksAreAnError) {
  std::string path = WriteCompany("acme", ValidCompany() + "[file]\ndir = spool\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  EXPECT_THAT(message, HasSubstr(path + ":7: file.dir and webhook.url are both set (webhook.url "
                                        "at line 5); a company delivers to one sink"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 0) << message;
}

TEST_F(ConfigTest, NoSinkIsAnErrorNamingBoth) {
  std::string path =
      WriteCompany("acme", "cnpj = 11222333000181\ntoken = t\nenvironment = producao\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ": webhook.url is missing; add a [webhook] section with url = "
                               "<the ERP's URL that receives the events>, or a [file] section "
                               "with dir = <the folder to write them to>"));
}

TEST_F(ConfigTest, WebhookOptionsUnderAFileSinkCompanyAreErrors) {
  std::string path = WriteCompany("acme", FileCompany() +
                                              "[webhook]\n"
                                              "secret = " +
                                              kSecret +
                                              "\n"
                                              "payload = envelope\n"
                                              "bearer_token = tok-secret-3\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  std::string message = company.status().message();
  for (const char* line :
       {":7: webhook.secret", ":8: webhook.payload", ":9: webhook.bearer_token"}) {
    EXPECT_THAT(message, HasSubstr(path + line +
                                   " is a webhook option, but this company writes "
                                   "its events to a folder (file.dir at line 5); "
                                   "remove the line"));
  }
  EXPECT_THAT(message, Not(HasSubstr(std::string(kSecret).substr(6))));
  EXPECT_THAT(message, Not(HasSubstr("tok-secret-3")));
}

TEST_F(ConfigTest, FileOptionsUnderAWebhookCompanyAreErrors) {
  std::string path = WriteCompany("acme", ValidCompany() + "[file]\nretention_days = 5\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":7: file.retention_days is set but file.dir is not; this "
                               "company delivers to webhook.url"));
}

TEST_F(ConfigTest, FileKeyBelowTheWebhookSectionNamesTheFileSection) {
  std::string path = WriteCompany("acme", ValidCompany() + "retention_days = 5\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: unknown key 'webhook.retention_days'; 'retention_days' "
                               "belongs in the [file] section"));
}

// --- The local API ----------------------------------------------------------------------------

constexpr char kApiToken[] = "0123456789abcdef0123";

TEST_F(ConfigTest, LocalApiIsOffWithoutATokenFile) {
  Result<GlobalConfig> global = LoadGlobalConfig(WriteGlobal());

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->api_token, "");
  EXPECT_EQ(global->api_address, "127.0.0.1");
  EXPECT_EQ(global->api_port, 8470);
  EXPECT_EQ(global->api_max_body_kib, 1024);
}

TEST_F(ConfigTest, LocalApiReadsTheTrimmedTokenListenAddressAndBodyLimit) {
  std::string token_file = dir_.WriteFile("api.token", std::string(kApiToken) + "\n");
  chmod(token_file.c_str(), 0600);
  Result<GlobalConfig> global = LoadGlobalConfig(
      WriteGlobal("api_token_file = api.token\napi_listen = [::1]:9001\napi_max_body_kib = 64\n"));

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->api_token, kApiToken);
  EXPECT_EQ(global->api_token_file, token_file);
  EXPECT_EQ(global->api_address, "::1");
  EXPECT_EQ(global->api_port, 9001);
  EXPECT_EQ(global->api_max_body_kib, 64);
  EXPECT_TRUE(global->warnings.empty());
}

TEST_F(ConfigTest, LocalApiTokenReadableByOthersIsAWarningWithoutTheToken) {
  std::string token_file = dir_.WriteFile("api.token", kApiToken);
  chmod(token_file.c_str(), 0644);
  Result<GlobalConfig> global = LoadGlobalConfig(WriteGlobal("api_token_file = api.token\n"));

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  ASSERT_EQ(global->warnings.size(), 1u);
  EXPECT_THAT(global->warnings[0], HasSubstr("chmod 600"));
  EXPECT_THAT(global->warnings[0], Not(HasSubstr(kApiToken)));
}

// --- Who may read the files holding secrets ---------------------------------------------------

constexpr char kToken[] = "tok-abc123";

TEST_F(ConfigTest, PrivateFilesHoldingSecretsGiveNoWarning) {
  std::string global = WriteGlobal();
  std::string company = WriteCompany("acme", ValidCompany());
  chmod(company.c_str(), 0600);

  Result<Config> config = LoadConfig(global);

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->Warnings().empty()) << config->Warnings().front();
}

TEST_F(ConfigTest, CompanyFileHoldingSecretsThatOthersMayReadIsAWarningNamingItsSecrets) {
  std::string path =
      WriteCompany("acme", ValidCompany() + "secret = " + std::string(kSecret) + "\n");
  chmod(path.c_str(), 0644);

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  ASSERT_EQ(company->warnings.size(), 1u);
  EXPECT_THAT(company->warnings[0],
              HasSubstr(path +
                        " holds secrets (token, webhook.secret) and any user may read it "
                        "(mode 0644); run chmod 600 " +
                        path));
  EXPECT_THAT(company->warnings[0], Not(HasSubstr(kToken)));
  EXPECT_THAT(company->warnings[0], Not(HasSubstr(kSecret)));
}

TEST_F(ConfigTest, CompanyFileWithoutSecretsMayBeReadByOthers) {
  std::string token_file = dir_.WriteFile("companies/acme.token", kToken);
  chmod(token_file.c_str(), 0600);
  std::string path =
      WriteCompany("acme",
                   "cnpj = 11.222.333/0001-81\ntoken_file = acme.token\nenvironment = homologacao\n"
                   "[webhook]\nurl = https://erp.example.com/hook\n");
  chmod(path.c_str(), 0644);

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_TRUE(company->warnings.empty()) << company->warnings.front();
}

TEST_F(ConfigTest, EveryFileNamedForASecretIsCheckedAndNamedWithItsLine) {
  std::string tokens[] = {
      dir_.WriteFile("companies/acme.token", kToken),
      dir_.WriteFile("companies/bearer.txt", "erp-bearer-0123\n"),
      dir_.WriteFile("companies/client.key", "-----BEGIN PRIVATE KEY-----\n"),
  };
  dir_.WriteFile("companies/client.crt", "-----BEGIN CERTIFICATE-----\n");
  for (const std::string& file : tokens)
    chmod(file.c_str(), 0644);
  std::string path = WriteCompany("acme",
                                  "cnpj = 11.222.333/0001-81\n"
                                  "token_file = acme.token\n"
                                  "environment = homologacao\n"
                                  "[webhook]\n"
                                  "url = https://erp.example.com/hook\n"
                                  "bearer_token_file = bearer.txt\n"
                                  "client_cert = client.crt\n"
                                  "client_key = client.key\n");
  chmod(path.c_str(), 0600);

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  ASSERT_EQ(company->warnings.size(), 3u);
  EXPECT_THAT(company->warnings[0],
              HasSubstr(path + ":2: token_file: " + tokens[0] +
                        " holds the company's API token and any user may read it"));
  EXPECT_THAT(company->warnings[1],
              HasSubstr(path + ":6: webhook.bearer_token_file: " + tokens[1] +
                        " holds the ERP's bearer token and any user may read it"));
  EXPECT_THAT(company->warnings[2], HasSubstr(path + ":8: webhook.client_key: " + tokens[2] +
                                              " holds the private key of the client certificate"));
  for (const std::string& warning : company->warnings) {
    EXPECT_THAT(warning, Not(HasSubstr(kToken)));
    EXPECT_THAT(warning, Not(HasSubstr("erp-bearer-0123")));
  }
}

TEST_F(ConfigTest, BasicAuthFileAGroupThisProcessIsNotInMayReadIsAWarning) {
  std::string basic = dir_.WriteFile("companies/basic.txt", "erp:pass-word-99\n");
  chmod(basic.c_str(), 0640);
  // A group this process does not run with; changing a file's group to it needs privileges.
  if (getegid() == 65534 || chown(basic.c_str(), static_cast<uid_t>(-1), 65534) != 0) {
    GTEST_SKIP() << "cannot give the file a group this process is not in";
  }
  std::string path = WriteCompany("acme", ValidCompany() + "basic_auth_file = basic.txt\n");
  chmod(path.c_str(), 0600);

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  ASSERT_EQ(company->warnings.size(), 1u);
  EXPECT_THAT(company->warnings[0],
              HasSubstr(path + ":6: webhook.basic_auth_file: " + basic +
                        " holds the ERP's user:password and the members of group"));
  EXPECT_THAT(company->warnings[0], Not(HasSubstr("pass-word-99")));
}

TEST_F(ConfigTest, FileHoldingSecretsThatAnyUserMayChangeIsRefused) {
  std::string path = WriteCompany("acme", ValidCompany());
  chmod(path.c_str(), 0666);

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_EQ(company.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + " holds secrets (token) and any user may change it (mode 0666), so "
                               "gatilho refuses it"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr(kToken)));
}

TEST_F(ConfigTest, WorldWritableTokenFileIsRefusedToo) {
  std::string token_file = dir_.WriteFile("companies/acme.token", kToken);
  chmod(token_file.c_str(), 0646);
  std::string path =
      WriteCompany("acme",
                   "cnpj = 11.222.333/0001-81\ntoken_file = acme.token\nenvironment = homologacao\n"
                   "[webhook]\nurl = https://erp.example.com/hook\n");

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":2: token_file: " + token_file +
                        " holds the company's API token and any user may change it"));
}

TEST_F(ConfigTest, GlobalFileHoldingOperatorSecretThatOthersMayReadIsAWarning) {
  std::string path = WriteGlobal("operator_url = https://ops.example.com/hook\noperator_secret = " +
                                 std::string(kSecret) + "\n");
  chmod(path.c_str(), 0604);

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  ASSERT_EQ(global->warnings.size(), 1u);
  EXPECT_THAT(global->warnings[0],
              HasSubstr(path + " holds operator_secret and any user may read it (mode 0604)"));
  EXPECT_THAT(global->warnings[0], Not(HasSubstr(kSecret)));
}

TEST_F(ConfigTest, GlobalFileWithoutSecretsMayBeReadByOthers) {
  std::string path = WriteGlobal("operator_url = https://ops.example.com/hook\n");
  chmod(path.c_str(), 0644);

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_TRUE(global->warnings.empty());
}

TEST_F(ConfigTest, WarningsListTheGlobalFileThenEachCompanyById) {
  std::string token_file = dir_.WriteFile("api.token", kApiToken);
  chmod(token_file.c_str(), 0644);
  std::string global = WriteGlobal("api_token_file = api.token\n");
  for (const char* id : {"beta", "acme"}) {
    chmod(WriteCompany(id, ValidCompany()).c_str(), 0644);
  }

  Result<Config> config = LoadConfig(global);

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::vector<std::string> warnings = config->Warnings();
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_THAT(warnings[0], HasSubstr("api_token_file"));
  EXPECT_THAT(warnings[1], HasSubstr("acme.conf holds secrets"));
  EXPECT_THAT(warnings[2], HasSubstr("beta.conf holds secrets"));
}

TEST_F(ConfigTest, LocalApiTokenShorterThanSixteenIsRefusedWithoutPrintingIt) {
  dir_.WriteFile("api.token", "short-secret\n");
  std::string path = WriteGlobal("api_token_file = api.token\n");
  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  EXPECT_THAT(global.status().message(), HasSubstr(path + ":3: api_token_file"));
  EXPECT_THAT(global.status().message(), HasSubstr("12 characters; use at least 16"));
  EXPECT_THAT(global.status().message(), Not(HasSubstr("short-secret")));
}

TEST_F(ConfigTest, LocalApiBadListenAndBodyLimitNameTheKey) {
  std::string path = WriteGlobal("api_listen = erp-host:80\napi_max_body_kib = 0\n");
  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_FALSE(global.ok());
  EXPECT_THAT(global.status().message(), HasSubstr(path + ":3: api_listen must be address:port"));
  EXPECT_THAT(global.status().message(),
              HasSubstr(path + ":4: api_max_body_kib must be a whole number from 1 to 65536"));
}

// --- Printing URLs ----------------------------------------------------------------------------

// --- Received-document feeds ------------------------------------------------------------------

TEST_F(ConfigTest, ReceivedFeedsAreOffByDefault) {
  Result<CompanyConfig> company = LoadCompanyConfig(WriteCompany("acme", ValidCompany()));

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_TRUE(company->received.feeds.empty());
  EXPECT_EQ(company->received.interval_minutes, 30);
  EXPECT_EQ(company->events.count("nfe_recebida"), 1u);
}

TEST_F(ConfigTest, ReadsTheReceivedSection) {
  std::string path = WriteCompany(
      "acme", ValidCompany("[received]\nfeeds = nfe, cte,nfse\ninterval_minutes = 5\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_EQ(company->received.feeds, (std::set<std::string>{"nfe", "cte", "nfse"}));
  EXPECT_EQ(company->received.interval_minutes, 5);
}

TEST_F(ConfigTest, AnEmptyFeedsListFollowsNone) {
  Result<CompanyConfig> company =
      LoadCompanyConfig(WriteCompany("acme", ValidCompany("[received]\nfeeds =\n")));

  ASSERT_TRUE(company.ok()) << company.status().ToString();
  EXPECT_TRUE(company->received.feeds.empty());
}

TEST_F(ConfigTest, UnknownReceivedFeedListsTheKnownOnes) {
  std::string path = WriteCompany("acme", ValidCompany("[received]\nfeeds = nfe, mdfe\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":5: received.feeds names an unknown feed 'mdfe'; known feeds: "
                               "nfe, cte, nfse"));
}

TEST_F(ConfigTest, ReceivedIntervalMustBeFrom5To1440Minutes) {
  for (const char* value : {"4", "1441", "trinta"}) {
    std::string path = WriteCompany(
        "acme",
        ValidCompany("[received]\nfeeds = nfe\ninterval_minutes = " + std::string(value) + "\n"));

    Result<CompanyConfig> company = LoadCompanyConfig(path);

    ASSERT_FALSE(company.ok()) << value;
    EXPECT_THAT(company.status().message(),
                HasSubstr(path + ":6: received.interval_minutes must be a whole number from 5 to "
                                 "1440"));
  }
  EXPECT_TRUE(
      LoadCompanyConfig(WriteCompany("acme", ValidCompany("[received]\ninterval_minutes = 1440\n")))
          .ok());
}

TEST_F(ConfigTest, AFollowedFeedNeedsItsEventEnabled) {
  std::string path = WriteCompany(
      "acme", ValidCompany("events = autorizado, cte_recebida\n[received]\nfeeds = nfe, cte\n"));

  Result<CompanyConfig> company = LoadCompanyConfig(path);

  ASSERT_FALSE(company.ok());
  EXPECT_THAT(company.status().message(),
              HasSubstr(path + ":6: received.feeds names nfe but events does not list "
                               "nfe_recebida"));
  EXPECT_THAT(company.status().message(), Not(HasSubstr("names cte")));
}

// --- The transparent proxy --------------------------------------------------------------------

TEST_F(ConfigTest, ProxyIsOffByDefaultAndGoesToProductionForUnknownTokens) {
  Result<GlobalConfig> global = LoadGlobalConfig(WriteGlobal());

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->proxy_port, 0);
  EXPECT_EQ(global->proxy_upstream, "https://api.focusnfe.com.br");
  EXPECT_EQ(global->proxy_max_body_kib, 16384);
  EXPECT_EQ(global->proxy_timeout_seconds, 120);
}

TEST_F(ConfigTest, ReadsEveryProxySetting) {
  std::string path = WriteGlobal(
      "proxy_listen = 127.0.0.1:8471\nproxy_upstream = https://homologacao.focusnfe.com.br/\n"
      "proxy_max_body_kib = 64\nproxy_timeout_seconds = 30\n");

  Result<GlobalConfig> global = LoadGlobalConfig(path);

  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->proxy_address, "127.0.0.1");
  EXPECT_EQ(global->proxy_port, 8471);
  EXPECT_EQ(global->proxy_upstream, "https://homologacao.focusnfe.com.br");
  EXPECT_EQ(global->proxy_max_body_kib, 64);
  EXPECT_EQ(global->proxy_timeout_seconds, 30);
}

TEST_F(ConfigTest, ProxyListenTakesLocalhostAndBracketedIpv6) {
  Result<GlobalConfig> global = LoadGlobalConfig(WriteGlobal("proxy_listen = [::1]:9000\n"));
  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->proxy_address, "::1");
  EXPECT_EQ(global->proxy_port, 9000);
  EXPECT_TRUE(IsLoopbackAddress(global->proxy_address));

  global = LoadGlobalConfig(WriteGlobal("proxy_listen = localhost:9001\n"));
  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->proxy_address, "127.0.0.1");
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.2"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackAddress("192.168.1.10"));
}

TEST_F(ConfigTest, EmptyProxyListenLeavesTheProxyOff) {
  Result<GlobalConfig> global = LoadGlobalConfig(WriteGlobal("proxy_listen =\n"));
  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->proxy_port, 0);
}

TEST_F(ConfigTest, MalformedProxyListenNamesTheLineAndTheForm) {
  for (const char* bad : {"8471", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "host:80",
                          "1.2.3:80", "[zz]:80", ":80"}) {
    std::string path = WriteGlobal(std::string("proxy_listen = ") + bad + "\n");
    Result<GlobalConfig> global = LoadGlobalConfig(path);
    ASSERT_FALSE(global.ok()) << bad;
    EXPECT_THAT(global.status().message(),
                HasSubstr(path + ":3: proxy_listen must be address:port"))
        << bad;
  }
}

TEST_F(ConfigTest, ProxyUpstreamMustBeAnHttpBaseUrlAndIsNotEchoed) {
  for (const char* bad : {"ftp://u:hunter2@api.example", "https://api.example/?token=hunter2"}) {
    std::string path = WriteGlobal(std::string("proxy_upstream = ") + bad + "\n");
    Result<GlobalConfig> global = LoadGlobalConfig(path);
    ASSERT_FALSE(global.ok()) << bad;
    EXPECT_THAT(global.status().message(), HasSubstr(":3: proxy_upstream must be"));
    EXPECT_THAT(global.status().message(), Not(HasSubstr("hunter2")));
  }
}

TEST_F(ConfigTest, ProxyBoundsAreChecked) {
  EXPECT_FALSE(LoadGlobalConfig(WriteGlobal("proxy_max_body_kib = 0\n")).ok());
  EXPECT_FALSE(LoadGlobalConfig(WriteGlobal("proxy_max_body_kib = 1048577\n")).ok());
  EXPECT_FALSE(LoadGlobalConfig(WriteGlobal("proxy_timeout_seconds = 601\n")).ok());
  EXPECT_TRUE(LoadGlobalConfig(WriteGlobal("proxy_max_body_kib = 1048576\n")).ok());
}

}  // namespace
}  // namespace gatilho
