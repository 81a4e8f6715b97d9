#include "config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <system_error>

#include "config/cnpj.h"
#include "config/config_errors.h"
#include "config/config_file.h"
#include "config/secret_file_access.h"
#include "config/webhook_secret.h"
#include "core/url.h"

namespace gatilho {
namespace {

namespace fs = std::filesystem;

constexpr ConfigKey kGlobalKeys[] = {
    {"data_dir"},
    {"companies_dir"},
    {"spool_dir"},
    {"log_level"},
    {"budget_share"},
    {"budget_floor"},
    {"delivery_timeout_seconds"},
    {"retry_horizon_hours"},
    {"poll_concurrency"},
    {"operator_url"},
    {"operator_secret"},
    {"breaker_alert_minutes"},
    {"attempt_retention_days"},
    {"store_max_mib"},
    {"api_token_file"},
    {"api_listen"},
    {"api_max_body_kib"},
    {"proxy_listen"},
    {"proxy_upstream"},
    {"proxy_max_body_kib"},
    {"proxy_timeout_seconds"},
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
    {"webhook.payload"},
    {"webhook.header", /*repeatable=*/true},
    {"webhook.basic_auth"},
    {"webhook.basic_auth_file"},
    {"webhook.bearer_token"},
    {"webhook.bearer_token_file"},
    {"webhook.client_cert"},
    {"webhook.client_key"},
    {"webhook.ca_bundle"},
    {"webhook.proxy"},
    {"webhook.max_in_flight"},
    {"webhook.rate_per_second"},
    {"webhook.catch_up"},
    {"file.dir"},
    {"file.retention_days"},
    {"received.feeds"},
    {"received.interval_minutes"},
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

// `url` starts with one of `schemes` ("https://"), has something other than a '/' after it,
// and holds no blanks or control characters.
bool IsUrlWithScheme(std::string_view url, std::initializer_list<std::string_view> schemes) {
  auto scheme = std::find_if(schemes.begin(), schemes.end(),
                             [url](std::string_view prefix) { return url.starts_with(prefix); });
  if (scheme == schemes.end()) return false;
  std::string_view rest = url.substr(scheme->size());
  if (rest.empty() || rest.front() == '/') return false;
  return std::none_of(url.begin(), url.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

bool IsHttpUrl(std::string_view url) {
  return IsUrlWithScheme(url, {"https://", "http://"});
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

constexpr size_t kMinApiTokenLength = 16;

// Adds what CheckSecretFileAccess says about `path` to `warnings` (others may read it) or to
// `errors` (anyone may change it), after `where` ("file:line: key") when that is not empty.
// False when the file is refused.
bool CheckSecretFile(const std::string& where, const std::string& path, std::string_view what,
                     std::vector<std::string>& warnings, ConfigErrors& errors) {
  SecretFileAccess access = CheckSecretFileAccess(path, what);
  std::string message = where.empty() ? access.message : where + ": " + access.message;
  switch (access.verdict) {
    case SecretFileAccess::Verdict::kPrivate:
      return true;
    case SecretFileAccess::Verdict::kWarn:
      warnings.push_back(std::move(message));
      return true;
    case SecretFileAccess::Verdict::kRefuse:
      errors.Add(std::move(message));
      return false;
  }
  return true;
}

// api_token_file: the bearer token of the local API. Its contents are never part of a message.
void ReadApiToken(const ConfigFile& file, GlobalConfig& global, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find("api_token_file");
  if (entry == nullptr) return;
  const std::string where = file.Locate(*entry) + ": api_token_file";
  if (entry->value.empty()) {
    errors.Add(where +
               " is empty; set it to the path of a file holding the local API's bearer "
               "token, or remove the line to leave the API off");
    return;
  }
  std::string path = ResolveAgainst(file.path(), entry->value);
  Result<std::string> contents = ReadTextFile(path);
  if (!contents.ok()) {
    errors.AddStatus(Status::IoError(where + ": " + contents.status().message() +
                                     "; put the local API's bearer token in that file, or fix "
                                     "the path"));
    return;
  }
  std::string_view token = TrimBlanks(*contents);
  if (token.find_first_of(" \t\r\n") != std::string_view::npos) {
    errors.Add(where + " " + path + " holds more than one word; it must hold only the token");
    return;
  }
  if (token.size() < kMinApiTokenLength) {
    errors.Add(where + " " + path + " holds a token of " + std::to_string(token.size()) +
               " characters; use at least " + std::to_string(kMinApiTokenLength) +
               ", e.g. the output of `openssl rand -hex 32`");
    return;
  }
  if (!CheckSecretFile(where, path, "the local API's bearer token", global.warnings, errors)) {
    return;
  }
  global.api_token_file = path;
  global.api_token = std::string(token);
}

// "address:port" into its parts, or false. The address is IPv4, "localhost" (127.0.0.1) or
// [IPv6] (brackets removed).
bool ParseListen(std::string_view text, std::string& address, int& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = text.substr(0, colon);
  std::optional<int> number = ParseNumber<int>(text.substr(colon + 1));
  if (!number || *number < 1 || *number > 65535) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return c == ':' || c == '.' || std::isxdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  } else if (host != "localhost") {
    int parts = 0;
    std::string_view rest = host;
    while (true) {
      size_t dot = rest.find('.');
      std::optional<int> octet = ParseNumber<int>(rest.substr(0, dot));
      if (!octet || *octet < 0 || *octet > 255) return false;
      ++parts;
      if (dot == std::string_view::npos) break;
      rest = rest.substr(dot + 1);
    }
    if (parts != 4) return false;
  }
  // The server binds numeric addresses only.
  address = host == "localhost" ? "127.0.0.1" : std::string(host);
  port = *number;
  return true;
}

// api_listen = address:port, like proxy_listen.
void ReadApiListen(const ConfigFile& file, GlobalConfig& global, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find("api_listen");
  if (entry == nullptr) return;
  if (!ParseListen(entry->value, global.api_address, global.api_port)) {
    errors.Add(file.Locate(*entry) +
               ": api_listen must be address:port (an IPv4 address, localhost or [IPv6], and a "
               "port from 1 to 65535) where the local API listens, e.g. 127.0.0.1:8470 or "
               "[::1]:8470; found '" +
               entry->value + "'");
  }
}

void ReadProxy(const ConfigFile& file, GlobalConfig& global, ConfigErrors& errors) {
  if (const ConfigEntry* entry = file.Find("proxy_listen"); entry != nullptr) {
    if (!entry->value.empty() &&
        !ParseListen(entry->value, global.proxy_address, global.proxy_port)) {
      errors.Add(file.Locate(*entry) +
                 ": proxy_listen must be address:port (an IPv4 address, localhost or [IPv6], "
                 "and a port from 1 to 65535) where the ERP sends its API calls, e.g. "
                 "127.0.0.1:8471; leave it empty to turn the proxy off; found '" +
                 entry->value + "'");
    }
  }
  if (const ConfigEntry* entry = file.Find("proxy_upstream")) {
    // Not quoted back: the URL may carry credentials.
    if (IsHttpUrl(entry->value) && entry->value.find_first_of("?#") == std::string::npos) {
      global.proxy_upstream = entry->value;
      while (global.proxy_upstream.ends_with('/'))
        global.proxy_upstream.pop_back();
    } else {
      errors.Add(file.Locate(*entry) +
                 ": proxy_upstream must be an http:// or https:// base URL without a query "
                 "(where the proxy sends requests whose token is no company's), e.g. " +
                 std::string(kProductionBaseUrl) + "; or remove the line for that default");
    }
  }
  ReadWholeNumber(file, "proxy_max_body_kib", 1, 1048576,
                  "KiB an ERP request body may have through the proxy; XML imports are large",
                  global.proxy_max_body_kib, errors);
  ReadWholeNumber(file, "proxy_timeout_seconds", 1, 600,
                  "seconds one request through the proxy may take, the API's answer included",
                  global.proxy_timeout_seconds, errors);
}

GlobalConfig ReadGlobal(const ConfigFile& file, ConfigErrors& errors) {
  GlobalConfig global;
  global.config_file = file.path();
  ReadDirectory(file, "data_dir", "the folder where gatilho keeps its database", "/var/lib/gatilho",
                global.data_dir, errors);
  ReadDirectory(file, "companies_dir", "the folder with one <company-id>.conf per company",
                "companies", global.companies_dir, errors);
  if (const ConfigEntry* entry = file.Find("spool_dir");
      entry != nullptr && !entry->value.empty()) {
    std::string spool = ResolveAgainst(file.path(), entry->value);
    // The spool moves every file it finds; pointed at another of gatilho's folders it would
    // take the database or the company files for watch files.
    if (spool == global.data_dir || spool == global.companies_dir) {
      errors.Add(file.Locate(*entry) + ": spool_dir " + spool + " is also " +
                 (spool == global.data_dir ? "data_dir" : "companies_dir") +
                 "; give the spool a folder of its own, e.g. /var/spool/gatilho/in, or remove the "
                 "line");
    } else {
      global.spool_dir = spool;
    }
  }

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

  const ConfigEntry* operator_url = file.Find("operator_url");
  if (operator_url != nullptr) {
    // Not quoted back: the URL may carry credentials.
    if (IsHttpUrl(operator_url->value)) {
      global.operator_url = operator_url->value;
    } else {
      errors.Add(file.Locate(*operator_url) +
                 ": operator_url must be an http:// or https:// URL (where gatilho reports an "
                 "endpoint disabled, a breaker open, a token blocked or an event dead-lettered), "
                 "e.g. https://ops.example.com/gatilho; or remove the line");
    }
  }
  if (const ConfigEntry* secret = file.Find("operator_secret")) {
    Status status = CheckWebhookSecret(secret->value);
    if (!status.ok()) {
      errors.Add(file.Locate(*secret) + ": operator_secret " + status.message());
    } else if (operator_url == nullptr) {
      errors.Add(file.Locate(*secret) +
                 ": operator_secret is set but operator_url is not; it only signs what is sent "
                 "there: add operator_url = <the URL that receives operator events>, or remove "
                 "the line");
    } else {
      global.operator_secret = secret->value;
    }
    CheckSecretFile("", file.path(), "operator_secret", global.warnings, errors);
  }
  ReadWholeNumber(file, "breaker_alert_minutes", 1, 10080,
                  "minutes an endpoint's circuit breaker may stay open before the operator is "
                  "told",
                  global.breaker_alert_minutes, errors);
  ReadWholeNumber(file, "attempt_retention_days", 1, 3650,
                  "days finished events and their delivery attempts are kept in the store",
                  global.attempt_retention_days, errors);
  ReadWholeNumber(file, "store_max_mib", 1, kMaxStoreMib,
                  "MiB the store's map in data_dir may grow to", global.store_max_mib, errors);
  ReadApiToken(file, global, errors);
  ReadApiListen(file, global, errors);
  ReadWholeNumber(file, "api_max_body_kib", 1, 65536,
                  "KiB a request body to the local API may have", global.api_max_body_kib, errors);
  ReadProxy(file, global, errors);
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

// What a key naming a file that holds one value (token_file, webhook.bearer_token_file...) is
// about, for its messages.
struct ValueFileKind {
  std::string_view what;   // "the API token"
  std::string_view whose;  // "the company's API token"
  bool single_word;        // blanks inside are wrong, not only line breaks
};

// The contents of the file `entry` names (relative to the company file's folder) without the
// blanks around them, or nullopt after adding why not to `errors`. The contents are never part
// of a message.
std::optional<std::string> ReadValueFile(const ConfigFile& file, const ConfigEntry& entry,
                                         const ValueFileKind& kind, ConfigErrors& errors) {
  const std::string where = file.Locate(entry) + ": " + entry.key;
  if (entry.value.empty()) {
    errors.Add(where + " is empty; set it to the path of a file holding " + std::string(kind.what));
    return std::nullopt;
  }
  std::string path = ResolveAgainst(file.path(), entry.value);
  Result<std::string> contents = ReadTextFile(path);
  if (!contents.ok()) {
    errors.AddStatus(Status::IoError(where + ": " + contents.status().message() + "; put " +
                                     std::string(kind.whose) + " in that file, or fix the path"));
    return std::nullopt;
  }
  std::string_view value = TrimBlanks(*contents);
  if (value.empty()) {
    errors.Add(where + " " + path + " is empty; put " + std::string(kind.whose) + " in it");
    return std::nullopt;
  }
  // Trailing newlines are what editors add; anything blank inside is not a single value and
  // would only surface later as 401 answers.
  if (value.find_first_of(kind.single_word ? " \t\r\n" : "\r\n") != std::string_view::npos) {
    errors.Add(where + " " + path + " holds more than one " + (kind.single_word ? "word" : "line") +
               "; it must hold only " + std::string(kind.what));
    return std::nullopt;
  }
  return std::string(value);
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
  constexpr ValueFileKind kToken = {"the API token", "the company's API token", true};
  if (std::optional<std::string> value = ReadValueFile(file, *token_file, kToken, errors)) {
    company.token = std::move(*value);
  }
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

// [received]: which feeds to follow and how often. Each followed feed's event must be enabled,
// or its documents would be fetched (spending credits) and never told.
void ReadReceived(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  std::string known;
  for (const auto& [name, event] : kReceivedFeeds)
    known += (known.empty() ? "" : ", ") + std::string(name);
  ReadWholeNumber(file, "received.interval_minutes", 5, 1440,
                  "minutes between two fetches of each received-document feed",
                  company.received.interval_minutes, errors);
  const ConfigEntry* entry = file.Find("received.feeds");
  if (entry == nullptr) return;
  for (std::string_view name : SplitList(entry->value)) {
    auto feed = std::find_if(kReceivedFeeds.begin(), kReceivedFeeds.end(),
                             [&](const auto& known_feed) { return known_feed.first == name; });
    if (feed == kReceivedFeeds.end()) {
      errors.Add(file.Locate(*entry) + ": received.feeds names an unknown feed '" +
                 std::string(name) + "'; known feeds: " + known +
                 " (leave it empty to follow none)");
      continue;
    }
    if (company.events.count(std::string(feed->second)) == 0) {
      errors.Add(file.Locate(*entry) + ": received.feeds names " + std::string(name) +
                 " but events does not list " + std::string(feed->second) +
                 ", so its documents would never be delivered; add " + std::string(feed->second) +
                 " to events, or remove " + std::string(name) + " from received.feeds");
      continue;
    }
    company.received.feeds.emplace(name);
  }
}

bool HasControlCharacter(std::string_view text, bool tab_allowed) {
  return std::any_of(text.begin(), text.end(), [tab_allowed](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < ' ' && !(tab_allowed && c == '\t')) || byte == 0x7f;
  });
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The key without its section: "secret" for "webhook.secret".
std::string_view ShortKey(std::string_view key) {
  size_t dot = key.find('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// Which header carries the ERP's credentials, and the setting that put them there.
struct AuthorizationInUse {
  std::string header;  // empty when no authorization is configured
  const ConfigEntry* entry = nullptr;
};

// Why a `header` line may not name `lower` (a header name in lowercase), or nullopt when it may.
std::optional<std::string> ReservedHeaderReason(std::string_view lower) {
  if (lower == "content-type") return "gatilho sets it (every delivery is application/json)";
  if (lower == "content-length" || lower == "transfer-encoding") {
    return "gatilho sets it from the body";
  }
  if (lower == "host") return "gatilho sets it from webhook.url";
  if (lower == "connection" || lower == "expect") return "gatilho's HTTP client manages it";
  if (lower == "webhook-id" || lower == "webhook-timestamp" || lower == "webhook-signature") {
    return "gatilho sets it on every delivery (Standard Webhooks: event id, time, signatures)";
  }
  if (lower.starts_with("x-gatilho-")) {
    return "gatilho keeps the x-gatilho- prefix for its own headers (event, company, document, "
           "cycle)";
  }
  return std::nullopt;
}

// `value` is "user:password" with a user that is not empty; the reason otherwise (which never
// quotes the value).
std::optional<std::string> BasicAuthProblem(std::string_view value) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return "must be user:password (a user that is not empty, then ':', then the password)";
  }
  if (HasControlCharacter(value, /*tab_allowed=*/false)) {
    return "holds a control character (not shown); remove it";
  }
  return std::nullopt;
}

std::optional<std::string> BearerTokenProblem(std::string_view value) {
  if (value.find_first_of(" \t") != std::string_view::npos) {
    return "holds a blank; set only the token, without 'Bearer ' (gatilho adds it)";
  }
  if (HasControlCharacter(value, /*tab_allowed=*/false)) {
    return "holds a control character (not shown); remove it";
  }
  return std::nullopt;
}

// Reads one way of authenticating that may be written inline (`key`) or as a file
// (`key`_file), checking the value with `problem`. Returns the entry that set it, or nullptr.
const ConfigEntry* ReadCredential(const ConfigFile& file, const std::string& key,
                                  const ValueFileKind& kind,
                                  std::optional<std::string> (*problem)(std::string_view),
                                  std::string& out, ConfigErrors& errors) {
  const ConfigEntry* inline_entry = file.Find(key);
  const ConfigEntry* file_entry = file.Find(key + "_file");
  if (inline_entry != nullptr && file_entry != nullptr) {
    errors.Add(file.Locate(*file_entry) + ": " + file_entry->key + " and " + inline_entry->key +
               " are both set (" + std::string(ShortKey(inline_entry->key)) + " at line " +
               std::to_string(inline_entry->line) + "); keep only one");
    return file_entry;
  }
  if (inline_entry != nullptr) {
    if (inline_entry->value.empty()) {
      errors.Add(file.Locate(*inline_entry) + ": " + inline_entry->key + " is empty; set it to " +
                 std::string(kind.what) + ", or remove the line");
    } else if (std::optional<std::string> why = problem(inline_entry->value)) {
      errors.Add(file.Locate(*inline_entry) + ": " + inline_entry->key + " " + *why);
    } else {
      out = inline_entry->value;
    }
    return inline_entry;
  }
  if (file_entry != nullptr) {
    if (std::optional<std::string> value = ReadValueFile(file, *file_entry, kind, errors)) {
      if (std::optional<std::string> why = problem(*value)) {
        errors.Add(file.Locate(*file_entry) + ": " + file_entry->key + " " +
                   ResolveAgainst(file.path(), file_entry->value) + ": its contents " + *why);
      } else {
        out = std::move(*value);
      }
    }
  }
  return file_entry;
}

AuthorizationInUse ReadWebhookAuthorization(const ConfigFile& file, WebhookConfig& webhook,
                                            ConfigErrors& errors) {
  AuthorizationInUse in_use;
  const ConfigEntry* authorization = file.Find("webhook.authorization");
  const ConfigEntry* header = file.Find("webhook.authorization_header");
  if (authorization != nullptr) {
    if (authorization->value.empty()) {
      errors.Add(file.Locate(*authorization) +
                 ": webhook.authorization is empty; set the header value the ERP expects, or "
                 "remove the line");
    }
    webhook.authorization = authorization->value;
    in_use = {webhook.authorization_header, authorization};
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
      in_use.header = header->value;
    }
  }

  constexpr ValueFileKind kBasic = {"user:password", "the ERP's user:password", false};
  constexpr ValueFileKind kBearer = {"the bearer token", "the ERP's bearer token", true};
  const ConfigEntry* basic = ReadCredential(file, "webhook.basic_auth", kBasic, &BasicAuthProblem,
                                            webhook.basic_auth, errors);
  const ConfigEntry* bearer = ReadCredential(file, "webhook.bearer_token", kBearer,
                                             &BearerTokenProblem, webhook.bearer_token, errors);
  if (in_use.entry == nullptr && (basic != nullptr || bearer != nullptr)) {
    in_use = {"Authorization", basic != nullptr ? basic : bearer};
  }

  std::vector<const ConfigEntry*> schemes;
  for (const ConfigEntry* entry : {authorization, basic, bearer}) {
    if (entry != nullptr) schemes.push_back(entry);
  }
  if (schemes.size() > 1) {
    std::sort(schemes.begin(), schemes.end(),
              [](const ConfigEntry* a, const ConfigEntry* b) { return a->line < b->line; });
    std::string names;
    std::string lines;
    for (size_t i = 0; i < schemes.size(); ++i) {
      const char* separator = i == 0 ? "" : i + 1 == schemes.size() ? " and " : ", ";
      names += separator + schemes[i]->key;
      lines += separator + std::to_string(schemes[i]->line);
    }
    errors.Add(file.Locate(*schemes[1]) + ": " + names + " are " +
               (schemes.size() == 2 ? "both" : "all") + " set (lines " + lines +
               "); the ERP gets one kind of authorization: keep only one of authorization, "
               "basic_auth and bearer_token");
  }
  return in_use;
}

void ReadWebhookHeaders(const ConfigFile& file, const AuthorizationInUse& authorization,
                        WebhookConfig& webhook, ConfigErrors& errors) {
  std::map<std::string, int> first_line_of;  // by lowercase name
  for (const ConfigEntry* entry : file.FindAll("webhook.header")) {
    // The value may be a credential (X-Api-Key: ...), so only the name is ever quoted.
    const std::string where = file.Locate(*entry) + ": webhook.header";
    size_t colon = entry->value.find(':');
    std::string_view name = TrimBlanks(std::string_view(entry->value).substr(0, colon));
    if (colon == std::string::npos || !IsHeaderName(name)) {
      errors.Add(where +
                 " must be 'Name: value' with an HTTP header name (letters, digits and -), e.g. "
                 "header = X-Tenant: acme (the line's text is not shown)");
      continue;
    }
    std::string_view value = TrimBlanks(std::string_view(entry->value).substr(colon + 1));
    std::string lower = ToLower(name);
    std::string quoted = " " + std::string(name);
    if (std::optional<std::string> reason = ReservedHeaderReason(lower)) {
      errors.Add(where + quoted + " cannot be set: " + *reason + "; remove the line");
      continue;
    }
    if (!authorization.header.empty() && lower == ToLower(authorization.header)) {
      errors.Add(where + quoted + " cannot be set: it carries the authorization from " +
                 authorization.entry->key + " (line " + std::to_string(authorization.entry->line) +
                 "); keep only one of them");
      continue;
    }
    auto [first, inserted] = first_line_of.emplace(lower, entry->line);
    if (!inserted) {
      errors.Add(where + quoted + " is set more than once (first at line " +
                 std::to_string(first->second) + "); keep one line per header");
      continue;
    }
    if (value.empty()) {
      errors.Add(where + quoted + " has no value; write header = " + std::string(name) +
                 ": <value>, or remove the line");
      continue;
    }
    if (HasControlCharacter(value, /*tab_allowed=*/true)) {
      errors.Add(where + quoted +
                 " has a control character in its value (the value is not shown); remove it");
      continue;
    }
    webhook.headers.emplace_back(std::string(name), std::string(value));
  }
}

// Opening is the test: it fails for a missing file and for one gatilho may not read.
Status CheckReadable(const std::string& path) {
  FILE* opened = std::fopen(path.c_str(), "rb");
  if (opened == nullptr)
    return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  std::fclose(opened);
  return Status::Ok();
}

// Reads a key naming a file that must exist and be readable now (a certificate, a key): its
// absolute path goes to `out`. Returns the entry, or nullptr when the key is not set.
const ConfigEntry* ReadReadableFile(const ConfigFile& file, std::string_view key,
                                    std::string_view what, std::string& out, ConfigErrors& errors) {
  const ConfigEntry* entry = file.Find(key);
  if (entry == nullptr) return nullptr;
  const std::string where = file.Locate(*entry) + ": " + entry->key;
  if (entry->value.empty()) {
    errors.Add(where + " is empty; set it to the path of " + std::string(what) +
               ", or remove the line");
    return entry;
  }
  std::string path = ResolveAgainst(file.path(), entry->value);
  std::error_code error;
  if (fs::is_directory(path, error)) {
    errors.Add(where + " " + path + " is a folder; set it to the path of " + std::string(what));
    return entry;
  }
  Status readable = CheckReadable(path);
  if (!readable.ok()) {
    errors.AddStatus(Status::IoError(where + ": " + readable.message() + "; put " +
                                     std::string(what) +
                                     " there (readable by the user gatilho runs as), or fix "
                                     "the path"));
    return entry;
  }
  out = std::move(path);
  return entry;
}

void ReadWebhookTls(const ConfigFile& file, const ConfigEntry* url, WebhookConfig& webhook,
                    ConfigErrors& errors) {
  const ConfigEntry* cert = ReadReadableFile(
      file, "webhook.client_cert", "the client certificate (PEM)", webhook.client_cert, errors);
  const ConfigEntry* key =
      ReadReadableFile(file, "webhook.client_key", "the client certificate's private key (PEM)",
                       webhook.client_key, errors);
  const ConfigEntry* ca = ReadReadableFile(
      file, "webhook.ca_bundle", "the CA certificates (PEM) that sign the ERP's certificate",
      webhook.ca_bundle, errors);
  if (cert != nullptr && key == nullptr) {
    errors.Add(file.Locate(*cert) +
               ": webhook.client_cert is set but webhook.client_key is not; mutual TLS needs "
               "both: add client_key = <the certificate's private key>, or remove the line");
  } else if (key != nullptr && cert == nullptr) {
    errors.Add(file.Locate(*key) +
               ": webhook.client_key is set but webhook.client_cert is not; mutual TLS needs "
               "both: add client_cert = <the client certificate>, or remove the line");
  }
  if (url != nullptr && url->value.starts_with("http://")) {
    for (const ConfigEntry* entry : {cert, key, ca}) {
      if (entry == nullptr) continue;
      errors.Add(file.Locate(*entry) + ": " + entry->key +
                 " only applies to https:// and webhook.url is http:// (line " +
                 std::to_string(url->line) + "); use an https:// URL, or remove the line");
    }
  }
}

void ReadWebhook(const ConfigFile& file, WebhookConfig& webhook, ConfigErrors& errors) {
  const ConfigEntry* url = file.Find("webhook.url");
  if (url == nullptr) {
    errors.Add(file.path() +
               ": webhook.url is missing; add a [webhook] section with url = <the ERP's URL "
               "that receives the events>, or a [file] section with dir = <the folder to write "
               "them to>");
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

  AuthorizationInUse authorization = ReadWebhookAuthorization(file, webhook, errors);
  ReadWebhookHeaders(file, authorization, webhook, errors);
  ReadWebhookTls(file, url, webhook, errors);

  if (const ConfigEntry* entry = file.Find("webhook.payload")) {
    if (entry->value == "raw") {
      webhook.payload = WebhookPayload::kRaw;
    } else if (entry->value == "envelope") {
      webhook.payload = WebhookPayload::kEnvelope;
    } else {
      errors.Add(file.Locate(*entry) +
                 ": webhook.payload must be raw (the API's JSON as it is) or envelope (that JSON "
                 "wrapped with the event's details); found '" +
                 entry->value + "'");
    }
  }
  if (const ConfigEntry* entry = file.Find("webhook.catch_up")) {
    if (entry->value == "all" || entry->value == "latest") {
      webhook.catch_up_latest = entry->value == "latest";
    } else {
      errors.Add(file.Locate(*entry) +
                 ": webhook.catch_up must be all (after an outage, deliver every event) or "
                 "latest (only the latest pending event of each document); found '" +
                 entry->value + "'");
    }
  }
  if (const ConfigEntry* entry = file.Find("webhook.proxy")) {
    // Not quoted back: a proxy URL may carry credentials.
    if (IsUrlWithScheme(entry->value, {"http://", "https://", "socks5://", "socks5h://"})) {
      webhook.proxy = entry->value;
    } else {
      errors.Add(file.Locate(*entry) +
                 ": webhook.proxy must be an http://, https://, socks5:// or socks5h:// URL, "
                 "e.g. http://proxy.example.com:3128; or remove the line");
    }
  }
  ReadWholeNumber(file, "webhook.max_in_flight", 1, 256,
                  "deliveries in flight at once to this endpoint", webhook.max_in_flight, errors);
  if (const ConfigEntry* entry = file.Find("webhook.rate_per_second")) {
    std::optional<double> rate = ParseNumber<double>(entry->value);
    if (rate && *rate >= 0 && *rate <= 10000) {
      webhook.rate_per_second = *rate;
    } else {
      errors.Add(file.Locate(*entry) +
                 ": webhook.rate_per_second must be a number from 0 to 10000 (deliveries per "
                 "second at most to this endpoint; 0 means no cap), e.g. 2.5; found '" +
                 entry->value + "'");
    }
  }
}

void ReadFileSink(const ConfigFile& file, const ConfigEntry& dir, FileSinkConfig& sink,
                  ConfigErrors& errors) {
  constexpr std::string_view kPurpose = "the folder the company's events are written to";
  if (dir.value.empty()) {
    errors.Add(file.Locate(dir) + ": file.dir is empty; set it to " + std::string(kPurpose) +
               ", e.g. /var/spool/gatilho/acme");
  } else {
    std::string path = ResolveAgainst(file.path(), dir.value);
    std::error_code error;
    if (fs::exists(path, error) && !fs::is_directory(path, error)) {
      errors.Add(file.Locate(dir) + ": file.dir " + path +
                 " exists and is not a folder; set it to " + std::string(kPurpose) +
                 " (it need not exist yet)");
    } else {
      sink.dir = std::move(path);
    }
  }
  ReadWholeNumber(file, "file.retention_days", 1, 3650, "days the written events are kept",
                  sink.retention_days, errors);
}

// A company delivers to exactly one sink: the ERP's webhook or a folder.
void ReadSink(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  const ConfigEntry* url = file.Find("webhook.url");
  const ConfigEntry* dir = file.Find("file.dir");
  if (dir == nullptr) {
    company.sink = SinkKind::kWebhook;
    ReadWebhook(file, company.webhook, errors);
    const ConfigEntry* retention = file.Find("file.retention_days");
    if (url != nullptr && retention != nullptr) {
      errors.Add(file.Locate(*retention) +
                 ": file.retention_days is set but file.dir is not; this company delivers to "
                 "webhook.url, so remove the line");
    }
    return;
  }
  company.sink = SinkKind::kFile;
  ReadFileSink(file, *dir, company.file, errors);
  if (url != nullptr) {
    errors.Add(file.Locate(*dir) + ": file.dir and webhook.url are both set (webhook.url at line " +
               std::to_string(url->line) +
               "); a company delivers to one sink: keep the [file] section or the [webhook] one");
    ReadWebhook(file, company.webhook, errors);
    return;
  }
  for (const ConfigKey& key : kCompanyKeys) {
    if (!key.name.starts_with("webhook.")) continue;
    for (const ConfigEntry* entry : file.FindAll(key.name)) {
      errors.Add(file.Locate(*entry) + ": " + entry->key +
                 " is a webhook option, but this company writes its events to a folder "
                 "(file.dir at line " +
                 std::to_string(dir->line) + "); remove the line");
    }
  }
}

// The settings that put a secret into the company file itself.
constexpr std::string_view kInlineSecretKeys[] = {"token", "webhook.secret",
                                                  "webhook.authorization", "webhook.basic_auth",
                                                  "webhook.bearer_token"};

// The settings naming a file that holds a secret, and what it holds.
constexpr std::pair<std::string_view, std::string_view> kSecretFileKeys[] = {
    {"token_file", "the company's API token"},
    {"webhook.basic_auth_file", "the ERP's user:password"},
    {"webhook.bearer_token_file", "the ERP's bearer token"},
    {"webhook.client_key", "the private key of the client certificate"},
};

// Checks who else may read or change the company file, when it holds a secret, and every file
// it names that holds one.
void CheckCompanySecretFiles(const ConfigFile& file, CompanyConfig& company, ConfigErrors& errors) {
  std::string inline_keys;
  for (std::string_view key : kInlineSecretKeys) {
    if (file.Find(key) == nullptr) continue;
    inline_keys += (inline_keys.empty() ? "" : ", ") + std::string(key);
  }
  if (!inline_keys.empty()) {
    CheckSecretFile("", file.path(), "secrets (" + inline_keys + ")", company.warnings, errors);
  }
  for (const auto& [key, what] : kSecretFileKeys) {
    const ConfigEntry* entry = file.Find(key);
    if (entry == nullptr || entry->value.empty()) continue;
    CheckSecretFile(file.Locate(*entry) + ": " + entry->key,
                    ResolveAgainst(file.path(), entry->value), what, company.warnings, errors);
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
  ReadReceived(*file, company, errors);
  ReadSink(*file, company, errors);
  CheckCompanySecretFiles(*file, company, errors);
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

bool IsLoopbackAddress(std::string_view address) {
  return address == "localhost" || address == "::1" || address.starts_with("127.");
}

const CompanyConfig* Config::Find(std::string_view id) const {
  auto it = companies.find(std::string(id));
  return it == companies.end() ? nullptr : &it->second;
}

std::vector<std::string> Config::Warnings() const {
  std::vector<std::string> all = global.warnings;
  for (const auto& [id, company] : companies)
    all.insert(all.end(), company.warnings.begin(), company.warnings.end());
  return all;
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
