#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

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

constexpr char kUsage[] =
    "usage: gatilho run --config FILE [--once]\n"
    "exit status:\n"
    "  0  clean: the daemon stopped on SIGTERM/SIGINT, or the pass left nothing that needs you\n"
    "  1  failure: the store or the system failed (disk, permissions, sockets)\n"
    "  2  bad command line or configuration\n"
    "  3  another gatilho run holds the data directory (--once waits 5 s for it first)\n"
    "  4  --once only, the pass worked but something needs attention: an event was\n"
    "     dead-lettered, an endpoint is disabled, the API refused a company's token\n"
    "     (401/403), or the pass hit its time limit with work left; stderr says which";

// What a --once pass left for a person to look at, one line each; empty when nothing.
std::vector<std::string> NeedsAttention(const Daemon::Summary& summary, Store& store,
                                        const Config& config) {
  std::vector<std::string> reasons;
  if (summary.deliveries.dead > 0) {
    reasons.push_back(std::to_string(summary.deliveries.dead) +
                      " events were dead-lettered; see `gatilho events --state dead`, then "
                      "`gatilho redeliver`");
  }
  Result<std::vector<std::pair<std::string, EndpointRecord>>> endpoints = store.Endpoints();
  if (endpoints.ok()) {
    // Only the endpoints of today's companies: a record may outlive a company's file.
    std::map<std::string, std::string> configured;  // key -> display
    for (const auto& [company, sink] : DeliverySinks(config))
      configured[Dispatcher::EndpointKey(sink)] = Dispatcher::EndpointDisplay(sink);
    for (const auto& [sink, record] : *endpoints) {
      auto shown = configured.find(sink);
      if (!record.disabled || shown == configured.end()) continue;
      reasons.push_back("endpoint " + shown->second + " is disabled (" + record.reason +
                        "); `gatilho endpoint enable` delivers its events");
    }
  }
  for (const std::string& company : summary.refused_companies) {
    reasons.push_back("the API refused the token of company " + company +
                      "; fix token or token_file in its company file");
  }
  if (summary.deadline_hit) {
    reasons.push_back("the pass reached its time limit with work left; the next pass goes on");
  }
  return reasons;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  const std::string usage = kUsage;
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
    if (lock.status().code() != Status::Code::kUnavailable) {
      PrintError(lock.status().message());
      return kExitFailure;
    }
    if (!once) {
      PrintError(lock.status().message());
      return kExitLocked;
    }
    PrintError(lock.status().message() + ". Waited " + std::to_string(kOnceLockWaitMs / 1000) +
               " s: this pass did nothing and the next one goes on; if this repeats, a daemon "
               "runs on the same data_dir or passes take longer than the cron interval");
    return kExitLocked;
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
  if (!once) return kExitOk;
  std::vector<std::string> reasons = NeedsAttention((*daemon)->summary(), *store, *config);
  for (const std::string& reason : reasons)
    PrintError("needs attention: " + reason);
  return reasons.empty() ? kExitOk : kExitAttention;
}

}  // namespace gatilho::cli
