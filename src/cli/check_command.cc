#include <iostream>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/digest.h"
#include "core/url.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

// The webhook sink of one company: where, how it authenticates and how it delivers. Names,
// paths and counts only: no secret, credential or header value is ever printed.
void PrintWebhook(const WebhookConfig& webhook) {
  std::cout << "  webhook   " << UrlForDisplay(webhook.url);
  if (!webhook.secrets.empty()) {
    std::cout << " (signed, " << webhook.secrets.size() << " secret"
              << (webhook.secrets.size() > 1 ? "s" : "") << ")";
  }
  std::cout << "\n";
  if (!webhook.authorization.empty()) {
    std::cout << "  auth      " << webhook.authorization_header << " header\n";
  } else if (!webhook.basic_auth.empty()) {
    std::cout << "  auth      basic (user:password)\n";
  } else if (!webhook.bearer_token.empty()) {
    std::cout << "  auth      bearer token\n";
  }
  if (!webhook.headers.empty()) {
    std::cout << "  headers   ";
    const char* separator = "";
    for (const auto& [name, value] : webhook.headers) {
      std::cout << separator << name;
      separator = ", ";
    }
    std::cout << "\n";
  }
  if (!webhook.client_cert.empty() || !webhook.ca_bundle.empty()) {
    std::cout << "  tls       ";
    if (!webhook.client_cert.empty()) {
      std::cout << "client certificate " << webhook.client_cert << ", key " << webhook.client_key;
      if (!webhook.ca_bundle.empty()) std::cout << "; ";
    }
    if (!webhook.ca_bundle.empty()) std::cout << "CA bundle " << webhook.ca_bundle;
    std::cout << "\n";
  }
  if (!webhook.proxy.empty()) std::cout << "  proxy     " << UrlForDisplay(webhook.proxy) << "\n";
  std::cout << "  delivery  " << (webhook.payload == WebhookPayload::kEnvelope ? "envelope" : "raw")
            << " payload, " << webhook.max_in_flight << " in flight, ";
  if (webhook.rate_per_second > 0) {
    std::cout << "at most " << webhook.rate_per_second << "/s";
  } else {
    std::cout << "no rate cap";
  }
  std::cout << ", catch up " << (webhook.catch_up_latest ? "latest" : "all") << "\n";
}

}  // namespace

int CheckCommand(const std::vector<std::string>& args) {
  const std::string usage = "usage: gatilho check --config FILE";
  po::variables_map vm;
  std::vector<std::string> positional;
  if (auto exit_code =
          ParseCommandLine(args, usage, po::options_description("options"), &vm, &positional)) {
    return *exit_code;
  }
  if (!positional.empty()) {
    PrintError("check takes no arguments\n" + usage);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;

  const GlobalConfig& global = config->global;
  std::cout << "config:    " << global.config_file << "\n"
            << "data_dir:  " << global.data_dir << "\n"
            << "companies: " << global.companies_dir << " (" << config->companies.size() << ")\n";
  if (!global.spool_dir.empty()) std::cout << "spool:     " << global.spool_dir << "\n";
  if (!global.operator_url.empty()) {
    std::cout << "operator:  " << UrlForDisplay(global.operator_url)
              << (global.operator_secret.empty() ? " (unsigned)" : " (signed)") << ", alert after "
              << global.breaker_alert_minutes << " min of open breaker\n";
  }
  std::cout << "retention: finished events and attempts kept " << global.attempt_retention_days
            << " days\n";
  for (const auto& [id, company] : config->companies) {
    std::cout << "\n"
              << id << " (" << company.source_file << ")\n"
              << "  cnpj      " << company.cnpj << "\n"
              << "  token     " << MaskSecret(company.token) << "\n"
              << "  api       " << UrlForDisplay(company.base_url) << "\n";
    if (company.sink == SinkKind::kFile) {
      std::cout << "  file      " << company.file.dir << " (kept " << company.file.retention_days
                << " days)\n";
    } else {
      PrintWebhook(company.webhook);
    }
    std::cout << "  types     ";
    bool first = true;
    for (DocType type : company.types) {
      std::cout << (first ? "" : ", ") << DocTypeName(type);
      first = false;
    }
    std::cout << "\n";
    if (!company.received.feeds.empty()) {
      std::cout << "  received  ";
      first = true;
      for (const std::string& feed : company.received.feeds) {
        std::cout << (first ? "" : ", ") << feed;
        first = false;
      }
      std::cout << " every " << company.received.interval_minutes << " min\n";
    }
  }
  // The same lines `gatilho run` logs at start, so they can be fixed before it runs.
  std::vector<std::string> warnings = config->Warnings();
  if (!warnings.empty()) std::cout << "\n";
  for (const std::string& warning : warnings)
    std::cout << "warning: " << warning << "\n";
  std::cout << "\nconfiguration is valid";
  if (!warnings.empty()) {
    std::cout << ", with " << warnings.size() << " warning" << (warnings.size() > 1 ? "s" : "");
  }
  std::cout << "\n";
  return kExitOk;
}

}  // namespace gatilho::cli
