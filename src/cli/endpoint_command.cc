// gatilho endpoint: shows the delivery endpoints, and disables or enables one by hand.
#include <algorithm>
#include <iostream>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "daemon/change_notifier.h"
#include "daemon/delivery_sinks.h"
#include "delivery/dispatcher.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

struct KnownEndpoint {
  std::string key;
  std::string display;
  std::string companies;
};

std::vector<KnownEndpoint> KnownEndpoints(const Config& config) {
  std::vector<KnownEndpoint> known;
  for (const auto& [id, sink] : DeliverySinks(config)) {
    std::string key = Dispatcher::EndpointKey(sink);
    auto it = std::find_if(known.begin(), known.end(), [&](const auto& e) { return e.key == key; });
    if (it == known.end()) {
      known.push_back({key, Dispatcher::EndpointDisplay(sink), id});
    } else {
      it->companies += "," + id;
    }
  }
  return known;
}

}  // namespace

int EndpointCommand(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: gatilho endpoint --config FILE list\n"
      "       gatilho endpoint --config FILE enable|disable URL\n"
      "  URL is a webhook URL as `list` shows it, or a file sink's folder";
  po::variables_map vm;
  std::vector<std::string> positional;
  if (auto exit_code =
          ParseCommandLine(args, usage, po::options_description("options"), &vm, &positional)) {
    return *exit_code;
  }
  const std::string action = positional.empty() ? "" : positional[0];
  const bool list = action == "list";
  if (!list && action != "enable" && action != "disable") {
    PrintError(
        (action.empty() ? std::string("name an action") : "unknown action '" + action + "'") +
        ": use list, enable or disable\n" + usage);
    return kExitUsage;
  }
  if (positional.size() != (list ? 1u : 2u)) {
    PrintError(list ? "list takes no URL\n" + usage : action + " takes exactly one URL\n" + usage);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;
  std::vector<KnownEndpoint> known = KnownEndpoints(*config);
  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;

  if (list) {
    for (const KnownEndpoint& endpoint : known) {
      Result<EndpointRecord> record = store->GetEndpoint(endpoint.key);
      if (!record.ok()) {
        PrintError("could not read endpoint " + endpoint.display + ": " +
                   record.status().ToString());
        return kExitFailure;
      }
      std::cout << endpoint.display << "  " << (record->disabled ? "disabled" : "enabled");
      if (!record->reason.empty()) {
        std::cout << " (" << record->reason << ", " << FormatTime(record->changed_ms) << ")";
      }
      std::cout << "  companies " << endpoint.companies << "\n";
    }
    return kExitOk;
  }

  const std::string& wanted = positional[1];
  auto match = std::find_if(known.begin(), known.end(), [&](const KnownEndpoint& endpoint) {
    return endpoint.display == wanted || endpoint.key == wanted;
  });
  if (match == known.end()) {
    std::string message = "no company delivers to '" + wanted + "'; the endpoints are:";
    for (const KnownEndpoint& endpoint : known)
      message += "\n  " + endpoint.display;
    PrintError(message);
    return kExitUsage;
  }
  const bool disable = action == "disable";
  EndpointRecord record;
  record.disabled = disable;
  record.reason = disable ? "disabled by the operator" : "enabled by the operator";
  record.changed_ms = SystemClock::Instance().WallMs();
  if (Status s = store->PutEndpoint(match->key, record); !s.ok()) {
    PrintError("could not store the change: " + s.ToString());
    return kExitFailure;
  }
  Status notified = ChangeNotifier::Notify(config->global.data_dir);
  if (!notified.ok()) PrintError("warning: " + notified.message());
  std::cout << match->display << ": " << (disable ? "disabled" : "enabled")
            << (disable ? "; its events wait in the outbox until it is enabled again"
                        : "; waiting events go out now")
            << "\n";
  return kExitOk;
}

}  // namespace gatilho::cli
