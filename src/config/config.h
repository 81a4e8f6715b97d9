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
#include <vector>

#include "core/document_type.h"
#include "core/result.h"

namespace gatilho {

// Where the API lives for each `environment`. The fiscal module owns the API's URLs, but
// config may not depend on it, so these two are repeated here.
inline constexpr std::string_view kProductionBaseUrl = "https://api.focusnfe.com.br";
inline constexpr std::string_view kHomologationBaseUrl = "https://homologacao.focusnfe.com.br";

// The event names `events` accepts: the API's end-of-cycle and later changes, and the two the
// bridge makes itself (timeout, nao_encontrado).
inline constexpr std::array<std::string_view, 11> kEventNames = {
    "autorizado",         "erro_autorizacao", "denegado",       "cancelado",
    "substituido",        "encerrado",        "carta_correcao", "contingencia_efetivada",
    "tentativa_anterior", "timeout",          "nao_encontrado",
};

struct WebhookConfig {
  std::string url;                   // http:// or https://
  std::vector<std::string> secrets;  // "whsec_..." in file order; several during a rotation
  std::string authorization;         // empty when not set
  std::string authorization_header = "Authorization";
};

struct CompanyConfig {
  std::string id;                // the file name without ".conf"
  std::string cnpj;              // 14 digits, punctuation removed
  std::string token;             // from `token`, or the trimmed contents of `token_file`
  std::string base_url;          // without a trailing '/'; from `environment` when not set
  std::string environment;       // "producao", "homologacao", or empty when only base_url is set
  std::set<DocType> types;       // all types when the file does not say
  std::set<std::string> events;  // all of kEventNames when the file does not say
  WebhookConfig webhook;
  std::string source_file;  // the file it was read from
};

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
};

struct Config {
  GlobalConfig global;
  std::map<std::string, CompanyConfig> companies;  // by id

  // The company with `id`, or nullptr. The pointer lives as long as this Config.
  const CompanyConfig* Find(std::string_view id) const;
};

// Reads the global file at `path` and every `<company-id>.conf` in its companies_dir (other
// files there are ignored). InvalidArgument for mistakes in the files; IoError when a file or
// folder cannot be read. Either way the message lists every problem found, one per line.
Result<Config> LoadConfig(const std::string& path);

// Reads and checks the global file alone; relative data_dir and companies_dir are resolved
// against the folder of `path`. Errors as for LoadConfig.
Result<GlobalConfig> LoadGlobalConfig(const std::string& path);

// Reads and checks one company file; its id is the file name without ".conf" and must match
// [a-z0-9][a-z0-9_-]{0,63}. A relative token_file is resolved against the file's folder.
// Errors as for LoadConfig.
Result<CompanyConfig> LoadCompanyConfig(const std::string& path);

}  // namespace gatilho
