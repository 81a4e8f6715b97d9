#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/url.h"
#include "daemon/delivery_sinks.h"
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

// The ERP's use of a token in the current window: the API's remaining credits, less what
// gatilho spent. An estimate, because the two counts are read at slightly different moments;
// nullopt when the daemon has not seen the window.
std::optional<int64_t> ErpUsed(const TokenRecord& t) {
  if (t.limit <= 0 || t.remaining < 0 || t.reset_at_ms <= t.updated_ms) return std::nullopt;
  return std::max<int64_t>(0, t.limit - t.remaining - t.polls_in_window);
}

// Per API token: the limit, gatilho's share of it and what polling spent of it in the last
// minute, the share left to the ERP and what the ERP spent, as the daemon last wrote it (every
// few seconds while it runs).
void PrintTokens(Store& store) {
  Result<std::vector<std::pair<std::string, TokenRecord>>> tokens = store.Tokens();
  if (!tokens.ok() || tokens->empty()) return;
  int64_t now = SystemClock::Instance().WallMs();
  std::printf("\ntokens (rate limit per minute, as last seen by the daemon):\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [handle, t] : *tokens) {
    std::optional<int64_t> erp = ErpUsed(t);
    rows.push_back(
        {"token:" + handle, t.companies, std::to_string(t.limit), std::to_string(t.share_credits),
         std::to_string(t.polls_in_window),
         std::to_string(std::max<int64_t>(0, t.limit - t.share_credits)),
         erp ? std::to_string(*erp) : "-", std::to_string(t.polls_total),
         std::to_string(t.rate_limited_total), FormatAgo(t.updated_ms, now),
         t.paused_until_ms > now ? "paused until " + FormatTime(t.paused_until_ms) : ""});
  }
  for (const std::string& line :
       FormatTable({"TOKEN", "COMPANIES", "LIMIT", "GATILHO", "POLLS/MIN", "ERP SHARE", "ERP/MIN",
                    "POLLS", "429S", "UPDATED", ""},
                   rows, {2, 3, 4, 5, 6, 7, 8, 9}, "  "))
    std::printf("%s\n", line.c_str());
}

// Per company and type: how long documents took to finish, as the learner estimates it.
void PrintLearnedTimings(Store& store) {
  Result<std::vector<ModelRecord>> models = store.Models();
  if (!models.ok() || models->empty()) return;
  std::printf("\nlearned time to finish (from completions seen):\n");
  std::vector<std::vector<std::string>> rows;
  for (const ModelRecord& record : *models) {
    std::optional<CompletionModel> model = CompletionModel::Decode(record.bytes);
    if (!model) continue;
    rows.push_back({record.company, std::string(DocTypeName(record.type)),
                    std::to_string(model->observations()), FormatDuration(model->Quantile(0.5)),
                    FormatDuration(model->Quantile(0.9)), FormatDuration(model->Quantile(0.99))});
  }
  for (const std::string& line :
       FormatTable({"COMPANY", "TYPE", "SEEN", "MEDIAN", "P90", "P99"}, rows, {2, 3, 4, 5}, "  "))
    std::printf("%s\n", line.c_str());
}

// Everything the overview shows, as one JSON object for scripts.
int PrintOverviewJson(Store& store, const Config& config) {
  Result<StoreCounts> counts = store.Counts();
  if (!counts.ok()) {
    PrintError(counts.status().ToString());
    return kExitFailure;
  }
  int64_t now = SystemClock::Instance().WallMs();
  auto time = [](int64_t ms) -> boost::json::value {
    if (ms == 0) return nullptr;
    return boost::json::value(FormatRfc3339(ms));
  };
  boost::json::object out;
  out["watches"] = {{"pending", counts->watches_pending},
                    {"following", counts->watches_following},
                    {"done", counts->watches_done},
                    {"paused", counts->watches_paused},
                    {"failing", counts->watches_failing}};
  out["events"] = {{"pending", counts->events_pending},
                   {"delivered", counts->events_delivered},
                   {"dead", counts->events_dead},
                   {"superseded", counts->events_superseded}};

  std::map<std::string, EndpointRecord> records;
  if (auto endpoints = store.Endpoints(); endpoints.ok()) {
    for (auto& [sink, record] : *endpoints)
      records[sink] = record;
  }
  boost::json::array companies, endpoints;
  std::set<std::string> listed;
  for (const auto& [id, sink] : DeliverySinks(config)) {
    const CompanyConfig& company = config.companies.at(id);
    boost::json::array types;
    for (DocType type : company.types)
      types.push_back(boost::json::string(DocTypeName(type)));
    std::string key = Dispatcher::EndpointKey(sink);
    std::string shown = Dispatcher::EndpointDisplay(sink);
    companies.push_back({{"id", id},
                         {"sink", sink.kind == DeliverySink::Kind::kFile ? "file" : "webhook"},
                         {"endpoint", shown},
                         {"types", std::move(types)}});
    if (!listed.insert(key).second) continue;
    EndpointRecord record = records.count(key) ? records[key] : EndpointRecord{};
    endpoints.push_back({{"endpoint", shown},
                         {"disabled", record.disabled},
                         {"reason", record.reason},
                         {"changed", time(record.changed_ms)}});
  }
  out["companies"] = std::move(companies);
  out["endpoints"] = std::move(endpoints);

  boost::json::array tokens;
  if (auto records_of_tokens = store.Tokens(); records_of_tokens.ok()) {
    for (const auto& [handle, t] : *records_of_tokens) {
      std::optional<int64_t> erp = ErpUsed(t);
      tokens.push_back(
          {{"token", "token:" + handle},
           {"companies", t.companies},
           {"limit", t.limit},
           {"share_credits", t.share_credits},
           {"polls_in_window", t.polls_in_window},
           {"credits_left", std::max<int64_t>(0, t.share_credits - t.polls_in_window)},
           {"erp_share", std::max<int64_t>(0, t.limit - t.share_credits)},
           {"erp_used", erp ? boost::json::value(*erp) : boost::json::value(nullptr)},
           {"polls_total", t.polls_total},
           {"rate_limited_total", t.rate_limited_total},
           {"paused_until", t.paused_until_ms > now ? time(t.paused_until_ms) : nullptr},
           {"updated", time(t.updated_ms)}});
    }
  }
  out["tokens"] = std::move(tokens);

  boost::json::array learned;
  if (auto models = store.Models(); models.ok()) {
    for (const ModelRecord& record : *models) {
      std::optional<CompletionModel> model = CompletionModel::Decode(record.bytes);
      if (!model) continue;
      learned.push_back({{"company", record.company},
                         {"type", DocTypeName(record.type)},
                         {"seen", model->observations()},
                         {"median_ms", model->Quantile(0.5)},
                         {"p90_ms", model->Quantile(0.9)},
                         {"p99_ms", model->Quantile(0.99)}});
    }
  }
  out["learned"] = std::move(learned);
  std::cout << boost::json::serialize(out) << "\n";
  return kExitOk;
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
  std::vector<std::vector<std::string>> rows;
  bool truncated = false;
  for (const DueWatch& watch : *watches) {
    if (rows.size() == kMaxListed) {
      truncated = true;
      break;
    }
    const WatchRecord& r = watch.record;
    std::string state(WatchStateName(r.state));
    if (r.error_streak > 0) state += "!";
    rows.push_back({std::string(DocTypeName(watch.key.type)), watch.key.ref, state,
                    r.last_status.empty() ? "-" : r.last_status, std::to_string(r.cycle),
                    std::to_string(r.poll_count), FormatAgo(r.next_poll_ms, now)});
  }
  for (const std::string& line : FormatTable(
           {"TYPE", "REF", "STATE", "STATUS", "CYCLE", "POLLS", "NEXT POLL"}, rows, {4, 5, 6}))
    std::printf("%s\n", line.c_str());
  if (truncated) std::printf("... more than %zu watches; narrow it down with a type\n", kMaxListed);
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
  const std::string usage = "usage: gatilho status --config FILE [--json] [COMPANY [TYPE [REF]]]";
  po::variables_map vm;
  std::vector<std::string> positional;
  po::options_description options("options");
  options.add_options()("json",
                        "the overview as one JSON object (counts by state, companies, endpoints, "
                        "tokens and their credits, learned timings), for scripts");
  if (auto exit_code = ParseCommandLine(args, usage, options, &vm, &positional)) {
    return *exit_code;
  }
  const bool json = vm.count("json") != 0;
  if (json && !positional.empty()) {
    PrintError("--json shows the overview; leave out the company, type and ref\n" + usage);
    return kExitUsage;
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
  if (json) return PrintOverviewJson(*store, *config);
  if (positional.empty()) return PrintOverview(*store);
  if (positional.size() == 3)
    return PrintDocument(*store, WatchKey{positional[0], *type, positional[2]});
  return PrintCompany(*store, positional[0], type);
}

}  // namespace gatilho::cli
