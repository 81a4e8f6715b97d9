// gatilho redeliver: puts events back in the outbox, keeping their webhook-id.
#include <iostream>
#include <limits>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "daemon/change_notifier.h"

namespace gatilho::cli {

namespace po = boost::program_options;

int RedeliverCommand(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: gatilho redeliver --config FILE EVENT-ID...\n"
      "       gatilho redeliver --config FILE --dead [--company C] [--since T]\n"
      "  EVENT-ID is the webhook-id `gatilho events` lists";
  po::variables_map vm;
  std::vector<std::string> ids;
  po::options_description options("options");
  options.add_options()                                                        //
      ("dead", "every dead-lettered event (of --company, since --since)")      //
      ("company", po::value<std::string>(), "with --dead: only this company")  //
      ("since", po::value<std::string>(), "with --dead: only events created since T");
  if (auto exit_code = ParseCommandLine(args, usage, options, &vm, &ids)) return *exit_code;
  const bool dead = vm.count("dead") != 0;
  if (dead == !ids.empty()) {
    PrintError(std::string(dead ? "give either --dead or event ids, not both"
                                : "name the events to redeliver, or pass --dead") +
               "\n" + usage);
    return kExitUsage;
  }
  if (!dead && (vm.count("company") != 0 || vm.count("since") != 0)) {
    PrintError("--company and --since select dead events; they go with --dead\n" + usage);
    return kExitUsage;
  }
  int64_t now = SystemClock::Instance().WallMs();
  EventQuery query;
  query.state = EventState::kDead;
  query.limit = std::numeric_limits<size_t>::max();
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;
  if (auto stop = ReadEventSelection(vm, *config, now, &query)) return *stop;
  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;

  // Every id is looked up before any event is touched, so a typo changes nothing.
  std::vector<EventRecord> chosen;
  if (dead) {
    Result<std::vector<EventRecord>> listed = store->ListEvents(query);
    if (!listed.ok()) {
      PrintError("could not read the outbox: " + listed.status().ToString());
      return kExitFailure;
    }
    chosen = std::move(*listed);
  } else {
    std::vector<std::string> unknown;
    for (const std::string& id : ids) {
      Result<EventRecord> event = store->FindEvent(id);
      if (event.ok()) {
        chosen.push_back(std::move(*event));
      } else if (event.status().code() == Status::Code::kNotFound) {
        unknown.push_back(id);
      } else {
        PrintError("could not read event " + id + ": " + event.status().ToString());
        return kExitFailure;
      }
    }
    if (!unknown.empty()) {
      std::string message = "nothing was redelivered; no event has these ids:";
      for (const std::string& id : unknown)
        message += "\n  " + id;
      PrintError(message +
                 "\n`gatilho events` lists the ids (events past their retention are gone)");
      return kExitUsage;
    }
  }
  size_t queued = 0;
  for (const EventRecord& event : chosen) {
    Result<bool> changed = store->Redeliver(event.seq, now);
    if (!changed.ok()) {
      PrintError("could not redeliver " + event.id + ": " + changed.status().ToString() + " (" +
                 std::to_string(queued) + " already queued)");
      return kExitFailure;
    }
    queued += *changed ? 1 : 0;
    std::cout << event.id << "  " << event.key.ToString() << "  " << event.type << ": "
              << (*changed ? "queued for delivery again" : "already pending, left as it is")
              << "\n";
  }
  if (chosen.empty()) std::cout << "no dead events match\n";
  Status notified = ChangeNotifier::Notify(config->global.data_dir);
  if (!notified.ok()) PrintError("warning: " + notified.message());
  return kExitOk;
}

}  // namespace gatilho::cli
