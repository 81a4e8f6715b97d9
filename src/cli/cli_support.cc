#include "cli/cli_support.h"

#include <iostream>

namespace gatilho::cli {

namespace po = boost::program_options;

std::optional<int> ParseCommandLine(const std::vector<std::string>& args, const std::string& usage,
                                    po::options_description options, po::variables_map* vm,
                                    std::vector<std::string>* positional) {
  options.add_options()                                                                 //
      ("config,c", po::value<std::string>()->default_value(kDefaultConfig),             //
       "the global configuration file")                                                 //
      ("log-level", po::value<std::string>(), "override log_level of the config file")  //
      ("help,h", "show this help")                                                      //
      ("version", "show the version");
  po::options_description all;
  all.add(options).add_options()("arg", po::value<std::vector<std::string>>(), "");
  po::positional_options_description rest;
  rest.add("arg", -1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(rest).run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    PrintError(std::string(e.what()) + "\n" + usage);
    return kExitUsage;
  }
  if (vm->count("version") != 0) {
    std::cout << "gatilho " << GATILHO_VERSION << "\n";
    return kExitOk;
  }
  if (vm->count("help") != 0) {
    std::cout << usage << "\n" << options;
    return kExitOk;
  }
  if (vm->count("arg") != 0) *positional = (*vm)["arg"].as<std::vector<std::string>>();
  return std::nullopt;
}

void PrintError(const std::string& message) {
  std::cerr << "gatilho: " << message << "\n";
}

std::optional<Config> LoadConfigOrReport(const std::string& path, int* exit_code) {
  Result<Config> config = LoadConfig(path);
  if (config.ok()) return std::move(config).value();
  PrintError(config.status().message());
  *exit_code = config.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  return std::nullopt;
}

std::unique_ptr<Store> OpenStoreOrReport(const GlobalConfig& global) {
  Store::Options options;
  options.dir = global.data_dir;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (store.ok()) return std::move(store).value();
  PrintError(store.status().message());
  return nullptr;
}

}  // namespace gatilho::cli
