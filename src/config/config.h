// Configuration: the global file (/etc/gatilho/gatilho.conf by default) and one file per
// company in its companies_dir, read and validated in one go at startup (and again on reload).
//
// Loading either yields a complete, checked Config or one Status listing every problem found,
// each naming the file, the line, the key, what is wrong and what to do; tokens and secrets are
// never part of a message. The structs are plain values with no tie to the files once loaded.
// This module knows nothing of LMDB or HTTP: it only checks that paths and URLs are well formed.
#pragma once

#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/document_type.h"
#include "core/result.h"

namespace gatilho {

// Where the API lives for each `environment`. The fiscal module owns the API's URLs, but
// config may not depend on it, so these two are repeated here.
inline constexpr std::string_view kProductionBaseUrl = "https://api.focusnfe.com.br";
inline constexpr std::string_view kHomologationBaseUrl = "https://homologacao.focusnfe.com.br";

// The event names `events` accepts: the API's end-of-cycle and later changes, the two the
// bridge makes itself (timeout, nao_encontrado), and one per received-document feed.
inline constexpr std::array<std::string_view, 14> kEventNames = {
    "autorizado",         "erro_autorizacao", "denegado",       "cancelado",
    "substituido",        "encerrado",        "carta_correcao", "contingencia_efetivada",
    "tentativa_anterior", "timeout",          "nao_encontrado", "nfe_recebida",
    "cte_recebida",       "nfse_recebida",
};

// The received-document feeds `[received] feeds` may name, and the event each one's documents
// become. The fiscal module owns the feeds, but config may not depend on it, so the names are
// repeated here.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kReceivedFeeds = {{
    {"nfe", "nfe_recebida"},
    {"cte", "cte_recebida"},
    {"nfse", "nfse_recebida"},
}};

// What the body of a delivery is: the API's consult JSON byte for byte (what its own webhooks
// send), or that JSON wrapped with the event's metadata.
enum class WebhookPayload { kRaw, kEnvelope };

// Where a company's events go: POSTed to the ERP ([webhook] url), or written as files into a
// folder ([file] dir). A company has exactly one.
enum class SinkKind { kWebhook, kFile };

struct WebhookConfig {
  std::string url;                   // http:// or https://
  std::vector<std::string> secrets;  // "whsec_..." in file order; several during a rotation
  std::string authorization;         // empty when not set
  std::string authorization_header = "Authorization";
  WebhookPayload payload = WebhookPayload::kRaw;
  // `header = Name: value` lines in file order: static headers sent with every delivery. Never
  // one gatilho sets itself nor the authorization header in use; names are unique, ignoring case.
  std::vector<std::pair<std::string, std::string>> headers;
  // At most one of authorization, basic_auth and bearer_token is set (the others are empty).
  std::string basic_auth;    // "user:password", from basic_auth or basic_auth_file
  std::string bearer_token;  // the token alone, without "Bearer "; from bearer_token(_file)
  // TLS client certificate and key (both or neither) and CA bundle: absolute paths of files
  // that were readable at load time; empty when not set. Only with an https:// url.
  std::string client_cert, client_key, ca_bundle;
  std::string proxy;             // http://, https://, socks5:// or socks5h:// URL; empty: none
  int max_in_flight = 8;         // 1..256 deliveries in flight at once to this endpoint
  double rate_per_second = 0;    // 0..10000 deliveries per second at most; 0: no cap
  bool catch_up_latest = false;  // catch_up = latest: after an outage, only the latest
                                 // pending event of each document is delivered
};

struct FileSinkConfig {
  std::string dir;          // absolute; need not exist at load time
  int retention_days = 30;  // 1..3650
};

// The received-document feeds a company follows ([received] section).
struct ReceivedConfig {
  std::set<std::string> feeds;  // names from kReceivedFeeds; empty: none followed
  int interval_minutes = 30;    // 5..1440 between two fetches of one feed
};

struct CompanyConfig {
  std::string id;                // the file name without ".conf"
  std::string cnpj;              // 14 digits, punctuation removed
  std::string token;             // from `token`, or the trimmed contents of `token_file`
  std::string base_url;          // without a trailing '/'; from `environment` when not set
  std::string environment;       // "producao", "homologacao", or empty when only base_url is set
  std::set<DocType> types;       // all types when the file does not say
  std::set<std::string> events;  // all of kEventNames when the file does not say
  SinkKind sink = SinkKind::kWebhook;
  WebhookConfig webhook;  // meaningful when sink == kWebhook; defaults otherwise
  FileSinkConfig file;    // meaningful when sink == kFile; defaults otherwise
  ReceivedConfig received;
  std::string source_file;  // the file it was read from
  // What is not wrong enough to refuse the file but deserves a warning line when the daemon
  // starts and in `gatilho check`: this file, or one it names, holds a secret that others may
  // read. Never holds a secret.
  std::vector<std::string> warnings;
};

// The largest store_max_mib: 1 TiB, the store's own ceiling.
inline constexpr int kMaxStoreMib = 1 << 20;

struct GlobalConfig {
  std::string config_file;            // absolute path of the file read
  std::string data_dir;               // absolute; where the LMDB environment lives
  std::string companies_dir;          // absolute
  std::string log_level = "info";     // trace, debug, info, warn, error or off
  double budget_share = 0.8;          // 0.05..1.0 of each token's rate limit
  int budget_floor = 2;               // 0..100 requests per minute per token, whatever the ERP does
  int delivery_timeout_seconds = 15;  // 1..600
  int retry_horizon_hours = 72;       // 1..8760
  int poll_concurrency = 16;          // 1..1024
  // Where operator events go (endpoint disabled, breaker open, token blocked, event
  // dead-lettered): an http:// or https:// URL, or empty for none.
  std::string operator_url;
  std::string operator_secret;      // "whsec_..." signing them; empty: unsigned. Only with a URL
  int breaker_alert_minutes = 15;   // 1..10080
  int attempt_retention_days = 30;  // 1..3650: finished events and their attempts older than
                                    // this are removed from the store
  // 1..kMaxStoreMib: the store's map grows (doubling) up to this; past it writes fail with
  // ResourceExhausted and the daemon waits for an operator to raise it or free room.
  int store_max_mib = kMaxStoreMib;
  // Absolute; the folder a legacy ERP drops watch files into (api/spool_file.h); empty: none.
  std::string spool_dir;
  // The local HTTP API (src/api/local_api.h): on when api_token_file is set.
  std::string api_token_file;             // absolute; empty: the API is off
  std::string api_token;                  // its trimmed contents, 16 characters or more
  std::string api_address = "127.0.0.1";  // from api_listen = address:port
  int api_port = 8470;
  int api_max_body_kib = 1024;  // 1..65536: larger request bodies are refused with 413
  // What is not wrong enough to refuse the file but deserves a warning line when the daemon
  // starts and in `gatilho check` (this file or the API token file holds a secret others may
  // read). Never holds a secret.
  std::vector<std::string> warnings;
  // The transparent proxy (proxy_listen = address:port): off when proxy_port is 0. The address
  // is an IPv4 address, "localhost" or a bracketed IPv6 one (brackets removed here).
  std::string proxy_address;
  int proxy_port = 0;
  // Where requests whose token is no company's go; a company's own requests go to its base_url.
  std::string proxy_upstream = std::string(kProductionBaseUrl);
  int proxy_max_body_kib = 16384;   // 1..1048576: larger ERP request bodies are answered 413
  int proxy_timeout_seconds = 120;  // 1..600: for one upstream exchange, answer included
};

// store_max_mib in bytes, the store's Options::max_map_bytes.
inline size_t StoreMaxBytes(const GlobalConfig& global) {
  return size_t{static_cast<unsigned>(global.store_max_mib)} << 20;
}

// Whether `address` (as in GlobalConfig::proxy_address) is a loopback address.
bool IsLoopbackAddress(std::string_view address);

struct Config {
  GlobalConfig global;
  std::map<std::string, CompanyConfig> companies;  // by id

  // The company with `id`, or nullptr. The pointer lives as long as this Config.
  const CompanyConfig* Find(std::string_view id) const;

  // Every warning of the global file, then those of each company by id.
  std::vector<std::string> Warnings() const;
};

// Reads the global file at `path` and every `<company-id>.conf` in its companies_dir (other
// files there are ignored). InvalidArgument for mistakes in the files, and for a file holding a
// secret that any user may change (config/secret_file_access.h); IoError when a file or folder
// cannot be read. Either way the message lists every problem found, one per line. A secret file
// that others may read is only a warning, in GlobalConfig or CompanyConfig `warnings`.
Result<Config> LoadConfig(const std::string& path);

// Reads and checks the global file alone; relative data_dir and companies_dir are resolved
// against the folder of `path`. Errors as for LoadConfig.
Result<GlobalConfig> LoadGlobalConfig(const std::string& path);

// Reads and checks one company file; its id is the file name without ".conf" and must match
// [a-z0-9][a-z0-9_-]{0,63}. Relative paths in it (token_file, the *_file keys, the TLS files,
// [file] dir) are resolved against the file's folder. Errors as for LoadConfig.
Result<CompanyConfig> LoadCompanyConfig(const std::string& path);

}  // namespace gatilho
