#include <iostream>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/digest.h"

namespace gatilho::cli {

namespace po = boost::program_options;

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

  std::cout << "config:    " << config->global.config_file << "\n"
            << "data_dir:  " << config->global.data_dir << "\n"
            << "companies: " << config->global.companies_dir << " (" << config->companies.size()
            << ")\n";
  for (const auto& [id, company] : config->companies) {
    std::cout << "\n"
              << id << " (" << company.source_file << ")\n"
              << "  cnpj      " << company.cnpj << "\n"
              << "  token     " << MaskSecret(company.token) << "\n"
              << "  api       " << company.base_url << "\n"
              << "  webhook   " << company.webhook.url;
    if (!company.webhook.secrets.empty()) {
      std::cout << " (signed, " << company.webhook.secrets.size() << " secret"
                << (company.webhook.secrets.size() > 1 ? "s" : "") << ")";
    }
    if (!company.webhook.authorization.empty()) {
      std::cout << " (" << company.webhook.authorization_header << " header set)";
    }
    std::cout << "\n  types     ";
    bool first = true;
    for (DocType type : company.types) {
      std::cout << (first ? "" : ", ") << DocTypeName(type);
      first = false;
    }
    std::cout << "\n";
  }
  std::cout << "\nconfiguration is valid\n";
  return kExitOk;
}

}  // namespace gatilho::cli
