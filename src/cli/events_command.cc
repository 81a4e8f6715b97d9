// gatilho events: what happened to the outbox's events, with every attempt.
#include <boost/json.hpp>
#include <iostream>
#include <limits>

#include "api/event_json.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/document_type.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

constexpr char kStates[] = "pending, delivered, dead or superseded";

// An event's attempts as aligned lines under it: number, when, what came back, how long it
// took, where it went, the start of the answer.
std::vector<std::string> AttemptLines(const std::vector<AttemptRecord>& attempts) {
  std::vector<std::vector<std::string>> rows;
  for (const AttemptRecord& attempt : attempts) {
    std::string answer =
        attempt.http_status != 0 ? std::to_string(attempt.http_status) : "error: " + attempt.error;
    rows.push_back(
        {"#" + std::to_string(attempt.number), FormatTime(attempt.time_ms), answer,
         std::to_string(attempt.duration_ms) + " ms", attempt.sink,
         attempt.response_excerpt.empty() ? "" : "\"" + attempt.response_excerpt + "\""});
  }
  return FormatTable({}, rows, {3}, "    ");
}

}  // namespace

int EventsCommand(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: gatilho events --config FILE [--company C] [--state S] [--since T] [--limit N]\n"
      "                      [--json]\n"
      "  S is pending, failed (pending after a failed attempt), dead, delivered or superseded;\n"
      "  T is a duration back from now (30m, 2h, 7d) or a local date and time (2026-12-01T10:00)";
  po::variables_map vm;
  std::vector<std::string> positional;
  po::options_description options("options");
  options.add_options()                                                           //
      ("company", po::value<std::string>(), "only this company's events")         //
      ("state", po::value<std::string>(), "only events in this state")            //
      ("since", po::value<std::string>(), "only events created since T")          //
      ("limit", po::value<size_t>()->default_value(50), "list at most N events")  //
      ("json", "one JSON object per event and line, attempts included, for scripts");
  if (auto exit_code = ParseCommandLine(args, usage, options, &vm, &positional)) {
    return *exit_code;
  }
  if (!positional.empty()) {
    PrintError("events takes no arguments besides its options, got '" + positional[0] + "'\n" +
               usage);
    return kExitUsage;
  }
  int64_t now = SystemClock::Instance().WallMs();
  EventQuery query;
  query.limit = vm["limit"].as<size_t>();
  bool only_failed = false;
  if (vm.count("state") != 0) {
    std::string name = vm["state"].as<std::string>();
    only_failed = name == "failed";
    std::optional<EventState> state = only_failed ? EventState::kPending : ParseEventState(name);
    if (!state) {
      PrintError("--state '" + name + "' is not a state; use failed or " + kStates);
      return kExitUsage;
    }
    query.state = state;
  }
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;
  if (auto stop = ReadEventSelection(vm, *config, now, &query)) return *stop;
  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;

  // "failed" is pending with at least one attempt; it is filtered here, so ask for more.
  if (only_failed) query.limit = std::numeric_limits<size_t>::max();
  Result<std::vector<EventRecord>> events = store->ListEvents(query);
  if (!events.ok()) {
    PrintError("could not read the outbox: " + events.status().ToString());
    return kExitFailure;
  }
  size_t shown = 0;
  const size_t limit = vm["limit"].as<size_t>();
  const bool json = vm.count("json") != 0;
  // The human form is one aligned table of events, each followed by its attempts, so the
  // widths are known only once every event was read.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> attempt_lines;
  for (const EventRecord& event : *events) {
    if (only_failed && event.attempts == 0) continue;
    if (shown++ == limit) break;
    Result<std::vector<AttemptRecord>> attempts = store->Attempts(event.seq);
    if (!attempts.ok()) {
      PrintError("could not read the attempts of " + event.id + ": " +
                 attempts.status().ToString());
      return kExitFailure;
    }
    if (json) {
      std::cout << boost::json::serialize(EventJson(event, *attempts)) << "\n";
      continue;
    }
    bool pending = event.state == EventState::kPending;
    rows.push_back({event.id, event.key.ToString(), event.type,
                    std::string(EventStateName(event.state)), FormatTime(event.created_ms),
                    pending ? "next " + FormatTime(event.next_attempt_ms)
                            : "finished " + FormatTime(event.finished_ms),
                    std::to_string(event.attempts)});
    std::vector<std::string> lines;
    if (!attempts->empty() && attempts->front().number > 1) {
      lines.push_back("    (" + std::to_string(attempts->front().number - 1) +
                      " older attempts expired)");
    }
    for (std::string& line : AttemptLines(*attempts))
      lines.push_back(std::move(line));
    attempt_lines.push_back(std::move(lines));
  }
  if (!json && !rows.empty()) {
    std::vector<std::string> table = FormatTable(
        {"ID", "DOCUMENT", "EVENT", "STATE", "CREATED", "NEXT ATTEMPT / FINISHED", "ATTEMPTS"},
        rows, {6});
    std::cout << table[0] << "\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      std::cout << table[i + 1] << "\n";
      for (const std::string& line : attempt_lines[i])
        std::cout << line << "\n";
    }
  }
  if (json) return kExitOk;
  if (shown == 0) std::cout << "no events match\n";
  return kExitOk;
}

}  // namespace gatilho::cli
