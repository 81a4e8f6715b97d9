#include <algorithm>
#include <iostream>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/delivery_sinks.h"
#include "daemon/logging.h"
#include "daemon/run_lock.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

// How long a --once run waits for an overlapping run to finish before giving up: cron runs
// every minute at the most, so a few seconds covers the usual overlap without piling up.
constexpr int kOnceLockWaitMs = 5'000;

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  const std::string usage = "usage: gatilho run --config FILE [--once]";
  po::variables_map vm;
  std::vector<std::string> positional;
  po::options_description options("options");
  options.add_options()("once", "poll what is due now, deliver what is ready, then exit");
  if (auto exit_code = ParseCommandLine(args, usage, options, &vm, &positional)) {
    return *exit_code;
  }
  if (!positional.empty()) {
    PrintError("run takes no arguments\n" + usage);
    return kExitUsage;
  }
  bool once = vm.count("once") != 0;
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;
  std::string level =
      vm.count("log-level") ? vm["log-level"].as<std::string>() : config->global.log_level;
  Status logging = SetUpLogging(level);
  if (!logging.ok()) {
    PrintError(logging.message());
    return kExitUsage;
  }

  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;
  Result<std::unique_ptr<RunLock>> lock =
      RunLock::Acquire(config->global.data_dir, once ? kOnceLockWaitMs : 0);
  if (!lock.ok()) {
    PrintError(lock.status().message());
    return kExitFailure;
  }
  HttpClient::Options http_options =
      HttpOptionsFor(config->global.poll_concurrency, DeliverySinks(*config));
  Result<std::unique_ptr<HttpClient>> http = HttpClient::Create(http_options);
  if (!http.ok()) {
    PrintError(http.status().ToString());
    return kExitFailure;
  }
  Daemon::Options daemon_options;
  daemon_options.once = once;
  Result<std::unique_ptr<Daemon>> daemon =
      Daemon::Create(*config, *store, **http, SystemClock::Instance(), daemon_options);
  if (!daemon.ok()) {
    PrintError(daemon.status().message());
    return kExitFailure;
  }
  Status status = (*daemon)->Run();
  if (!status.ok()) {
    PrintError(status.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace gatilho::cli
