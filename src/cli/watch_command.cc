#include <iostream>
#include <string>

#include "api/watch_request.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "daemon/change_notifier.h"
#include "fiscal/api_paths.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

int WatchCommand(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: gatilho watch --config FILE COMPANY TYPE REF [REF...]\n"
      "       (REF '-' reads refs from standard input, one per line)";
  po::variables_map vm;
  std::vector<std::string> positional;
  po::options_description options("options");
  options.add_options()("quiet,q", "print only errors");
  if (auto exit_code = ParseCommandLine(args, usage, options, &vm, &positional)) {
    return *exit_code;
  }
  if (positional.size() < 3) {
    PrintError("watch needs a company, a document type and at least one ref\n" + usage);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;

  const std::string& company_id = positional[0];
  Result<const CompanyConfig*> company = FindWatchCompany(*config, company_id);
  if (!company.ok()) {
    PrintError(company.status().message());
    return kExitUsage;
  }
  Result<DocType> type = CheckWatchType(**company, positional[1]);
  if (!type.ok()) {
    PrintError(type.status().message());
    return kExitUsage;
  }

  std::vector<WatchKey> keys;
  std::vector<std::string> problems;
  auto add_ref = [&](const std::string& ref, const std::string& where) {
    std::string problem = RefProblem(ref);
    if (!problem.empty()) {
      problems.push_back(where + problem);
      return;
    }
    keys.push_back(WatchKey{company_id, *type, ref});
  };
  for (size_t i = 2; i < positional.size(); ++i) {
    if (positional[i] != "-") {
      add_ref(positional[i], "");
      continue;
    }
    std::string line;
    for (int line_number = 1; std::getline(std::cin, line); ++line_number) {
      std::string ref = Trim(line);
      if (!ref.empty()) add_ref(ref, "standard input line " + std::to_string(line_number) + ": ");
    }
  }
  if (!problems.empty()) {
    std::string message = "nothing was watched; fix these refs and run again:";
    for (const std::string& problem : problems)
      message += "\n  " + problem;
    PrintError(message);
    return kExitUsage;
  }
  if (keys.empty()) {
    PrintError("no refs given (standard input was empty)");
    return kExitUsage;
  }

  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;
  int64_t now = SystemClock::Instance().WallMs();
  int64_t first_poll = FirstPollMs(*store, company_id, *type, now);
  Result<std::vector<Store::AddOutcome>> outcomes = store->AddWatches(keys, now, first_poll);
  if (!outcomes.ok()) {
    PrintError("could not register the watches: " + outcomes.status().ToString());
    return kExitFailure;
  }
  // The daemon may not be running; the watches are stored either way, so a failed wake-up
  // only delays them until the daemon's next look at the schedule.
  Status notified = ChangeNotifier::Notify(config->global.data_dir);
  if (!notified.ok()) PrintError("warning: " + notified.message());

  if (vm.count("quiet") == 0) {
    size_t created = 0, cycled = 0, unchanged = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      const Store::AddOutcome& outcome = (*outcomes)[i];
      const char* what = "already watched";
      if (outcome.created) {
        what = "watching";
        ++created;
      } else if (outcome.new_cycle) {
        what = "watching again";
        ++cycled;
      } else if (outcome.polled_sooner) {
        what = "already watched, polling again now";
        ++unchanged;
      } else {
        ++unchanged;
      }
      if (keys.size() <= 20) {
        std::cout << keys[i].ToString() << ": " << what << " (cycle " << outcome.cycle << ")\n";
      }
    }
    if (keys.size() > 20) {
      std::cout << created << " new, " << cycled << " new cycles, " << unchanged
                << " already watched\n";
    }
  }
  return kExitOk;
}

}  // namespace gatilho::cli
