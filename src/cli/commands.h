// The subcommands of the `gatilho` binary. Each takes the arguments after its name and returns
// the process exit status (cli_support.h). They parse, call the library and print; the rules
// live in the library.
#pragma once

#include <string>
#include <vector>

namespace gatilho::cli {

// gatilho run --config FILE [--once]: the daemon, or one pass for cron.
int RunCommand(const std::vector<std::string>& args);

// gatilho watch --config FILE COMPANY TYPE REF [REF...]: registers documents to watch.
int WatchCommand(const std::vector<std::string>& args);

// gatilho status --config FILE [COMPANY [TYPE REF]]: what is pending, done, failing.
int StatusCommand(const std::vector<std::string>& args);

// gatilho check --config FILE: validates the configuration and prints a summary.
int CheckCommand(const std::vector<std::string>& args);

// gatilho events --config FILE [--company C] [--state S] [--since T]: events and attempts.
int EventsCommand(const std::vector<std::string>& args);

// gatilho redeliver --config FILE EVENT-ID... | --dead [--since T]: queues events again.
int RedeliverCommand(const std::vector<std::string>& args);

// gatilho endpoint --config FILE list | enable URL | disable URL.
int EndpointCommand(const std::vector<std::string>& args);

}  // namespace gatilho::cli
