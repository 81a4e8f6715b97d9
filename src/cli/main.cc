// gatilho: turns the Focus NFe API's status polling into webhooks for an ERP.
//
// This file only picks the subcommand; each lives in its own *_command.cc.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "daemon/daemon.h"

namespace {

constexpr char kUsage[] = R"(usage: gatilho <command> [options]

commands:
  run     --config FILE [--once]             run the daemon (or one pass, for cron)
  watch   --config FILE COMPANY TYPE REF...  watch documents the ERP submitted ('-' reads refs
                                             from standard input, one per line)
  status  --config FILE [COMPANY [TYPE REF]] show pending, done and failing documents
  check   --config FILE                      validate the configuration and print a summary
  events  --config FILE [--state S] ...      list events and their delivery attempts
  redeliver --config FILE EVENT-ID...|--dead queue events for delivery again
  endpoint  --config FILE list|enable|disable [URL]
                                             show, enable or disable delivery endpoints

The default config file is /etc/gatilho/gatilho.conf.
Run 'gatilho <command> --help' for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the blocked signals and the
  // daemon reads them from its signalfd.
  gatilho::Daemon::BlockSignals();

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return gatilho::cli::kExitUsage;
  }
  std::string command = args.front();
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return gatilho::cli::kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "gatilho " << GATILHO_VERSION << "\n";
    return gatilho::cli::kExitOk;
  }
  if (command == "run") return gatilho::cli::RunCommand(args);
  if (command == "watch") return gatilho::cli::WatchCommand(args);
  if (command == "status") return gatilho::cli::StatusCommand(args);
  if (command == "check") return gatilho::cli::CheckCommand(args);
  if (command == "events") return gatilho::cli::EventsCommand(args);
  if (command == "redeliver") return gatilho::cli::RedeliverCommand(args);
  if (command == "endpoint") return gatilho::cli::EndpointCommand(args);
  gatilho::cli::PrintError("unknown command '" + command + "'");
  std::cerr << kUsage;
  return gatilho::cli::kExitUsage;
}
