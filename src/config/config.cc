#include "config/config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <system_error>

#include "config/cnpj.h"
#include "config/config_errors.h"
#include "config/config_file.h"
#include "config/webhook_secret.h"

namespace gatilho {
namespace {

namespace fs = std::filesystem;

constexpr ConfigKey kGlobalKeys[] = {
    {"data_dir"},
    {"companies_dir"},
    {"log_level"},
    {"budget_share"},
    {"budget_floor"},
    {"delivery_timeout_seconds"},
    {"retry_horizon_hours"},
    {"poll_concurrency"},
};

constexpr ConfigKey kCompanyKeys[] = {
    {"cnpj"},
    {"token"},
    {"token_file"},
    {"environment"},
    {"base_url"},
    {"types"},
    {"events"},
    {"webhook.url"},
    {"webhook.secret", /*repeatable=*/true},
    {"webhook.authorization"},
    {"webhook.authorization_header"},
};

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

// The comma-separated items of `text`, trimmed; empty items (a trailing comma) are skipped.
std::vector<std::string_view> SplitList(std::string_view text) {
  std::vector<std::string_view> items;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = TrimBlanks(text.substr(0, comma));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) return items;
    text.remove_prefix(comma + 1);
  }
}

template <typename Names>
std::string JoinNames(const Names& names) {
  std::string joined;
  for (std::string_view name : names) {
    if (!joined.empty()) joined += ", ";
    joined += name;
  }
  return joined;
}

// Made absolute once, at load time, so that the daemon changing its working directory later
// cannot change what the paths mean.
std::string AbsolutePath(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) absolute = path;
  absolute = absolute.lexically_normal();
  if (!absolute.has_filename() && absolute.has_relative_path()) absolute = absolute.parent_path();
  return absolute.string();
}

std::string ResolveAgainst(const std::string& file, std::string_view value) {
  return AbsolutePath(fs::path(file).parent_path() / fs::path(value));
}

bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/') return false;
  return std::none_of(url.begin(), url.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

// RFC 9110 field names are "tokens": letters, digits and a few punctuation marks.
bool IsHeaderName(std::string_view name) {
  constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kPunctuation.find(c) != std::string_view::npos;
  });
}

template <typename Number>
std::optional<Number> ParseNumber(std::string_view text) {
  Number number{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return number;
}

void ReadWholeNumber(const ConfigFile& file, std::string_view key, int min, int max,
                     std::string_view meaning, int& out, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find(key);
  if (entry == nullptr) return;
  std::optional<int> number = ParseNumber<int>(entry->value);
  if (number && *number >= min && *number <= max) {
    out = *number;
    return;
  }
  errors.Add(file.Locate(*entry) + ": " + entry->key + " must be a whole number from " +
             std::to_string(min) + " to " + std::to_string(max) + " (" + std::string(meaning) +
             "); found '" + entry->value + "'");
}

void ReadDirectory(const ConfigFile& file, std::string_view key, std::string_view purpose,
                   std::string_view example, std::string& out, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find(key);
  if (entry == nullptr) {
    errors.Add(file.path() + ": " + std::string(key) + " is missing; add " + std::string(key) +
               " = " + std::string(example) + " (" + std::string(purpose) + ")");
    return;
  }
  if (entry->value.empty()) {
    errors.Add(file.Locate(*entry) + ": " + entry->key + " is empty; set it to " +
               std::string(purpose) + ", e.g. " + std::string(example));
    return;
  }
  out = ResolveAgainst(file.path(), entry->value);
}

GlobalConfig ReadGlobal(const ConfigFile& file, ConfigErrors& errors) {
  GlobalConfig global;
  global.config_file = file.path();
  ReadDirectory(file, "data_dir", "the folder where gatilho keeps its database", "/var/lib/gatilho",
                global.data_dir, errors);
  ReadDirectory(file, "companies_dir", "the folder with one <company-id>.conf per company",
                "companies", global.companies_dir, errors);

  if (const ConfigEntry* entry = file.Find("log_level")) {
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), entry->value) ==
        std::end(kLogLevels)) {
      errors.Add(file.Locate(*entry) + ": log_level must be one of " + JoinNames(kLogLevels) +
                 "; found '" + entry->value + "'");
    } else {
      global.log_level = entry->value;
    }
  }
  if (const ConfigEntry* entry = file.Find("budget_share")) {
    std::optional<double> share = ParseNumber<double>(entry->value);
    if (share && *share >= 0.05 && *share <= 1.0) {
      global.budget_share = *share;
    } else {
      errors.Add(file.Locate(*entry) +
                 ": budget_share must be a number from 0.05 to 1.0 (the share of each token's "
                 "rate limit gatilho may use; the rest is left to the ERP), e.g. 0.8; found '" +
                 entry->value + "'");
    }
  }
  ReadWholeNumber(file, "budget_floor", 0, 100,
                  "requests per minute per token gatilho keeps polling with even when the ERP "
                  "spends past its reserve",
                  global.budget_floor, errors);
  ReadWholeNumber(file, "delivery_timeout_seconds", 1, 600,
                  "seconds to wait for the ERP to answer one webhook",
                  global.delivery_timeout_seconds, errors);
  ReadWholeNumber(file, "retry_horizon_hours", 1, 8760,
                  "hours to keep retrying a delivery before it goes to the dead letters",
                  global.retry_horizon_hours, errors);
  ReadWholeNumber(file, "poll_concurrency", 1, 1024, "status requests in flight at once",
                  global.poll_concurrency, errors);
  return global;
}

bool IsCompanyId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!allowed(id.front())) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return allowed(c) || c == '_' || c == '-'; });
}

// A valid id close to `id`, to put in the error message; empty when nothing is left of it.
std::string SuggestCompanyId(std::string_view id) {
  std::string suggestion;
  for (char c : id) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && c != '-') c = '_';
    if (suggestion.empty() && !alphanumeric) continue;
    suggestion += c;
  }
  return suggestion.substr(0, 64);
}

void CheckCompanyId(const std::string& path, std::string_view id, ConfigErrors& errors) {
  if (IsCompanyId(id)) return;
  std::string suggestion = SuggestCompanyId(id);
  errors.Add(path + ": the company id '" + std::string(id) +
             "' (the file name without .conf) must match [a-z0-9][a-z0-9_-]{0,63}; rename the "
             "file to " +
             (suggestion.empty() ? std::string("something like acme.conf") : suggestion + ".conf"));
}

void ReadToken(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  const ConfigEntry* token = file.Find("token");
  const ConfigEntry* token_file = file.Find("token_file");
  if (token != nullptr && token_file != nullptr) {
    errors.Add(file.Locate(*token_file) + ": token and token_file are both set (token at line " +
               std::to_string(token->line) + "); keep only one");
    return;
  }
  if (token == nullptr && token_file == nullptr) {
    errors.Add(file.path() +
               ": the API token is missing; add token = <the company's Focus NFe token>, or "
               "token_file = <a file holding only the token>");
    return;
  }
  if (token != nullptr) {
    if (token->value.empty()) {
      errors.Add(file.Locate(*token) + ": token is empty; set it to the company's API token");
    }
    company.token = token->value;
    return;
  }
  if (token_file->value.empty()) {
    errors.Add(file.Locate(*token_file) +
               ": token_file is empty; set it to the path of a file holding the API token");
    return;
  }
  std::string path = ResolveAgainst(file.path(), token_file->value);
  Result<std::string> contents = ReadTextFile(path);
  if (!contents.ok()) {
    errors.AddStatus(
        Status::IoError(file.Locate(*token_file) + ": token_file: " + contents.status().message() +
                        "; put the company's API token in that file, or fix the path"));
    return;
  }
  std::string_view value = TrimBlanks(*contents);
  if (value.empty()) {
    errors.Add(file.Locate(*token_file) + ": token_file " + path +
               " is empty; put the company's API token in it");
    return;
  }
  // Trailing newlines are what editors add; anything blank inside is not a single token and
  // would only surface later as 401 answers from the API.
  if (value.find_first_of(" \t\r\n") != std::string_view::npos) {
    errors.Add(file.Locate(*token_file) + ": token_file " + path +
               " holds more than one word; it must hold only the API token");
    return;
  }
  company.token = std::string(value);
}

void ReadApiLocation(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  const ConfigEntry* environment = file.Find("environment");
  const ConfigEntry* base_url = file.Find("base_url");
  if (environment == nullptr && base_url == nullptr) {
    errors.Add(file.path() +
               ": which API to use is missing; add environment = producao (or homologacao), or "
               "base_url = <URL of the API>");
    return;
  }
  if (environment != nullptr) {
    if (environment->value == "producao") {
      company.base_url = kProductionBaseUrl;
      company.environment = environment->value;
    } else if (environment->value == "homologacao") {
      company.base_url = kHomologationBaseUrl;
      company.environment = environment->value;
    } else {
      errors.Add(file.Locate(*environment) +
                 ": environment must be producao or homologacao; found '" + environment->value +
                 "'");
    }
  }
  if (base_url != nullptr) {
    // The URL is not quoted back: it may carry credentials (https://user:password@host).
    if (IsHttpUrl(base_url->value)) {
      std::string_view url = base_url->value;
      while (url.ends_with('/'))
        url.remove_suffix(1);
      company.base_url = std::string(url);
    } else {
      errors.Add(file.Locate(*base_url) +
                 ": base_url must be an http:// or https:// URL, e.g. "
                 "https://homologacao.focusnfe.com.br");
    }
  }
}

void ReadTypes(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find("types");
  if (entry == nullptr) {
    company.types.insert(kAllDocTypes.begin(), kAllDocTypes.end());
    return;
  }
  std::vector<std::string_view> names = SplitList(entry->value);
  if (names.empty()) {
    errors.Add(file.Locate(*entry) + ": types is empty; list document types (" +
               std::string(DocTypeNames()) + ") or remove the line to watch them all");
  }
  for (std::string_view name : names) {
    if (std::optional<DocType> type = ParseDocType(name)) {
      company.types.insert(*type);
    } else {
      errors.Add(file.Locate(*entry) + ": types names an unknown document type '" +
                 std::string(name) + "'; known types: " + std::string(DocTypeNames()));
    }
  }
}

void ReadEvents(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find("events");
  if (entry == nullptr) {
    company.events.insert(kEventNames.begin(), kEventNames.end());
    return;
  }
  std::vector<std::string_view> names = SplitList(entry->value);
  if (names.empty()) {
    errors.Add(file.Locate(*entry) + ": events is empty; list events (" + JoinNames(kEventNames) +
               ") or remove the line to deliver them all");
  }
  for (std::string_view name : names) {
    if (std::find(kEventNames.begin(), kEventNames.end(), name) != kEventNames.end()) {
      company.events.emplace(name);
    } else {
      errors.Add(file.Locate(*entry) + ": events names an unknown event '" + std::string(name) +
                 "'; known events: " + JoinNames(kEventNames));
    }
  }
}

void ReadWebhook(const ConfigFile& file, WebhookConfig& webhook, ConfigErrors& errors) {
  const ConfigEntry* url = file.Find("webhook.url");
  if (url == nullptr) {
    errors.Add(file.path() +
               ": webhook.url is missing; add a [webhook] section with url = <the ERP's URL "
               "that receives the events>");
  } else if (!IsHttpUrl(url->value)) {
    // Not quoted back: a webhook URL may carry credentials.
    errors.Add(file.Locate(*url) +
               ": webhook.url must be an http:// or https:// URL, e.g. "
               "https://erp.example.com/gatilho");
  } else {
    webhook.url = url->value;
  }

  for (const ConfigEntry* secret : file.FindAll("webhook.secret")) {
    Status status = CheckWebhookSecret(secret->value);
    if (status.ok()) {
      webhook.secrets.push_back(secret->value);
    } else {
      errors.Add(file.Locate(*secret) + ": webhook.secret " + status.message());
    }
  }

  const ConfigEntry* authorization = file.Find("webhook.authorization");
  const ConfigEntry* header = file.Find("webhook.authorization_header");
  if (authorization != nullptr) {
    if (authorization->value.empty()) {
      errors.Add(file.Locate(*authorization) +
                 ": webhook.authorization is empty; set the header value the ERP expects, or "
                 "remove the line");
    }
    webhook.authorization = authorization->value;
  }
  if (header != nullptr) {
    if (authorization == nullptr) {
      errors.Add(file.Locate(*header) +
                 ": webhook.authorization_header is set but webhook.authorization is not; add "
                 "authorization = <the value the ERP expects>, or remove the line");
    } else if (!IsHeaderName(header->value)) {
      errors.Add(file.Locate(*header) +
                 ": webhook.authorization_header must be an HTTP header name (letters, digits "
                 "and -), e.g. X-Api-Key; found '" +
                 header->value + "'");
    } else {
      webhook.authorization_header = header->value;
    }
  }
}

// Reads the company file at `path` (absolute), adding every problem to `errors`; the result is
// only meaningful when nothing was added.
CompanyConfig ReadCompany(const std::string& path, ConfigErrors& errors) {
  CompanyConfig company;
  company.source_file = path;
  std::string file_name = fs::path(path).filename().string();
  std::string_view id = file_name;
  if (id.ends_with(".conf")) id.remove_suffix(std::string_view(".conf").size());
  company.id = std::string(id);
  CheckCompanyId(path, company.id, errors);

  Result<ConfigFile> file = ConfigFile::Read(path, kCompanyKeys, errors);
  if (!file.ok()) {
    errors.AddStatus(file.status());
    return company;
  }
  if (const ConfigEntry* cnpj = file->Find("cnpj")) {
    Result<std::string> digits = NormalizeCnpj(cnpj->value);
    if (digits.ok()) {
      company.cnpj = *digits;
    } else {
      errors.Add(file->Locate(*cnpj) + ": cnpj " + digits.status().message());
    }
  } else {
    errors.Add(path +
               ": cnpj is missing; add cnpj = <the company's CNPJ, e.g. 12.345.678/0001-95>");
  }
  ReadToken(*file, company, errors);
  ReadApiLocation(*file, company, errors);
  ReadTypes(*file, company, errors);
  ReadEvents(*file, company, errors);
  ReadWebhook(*file, company.webhook, errors);
  return company;
}

void LoadCompanies(const ConfigFile& global_file, const std::string& companies_dir,
                   std::map<std::string, CompanyConfig>& companies, ConfigErrors& errors) {
  const ConfigEntry* entry = global_file.Find("companies_dir");
  std::string where = entry != nullptr ? global_file.Locate(*entry) : global_file.path();

  std::vector<std::string> paths;
  std::error_code error;
  fs::directory_iterator it(companies_dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    // Only directories are skipped: a broken symlink named *.conf, or one whose type cannot be
    // told, must fail loudly when read rather than make a company silently disappear.
    std::error_code type_error;
    if (name.ends_with(".conf") && !it->is_directory(type_error)) {
      paths.push_back(it->path().string());
    }
  }
  if (error) {
    errors.AddStatus(Status::IoError(where + ": companies_dir: cannot list " + companies_dir +
                                     ": " + error.message() + "; create it, or fix the path"));
    return;
  }
  if (paths.empty()) {
    errors.Add(where + ": companies_dir " + companies_dir +
               " holds no company files; add one <company-id>.conf per company, e.g. acme.conf "
               "(acme.conf.sample shows every key)");
    return;
  }
  // Sorted so that errors come out in the same order on every run.
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    size_t errors_before = errors.size();
    CompanyConfig company = ReadCompany(path, errors);
    if (errors.size() == errors_before) companies.emplace(company.id, std::move(company));
  }
}

}  // namespace

const CompanyConfig* Config::Find(std::string_view id) const {
  auto it = companies.find(std::string(id));
  return it == companies.end() ? nullptr : &it->second;
}

Result<Config> LoadConfig(const std::string& path) {
  ConfigErrors errors;
  Result<ConfigFile> file = ConfigFile::Read(AbsolutePath(path), kGlobalKeys, errors);
  if (!file.ok()) return file.status();
  Config config;
  config.global = ReadGlobal(*file, errors);
  // The companies are read even when the global file has mistakes, so that one run reports
  // everything there is to fix.
  if (!config.global.companies_dir.empty()) {
    LoadCompanies(*file, config.global.companies_dir, config.companies, errors);
  }
  Status status = errors.ToStatus();
  if (!status.ok()) return status;
  return config;
}

Result<GlobalConfig> LoadGlobalConfig(const std::string& path) {
  ConfigErrors errors;
  Result<ConfigFile> file = ConfigFile::Read(AbsolutePath(path), kGlobalKeys, errors);
  if (!file.ok()) return file.status();
  GlobalConfig global = ReadGlobal(*file, errors);
  Status status = errors.ToStatus();
  if (!status.ok()) return status;
  return global;
}

Result<CompanyConfig> LoadCompanyConfig(const std::string& path) {
  ConfigErrors errors;
  CompanyConfig company = ReadCompany(AbsolutePath(path), errors);
  Status status = errors.ToStatus();
  if (!status.ok()) return status;
  return company;
}

}  // namespace gatilho
