#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/url.h"
#include "schedule/completion_model.h"

namespace gatilho::cli {

namespace po = boost::program_options;

namespace {

// The endpoints an operator or a 410 disabled; enabled ones are the normal case and not listed.
void PrintEndpoints(Store& store) {
  Result<std::vector<std::pair<std::string, EndpointRecord>>> endpoints = store.Endpoints();
  if (!endpoints.ok()) return;
  for (const auto& [sink, record] : *endpoints) {
    if (!record.disabled) continue;
    // A URL is stored as configured and may carry credentials; a folder is stored as "file:".
    std::string shown = sink.starts_with("file:") ? sink.substr(5) : UrlForDisplay(sink);
    std::printf("endpoint %s is disabled (%s, %s): `gatilho endpoint enable` delivers its events\n",
                shown.c_str(), record.reason.c_str(), FormatTime(record.changed_ms).c_str());
  }
}

// Listing more watches than this is a job for `--json` and a script, not for a terminal.
constexpr size_t kMaxListed = 1000;

std::string FormatAgo(int64_t ms, int64_t now) {
  if (ms == 0) return "-";
  int64_t delta = (ms - now) / 1000;
  char text[32];
  const char* sign = delta < 0 ? "-" : "+";
  int64_t abs = delta < 0 ? -delta : delta;
  if (abs < 120) {
    std::snprintf(text, sizeof(text), "%s%llds", sign, static_cast<long long>(abs));
  } else if (abs < 7200) {
    std::snprintf(text, sizeof(text), "%s%lldm", sign, static_cast<long long>(abs / 60));
  } else {
    std::snprintf(text, sizeof(text), "%s%lldh", sign, static_cast<long long>(abs / 3600));
  }
  return text;
}

std::string FormatDuration(int64_t ms) {
  char text[32];
  if (ms < 10'000) {
    std::snprintf(text, sizeof(text), "%.1fs", static_cast<double>(ms) / 1000);
  } else if (ms < 120'000) {
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(ms / 1000));
  } else if (ms < 2 * 3'600'000) {
    std::snprintf(text, sizeof(text), "%lldm", static_cast<long long>(ms / 60'000));
  } else {
    std::snprintf(text, sizeof(text), "%lldh", static_cast<long long>(ms / 3'600'000));
  }
  return text;
}

// Per API token: the limit, gatilho's share of it and what polling spent of it in the last
// minute, the share left to the ERP and what the ERP spent, as the daemon last wrote it (every
// few seconds while it runs).
void PrintTokens(Store& store) {
  Result<std::vector<std::pair<std::string, TokenRecord>>> tokens = store.Tokens();
  if (!tokens.ok() || tokens->empty()) return;
  int64_t now = SystemClock::Instance().WallMs();
  std::printf("\ntokens (rate limit per minute, as last seen by the daemon):\n");
  std::printf("  %-22s %-20s %5s %7s %9s %9s %9s %8s %6s %9s %s\n", "TOKEN", "COMPANIES", "LIMIT",
              "GATILHO", "POLLS/MIN", "ERP SHARE", "ERP/MIN", "POLLS", "429S", "VIA PROXY",
              "UPDATED");
  for (const auto& [handle, t] : *tokens) {
    // The API's remaining credits, less what gatilho spent, is what the ERP spent; it is an
    // estimate because the two counts are read at slightly different moments.
    std::string erp = "-";
    if (t.limit > 0 && t.remaining >= 0 && t.reset_at_ms > t.updated_ms) {
      int64_t erp_used = std::max<int64_t>(0, t.limit - t.remaining - t.polls_in_window);
      erp = std::to_string(erp_used);
    }
    std::string paused =
        t.paused_until_ms > now ? "  paused until " + FormatTime(t.paused_until_ms) : "";
    std::printf("  token:%-16s %-20s %5lld %7lld %9lld %9lld %9s %8lld %6lld %9lld %s%s\n",
                handle.c_str(), t.companies.c_str(), static_cast<long long>(t.limit),
                static_cast<long long>(t.share_credits), static_cast<long long>(t.polls_in_window),
                static_cast<long long>(std::max<int64_t>(0, t.limit - t.share_credits)),
                erp.c_str(), static_cast<long long>(t.polls_total),
                static_cast<long long>(t.rate_limited_total),
                static_cast<long long>(t.erp_requests_total), FormatAgo(t.updated_ms, now).c_str(),
                paused.c_str());
  }
}

// Per company and type: how long documents took to finish, as the learner estimates it.
void PrintLearnedTimings(Store& store) {
  Result<std::vector<ModelRecord>> models = store.Models();
  if (!models.ok() || models->empty()) return;
  std::printf("\nlearned time to finish (from completions seen):\n");
  std::printf("  %-16s %-6s %8s %8s %8s %8s\n", "COMPANY", "TYPE", "SEEN", "MEDIAN", "P90", "P99");
  for (const ModelRecord& record : *models) {
    std::optional<CompletionModel> model = CompletionModel::Decode(record.bytes);
    if (!model) continue;
    std::printf("  %-16s %-6s %8llu %8s %8s %8s\n", record.company.c_str(),
                std::string(DocTypeName(record.type)).c_str(),
                static_cast<unsigned long long>(model->observations()),
                FormatDuration(model->Quantile(0.5)).c_str(),
                FormatDuration(model->Quantile(0.9)).c_str(),
                FormatDuration(model->Quantile(0.99)).c_str());
  }
}

int PrintOverview(Store& store) {
  Result<StoreCounts> counts = store.Counts();
  if (!counts.ok()) {
    PrintError(counts.status().ToString());
    return kExitFailure;
  }
  std::printf("watches: %llu pending, %llu following, %llu done, %llu paused, %llu failing\n",
              static_cast<unsigned long long>(counts->watches_pending),
              static_cast<unsigned long long>(counts->watches_following),
              static_cast<unsigned long long>(counts->watches_done),
              static_cast<unsigned long long>(counts->watches_paused),
              static_cast<unsigned long long>(counts->watches_failing));
  std::printf("events:  %llu pending, %llu delivered, %llu dead, %llu superseded\n",
              static_cast<unsigned long long>(counts->events_pending),
              static_cast<unsigned long long>(counts->events_delivered),
              static_cast<unsigned long long>(counts->events_dead),
              static_cast<unsigned long long>(counts->events_superseded));
  PrintEndpoints(store);
  PrintTokens(store);
  PrintLearnedTimings(store);
  return kExitOk;
}

int PrintCompany(Store& store, const std::string& company, std::optional<DocType> type) {
  Result<std::vector<DueWatch>> watches = store.ListWatches(company, type, kMaxListed + 1);
  if (!watches.ok()) {
    PrintError(watches.status().ToString());
    return kExitFailure;
  }
  int64_t now = SystemClock::Instance().WallMs();
  std::printf("%-6s %-28s %-10s %-24s %5s %6s %9s\n", "TYPE", "REF", "STATE", "STATUS", "CYCLE",
              "POLLS", "NEXT POLL");
  size_t shown = 0;
  for (const DueWatch& watch : *watches) {
    if (++shown > kMaxListed) {
      std::printf("... more than %zu watches; narrow it down with a type\n", kMaxListed);
      break;
    }
    const WatchRecord& r = watch.record;
    std::string state(WatchStateName(r.state));
    if (r.error_streak > 0) state += "!";
    std::printf("%-6s %-28s %-10s %-24s %5u %6u %9s\n",
                std::string(DocTypeName(watch.key.type)).c_str(), watch.key.ref.c_str(),
                state.c_str(), r.last_status.empty() ? "-" : r.last_status.c_str(), r.cycle,
                r.poll_count, FormatAgo(r.next_poll_ms, now).c_str());
  }
  if (watches->empty()) std::printf("(no watches)\n");
  return kExitOk;
}

int PrintDocument(Store& store, const WatchKey& key) {
  Result<WatchRecord> record = store.GetWatch(key);
  if (!record.ok()) {
    PrintError(record.status().code() == Status::Code::kNotFound
                   ? key.ToString() + " is not watched"
                   : record.status().ToString());
    return kExitFailure;
  }
  const WatchRecord& r = *record;
  std::printf("%s\n  state %s, status %s, cycle %u, %u polls\n", key.ToString().c_str(),
              std::string(WatchStateName(r.state)).c_str(),
              r.last_status.empty() ? "-" : r.last_status.c_str(), r.cycle, r.poll_count);
  std::printf("  watched %s, cycle started %s, ended %s\n", FormatTime(r.created_ms).c_str(),
              FormatTime(r.cycle_started_ms).c_str(), FormatTime(r.cycle_ended_ms).c_str());
  std::printf("  last poll %s, next poll %s\n", FormatTime(r.last_polled_ms).c_str(),
              FormatTime(r.next_poll_ms).c_str());

  Result<std::vector<HistoryEntry>> history = store.History(key);
  if (history.ok() && !history->empty()) {
    std::printf("\nhistory:\n");
    for (const HistoryEntry& h : *history) {
      std::printf("  %s  cycle %u  %-15s %-24s HTTP %-3d %s\n", FormatTime(h.time_ms).c_str(),
                  h.cycle, h.outcome.c_str(), h.status.empty() ? "-" : h.status.c_str(),
                  h.http_status, h.note.c_str());
    }
  }
  Result<std::vector<EventRecord>> events = store.EventsFor(key);
  if (events.ok() && !events->empty()) {
    std::printf("\nevents:\n");
    for (const EventRecord& e : *events) {
      std::printf("  %s  %-22s %-10s %s  cycle %u, %u attempts\n", FormatTime(e.created_ms).c_str(),
                  e.type.c_str(), std::string(EventStateName(e.state)).c_str(), e.id.c_str(),
                  e.cycle, e.attempts);
      Result<std::vector<AttemptRecord>> attempts = store.Attempts(e.seq);
      if (!attempts.ok()) continue;
      for (const AttemptRecord& a : *attempts) {
        std::string answer = a.http_status != 0 ? "HTTP " + std::to_string(a.http_status) : a.error;
        std::printf("      #%u %s  %s  %lld ms  %s\n", a.number, FormatTime(a.time_ms).c_str(),
                    answer.c_str(), static_cast<long long>(a.duration_ms), a.sink.c_str());
      }
    }
  }
  return kExitOk;
}

}  // namespace

int StatusCommand(const std::vector<std::string>& args) {
  const std::string usage = "usage: gatilho status --config FILE [COMPANY [TYPE [REF]]]";
  po::variables_map vm;
  std::vector<std::string> positional;
  if (auto exit_code =
          ParseCommandLine(args, usage, po::options_description("options"), &vm, &positional)) {
    return *exit_code;
  }
  if (positional.size() > 3) {
    PrintError("too many arguments\n" + usage);
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::optional<Config> config = LoadConfigOrReport(vm["config"].as<std::string>(), &exit_code);
  if (!config) return exit_code;
  std::optional<DocType> type;
  if (positional.size() >= 2) {
    type = ParseDocType(positional[1]);
    if (!type) {
      PrintError("unknown document type '" + positional[1] + "'; use one of " +
                 std::string(DocTypeNames()));
      return kExitUsage;
    }
  }
  std::unique_ptr<Store> store = OpenStoreOrReport(config->global);
  if (!store) return kExitFailure;
  if (positional.empty()) return PrintOverview(*store);
  if (positional.size() == 3)
    return PrintDocument(*store, WatchKey{positional[0], *type, positional[2]});
  return PrintCompany(*store, positional[0], type);
}

}  // namespace gatilho::cli
