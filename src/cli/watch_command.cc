#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>

#include "api/watch_request.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/progress_meter.h"
#include "daemon/change_notifier.h"
#include "fiscal/api_paths.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

// Refs registered per store transaction.
constexpr size_t kWatchBatch = 1000;

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
      "       (REF '-' reads refs from standard input, one per line; on a terminal, stderr\n"
      "       shows how many are registered, unless --quiet)";
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
  // A transaction per batch keeps each write short, so a daemon polling on the same store
  // is not held up by one huge transaction, and the progress line moves.
  const bool progress =
      vm.count("quiet") == 0 && keys.size() > kWatchBatch && isatty(STDERR_FILENO) == 1;
  ProgressMeter meter(SystemClock::Instance(), "registered", static_cast<int64_t>(keys.size()));
  std::vector<Store::AddOutcome> outcomes;
  outcomes.reserve(keys.size());
  for (size_t begin = 0; begin < keys.size(); begin += kWatchBatch) {
    size_t end = std::min(keys.size(), begin + kWatchBatch);
    std::vector<WatchKey> batch(keys.begin() + static_cast<std::ptrdiff_t>(begin),
                                keys.begin() + static_cast<std::ptrdiff_t>(end));
    Result<std::vector<Store::AddOutcome>> added = store->AddWatches(batch, now, first_poll);
    if (!added.ok()) {
      if (progress) std::cerr << "\n";
      PrintError("could not register the watches: " + added.status().ToString() +
                 (begin > 0 ? "; the first " + std::to_string(begin) + " of " +
                                  std::to_string(keys.size()) +
                                  " refs were registered, running the command again is harmless"
                            : ""));
      return kExitFailure;
    }
    outcomes.insert(outcomes.end(), added->begin(), added->end());
    if (progress) {
      if (std::optional<std::string> line = meter.Update(static_cast<int64_t>(end))) {
        std::cerr << *line << std::flush;
      }
    }
    // The daemon may not be running; the watches are stored either way, so a failed wake-up
    // only delays them until the daemon's next look at the schedule.
    if (end == keys.size() || begin == 0) {
      Status notified = ChangeNotifier::Notify(config->global.data_dir);
      if (!notified.ok()) PrintError("warning: " + notified.message());
    }
  }

  if (vm.count("quiet") == 0) {
    size_t created = 0, cycled = 0, unchanged = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      const Store::AddOutcome& outcome = outcomes[i];
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
