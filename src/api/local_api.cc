#include "api/local_api.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "api/event_json.h"
#include "api/metrics.h"
#include "api/status_page.h"
#include "api/watch_request.h"
#include "core/digest.h"
#include "fiscal/api_paths.h"

namespace gatilho {

namespace {

namespace json = boost::json;

constexpr std::string_view kJson = "application/json";

// An answer not yet sent. `error` is set for refusals, which are logged.
struct Reply {
  int status = 200;
  std::string content_type = std::string(kJson);
  std::string body;
  HeaderList headers;
  std::string error;  // the error code of a refusal; empty for a success
};

Reply JsonReply(int status, const json::value& value) {
  Reply reply;
  reply.status = status;
  reply.body = json::serialize(value);
  reply.body += '\n';
  return reply;
}

Reply Error(int status, std::string_view code, std::string_view message) {
  Reply reply = JsonReply(status, json::object{{"error", code}, {"message", message}});
  reply.error = std::string(code);
  return reply;
}

// A store failure is the daemon's problem, not the caller's: 500, and an error line.
Reply StoreError(const Status& status) {
  spdlog::error("local API: the store failed: {}; check the disk and the data_dir permissions",
                status.ToString());
  return Error(500, "store_error",
               "the store failed (" + status.ToString() + "); nothing was changed, try again");
}

json::value TimeValue(int64_t ms) {
  if (ms == 0) return nullptr;
  return json::value(FormatRfc3339(ms));
}

// Compares digests of fixed length, so neither the contents nor the length of the expected
// token shows in how long a refusal takes.
bool SameToken(std::string_view given, std::string_view expected) {
  std::string a = Sha256Hex(given);
  std::string b = Sha256Hex(expected);
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0 && a.size() == b.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text` ('+' as a space when `plus_is_space`, as in a query); nullopt for a
// '%' not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

// The path's segments after the leading '/', decoded; nullopt for a bad escape.
std::optional<std::vector<std::string>> Segments(std::string_view path) {
  std::vector<std::string> segments;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return segments;
  while (true) {
    size_t slash = path.find('/');
    std::optional<std::string> segment = PercentDecode(path.substr(0, slash), false);
    if (!segment) return std::nullopt;
    segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

// The query's parameters, decoded; nullopt for a bad escape. A repeated name keeps the last.
std::optional<std::map<std::string, std::string>> QueryParameters(std::string_view query) {
  std::map<std::string, std::string> parameters;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq), true);
    std::optional<std::string> value =
        PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    if (!name->empty()) parameters[*name] = std::move(*value);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return parameters;
}

// `since`: a duration back from now ("90s", "30m", "2h", "7d") or an RFC 3339 UTC time
// ("2026-12-01T10:00:00Z", fraction allowed).
std::optional<int64_t> ParseSinceParameter(std::string_view text, int64_t now_ms) {
  if (text.size() >= 2) {
    int64_t amount = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
    if (error == std::errc() && end == text.data() + text.size() - 1 && amount >= 0) {
      int64_t unit = 0;
      switch (text.back()) {
        case 's':
          unit = 1'000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        default:
          break;
      }
      if (unit != 0 && amount <= std::numeric_limits<int64_t>::max() / unit) {
        return now_ms - amount * unit;
      }
    }
  }
  struct tm parts {};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  std::string copy(text);
  if (sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
             &second, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(static_cast<size_t>(consumed));
  int64_t millis = 0;
  if (rest.starts_with('.')) {
    size_t digits = 1;
    int64_t scale = 100;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      millis += (rest[digits] - '0') * scale;
      scale /= 10;
      ++digits;
    }
    if (digits == 1) return std::nullopt;
    rest.remove_prefix(digits);
  }
  if (rest != "Z" || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<int64_t>(timegm(&parts)) * 1000 + millis;
}

json::object WatchSummary(const WatchKey& key, const WatchRecord& record) {
  return json::object{{"company", key.company},
                      {"type", DocTypeName(key.type)},
                      {"ref", key.ref},
                      {"state", WatchStateName(record.state)},
                      {"cycle", record.cycle},
                      {"last_status", record.last_status},
                      {"polls", record.poll_count},
                      {"next_poll", TimeValue(record.next_poll_ms)}};
}

json::object TokenJson(const TokenFigures& token) {
  return json::object{{"token", token.handle},
                      {"companies", token.companies},
                      {"limit", token.limit},
                      {"share_cap", token.share_cap},
                      {"used_in_window", token.used_in_window},
                      {"available", token.available},
                      {"erp_requests", token.erp_requests},
                      {"paused", token.paused}};
}

// One request being answered: what every handler needs.
struct Call {
  const ServerRequest& request;
  const Config& config;
  Store& store;
  IntakeLink& link;
  const Clock& clock;
  const LocalApi::Options& options;
};

// A watch named by /v1/watches/{company}/{type}/{ref}, checked as the CLI checks it.
Result<WatchKey> PathWatch(const Call& call, const std::vector<std::string>& segments) {
  Result<const CompanyConfig*> company = FindWatchCompany(call.config, segments[2]);
  if (!company.ok()) return company.status();
  Result<DocType> type = CheckWatchType(**company, segments[3]);
  if (!type.ok()) return type.status();
  if (std::string problem = RefProblem(segments[4]); !problem.empty()) {
    return Status::InvalidArgument(problem);
  }
  return WatchKey{segments[2], *type, segments[4]};
}

Reply StatusError(const Status& status, std::string_view invalid_code) {
  switch (status.code()) {
    case Status::Code::kNotFound:
      return Error(404, "unknown_company", status.message());
    case Status::Code::kInvalidArgument:
      return Error(422, invalid_code, status.message());
    default:
      return StoreError(status);
  }
}

// One item of POST /v1/watches, checked; `where` names it in messages ("watches[3]").
struct ItemProblem {
  int status = 422;
  std::string code;
  std::string message;
};

std::optional<ItemProblem> CheckWatchItem(const Call& call, const json::value& item,
                                          const std::string& where, WatchKey* key) {
  const json::object* object = item.if_object();
  if (object == nullptr) {
    return ItemProblem{422, "invalid_watch",
                       where + " must be an object with company, type and ref"};
  }
  std::array<std::string, 3> fields;
  constexpr std::array<std::string_view, 3> kNames = {"company", "type", "ref"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    const json::value* value = object->if_contains(kNames[i]);
    if (value == nullptr || !value->is_string()) {
      return ItemProblem{422, "invalid_watch",
                         where + "." + std::string(kNames[i]) +
                             (value == nullptr ? " is missing" : " must be a string") +
                             "; each watch needs company, type and ref strings"};
    }
    fields[i] = std::string(value->get_string());
  }
  for (const auto& [name, value] : *object) {
    if (std::find(kNames.begin(), kNames.end(), name) == kNames.end()) {
      return ItemProblem{422, "invalid_watch",
                         where + " has an unknown field '" + std::string(name) +
                             "'; a watch has only company, type and ref"};
    }
  }
  Result<const CompanyConfig*> company = FindWatchCompany(call.config, fields[0]);
  if (!company.ok()) {
    return ItemProblem{404, "unknown_company", where + ": " + company.status().message()};
  }
  Result<DocType> type = CheckWatchType(**company, fields[1]);
  if (!type.ok()) {
    return ItemProblem{422, "invalid_type", where + ".type: " + type.status().message()};
  }
  if (std::string problem = RefProblem(fields[2]); !problem.empty()) {
    return ItemProblem{422, "invalid_ref", where + ".ref: " + problem};
  }
  *key = WatchKey{fields[0], *type, fields[2]};
  return std::nullopt;
}

Reply PostWatches(const Call& call) {
  json::error_code error;
  json::value body = json::parse(call.request.body, error);
  if (error) {
    return Error(400, "malformed_json",
                 "the body is not valid JSON (" + error.message() +
                     "); send {\"company\":..,\"type\":..,\"ref\":..} or {\"watches\":[...]}");
  }
  std::vector<const json::value*> items;
  bool batch = false;
  if (const json::object* object = body.if_object(); object && object->contains("watches")) {
    const json::array* array = object->at("watches").if_array();
    if (array == nullptr || object->size() != 1) {
      return Error(422, "invalid_batch",
                   "a batch is {\"watches\":[...]}: an array of watches and nothing else");
    }
    if (array->empty()) return Error(422, "invalid_batch", "the batch holds no watches");
    if (array->size() > call.options.max_batch) {
      return Error(422, "batch_too_large",
                   "the batch holds " + std::to_string(array->size()) + " watches; send at most " +
                       std::to_string(call.options.max_batch) + " per request");
    }
    batch = true;
    for (const json::value& item : *array)
      items.push_back(&item);
  } else {
    items.push_back(&body);
  }

  std::vector<WatchKey> keys(items.size());
  std::vector<ItemProblem> problems;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string where = batch ? "watches[" + std::to_string(i) + "]" : "the watch";
    if (std::optional<ItemProblem> problem = CheckWatchItem(call, *items[i], where, &keys[i])) {
      problems.push_back(std::move(*problem));
    }
  }
  if (!problems.empty()) {
    // The first problem decides the status; a few more are listed so a batch is fixed in one go.
    constexpr size_t kListed = 5;
    std::string message = "nothing was watched; ";
    for (size_t i = 0; i < problems.size() && i < kListed; ++i)
      message += (i == 0 ? "" : "; ") + problems[i].message;
    if (problems.size() > kListed) {
      message += "; and " + std::to_string(problems.size() - kListed) + " more problems";
    }
    return Error(problems.front().status, problems.front().code, message);
  }

  const int64_t now = call.clock.WallMs();
  std::map<std::pair<std::string, DocType>, int64_t> first_polls;
  std::vector<NewWatch> watches;
  watches.reserve(keys.size());
  for (const WatchKey& key : keys) {
    auto [it, inserted] = first_polls.try_emplace({key.company, key.type}, 0);
    if (inserted) it->second = FirstPollMs(call.store, key.company, key.type, now);
    watches.push_back(NewWatch{key, it->second});
  }
  Result<std::vector<Store::AddOutcome>> outcomes = call.store.AddWatches(watches, now);
  if (!outcomes.ok()) return StoreError(outcomes.status());
  call.link.StoreChanged();

  json::array answer;
  size_t created = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Store::AddOutcome& outcome = (*outcomes)[i];
    created += outcome.created ? 1 : 0;
    answer.push_back(json::object{{"company", keys[i].company},
                                  {"type", DocTypeName(keys[i].type)},
                                  {"ref", keys[i].ref},
                                  {"cycle", outcome.cycle},
                                  {"created", outcome.created},
                                  {"new_cycle", outcome.new_cycle}});
  }
  spdlog::info("local API: {} watches registered ({} new) for {}", keys.size(), created,
               call.request.peer);
  if (!batch) return JsonReply(201, answer.front());
  return JsonReply(201, json::object{{"watches", std::move(answer)}});
}

Reply GetWatch(const Call& call, const WatchKey& key) {
  Result<WatchRecord> record = call.store.GetWatch(key);
  if (!record.ok()) {
    if (record.status().code() == Status::Code::kNotFound) {
      return Error(404, "unknown_watch",
                   "no watch for " + key.ToString() + "; POST it to /v1/watches first");
    }
    return StoreError(record.status());
  }
  Result<std::vector<HistoryEntry>> history = call.store.History(key);
  if (!history.ok()) return StoreError(history.status());
  Result<std::vector<EventRecord>> events = call.store.EventsFor(key);
  if (!events.ok()) return StoreError(events.status());

  json::object out = WatchSummary(key, *record);
  out["created"] = TimeValue(record->created_ms);
  out["cycle_started"] = TimeValue(record->cycle_started_ms);
  out["last_polled"] = TimeValue(record->last_polled_ms);
  out["cycle_ended"] = TimeValue(record->cycle_ended_ms);
  out["error_streak"] = record->error_streak;
  json::array lines;
  for (const HistoryEntry& entry : *history) {
    lines.push_back(json::object{{"time", TimeValue(entry.time_ms)},
                                 {"cycle", entry.cycle},
                                 {"http_status", entry.http_status},
                                 {"outcome", entry.outcome},
                                 {"status", entry.status},
                                 {"note", entry.note}});
  }
  out["history"] = std::move(lines);
  json::array event_list;
  for (const EventRecord& event : *events) {
    Result<std::vector<AttemptRecord>> attempts = call.store.Attempts(event.seq);
    if (!attempts.ok()) return StoreError(attempts.status());
    event_list.push_back(EventJson(event, *attempts));
  }
  out["events"] = std::move(event_list);
  return JsonReply(200, out);
}

Reply DeleteWatch(const Call& call, const WatchKey& key) {
  Status removed = call.store.RemoveWatch(key);
  if (removed.code() == Status::Code::kNotFound) {
    return Error(404, "unknown_watch", "no watch for " + key.ToString() + "; nothing to stop");
  }
  if (!removed.ok()) return StoreError(removed);
  call.link.StoreChanged();
  spdlog::info("local API: stopped watching {} for {}; its history and events stay", key.ToString(),
               call.request.peer);
  return JsonReply(200, json::object{{"company", key.company},
                                     {"type", DocTypeName(key.type)},
                                     {"ref", key.ref},
                                     {"removed", true}});
}

Reply GetEvents(const Call& call) {
  std::optional<std::map<std::string, std::string>> parameters =
      QueryParameters(call.request.Query());
  if (!parameters) {
    return Error(400, "malformed_query", "the query has a '%' not followed by two hex digits");
  }
  constexpr std::array<std::string_view, 4> kKnown = {"company", "state", "since", "limit"};
  for (const auto& [name, value] : *parameters) {
    if (std::find(kKnown.begin(), kKnown.end(), name) == kKnown.end()) {
      return Error(422, "invalid_parameter",
                   "unknown parameter '" + name + "'; use company, state, since and limit");
    }
  }
  const int64_t now = call.clock.WallMs();
  EventQuery query;
  size_t limit = 50;
  bool only_failed = false;
  if (auto it = parameters->find("company"); it != parameters->end() && !it->second.empty()) {
    Result<const CompanyConfig*> company = FindWatchCompany(call.config, it->second);
    if (!company.ok()) return Error(404, "unknown_company", company.status().message());
    query.company = it->second;
  }
  if (auto it = parameters->find("state"); it != parameters->end() && !it->second.empty()) {
    only_failed = it->second == "failed";
    std::optional<EventState> state =
        only_failed ? EventState::kPending : ParseEventState(it->second);
    if (!state) {
      return Error(422, "invalid_parameter",
                   "state '" + it->second +
                       "' is not a state; use pending, failed, delivered, dead or superseded");
    }
    query.state = state;
  }
  if (auto it = parameters->find("since"); it != parameters->end() && !it->second.empty()) {
    std::optional<int64_t> since = ParseSinceParameter(it->second, now);
    if (!since) {
      return Error(422, "invalid_parameter",
                   "since '" + it->second +
                       "' is neither a duration (90s, 30m, 2h, 7d) nor an RFC 3339 UTC time "
                       "(2026-12-01T10:00:00Z)");
    }
    query.since_ms = *since;
  }
  if (auto it = parameters->find("limit"); it != parameters->end()) {
    size_t parsed = 0;
    const std::string& text = it->second;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (error != std::errc() || end != text.data() + text.size() || parsed == 0 ||
        parsed > call.options.max_events) {
      return Error(422, "invalid_parameter",
                   "limit '" + text + "' must be a whole number from 1 to " +
                       std::to_string(call.options.max_events));
    }
    limit = parsed;
  }
  // "failed" is pending with at least one attempt; it is filtered here, so ask for more.
  query.limit = only_failed ? std::numeric_limits<size_t>::max() : limit;
  Result<std::vector<EventRecord>> events = call.store.ListEvents(query);
  if (!events.ok()) return StoreError(events.status());
  json::array out;
  for (const EventRecord& event : *events) {
    if (only_failed && event.attempts == 0) continue;
    if (out.size() == limit) break;
    Result<std::vector<AttemptRecord>> attempts = call.store.Attempts(event.seq);
    if (!attempts.ok()) return StoreError(attempts.status());
    out.push_back(EventJson(event, *attempts));
  }
  return JsonReply(200, json::object{{"events", std::move(out)}});
}

Reply Redeliver(const Call& call, const std::string& id) {
  Result<EventRecord> event = call.store.FindEvent(id);
  if (!event.ok()) {
    if (event.status().code() == Status::Code::kNotFound) {
      return Error(404, "unknown_event",
                   "no event has the id '" + id +
                       "'; GET /v1/events lists the ids (events past their retention are gone)");
    }
    return StoreError(event.status());
  }
  Result<bool> changed = call.store.Redeliver(event->seq, call.clock.WallMs());
  if (!changed.ok()) return StoreError(changed.status());
  if (*changed) {
    call.link.StoreChanged();
    spdlog::info("local API: event {} of {} queued for delivery again for {}", event->id,
                 event->key.ToString(), call.request.peer);
  }
  return JsonReply(200, json::object{{"id", event->id},
                                     {"redelivered", *changed},
                                     {"state", "pending"},
                                     {"message", *changed ? "queued for delivery again"
                                                          : "already pending, left as it is"}});
}

Reply Healthz(const Call& call) {
  RuntimeFigures figures = call.link.Figures();
  const int64_t now = call.clock.WallMs();
  if (figures.published_ms == 0) {
    return Error(503, "starting", "the daemon's loop has not published its figures yet");
  }
  int64_t age = now - figures.published_ms;
  if (age > call.options.healthy_within_ms) {
    return Error(503, "loop_stalled",
                 "the daemon's loop last published its figures " + std::to_string(age / 1000) +
                     " s ago; it may be stuck: see the daemon's log");
  }
  Result<StoreCounts> counts = call.store.Counts();
  if (!counts.ok()) {
    return Error(503, "store_unavailable",
                 "the store does not answer: " + counts.status().ToString());
  }
  return JsonReply(200, json::object{{"status", "ok"},
                                     {"figures_age_ms", age},
                                     {"watches_pending", counts->watches_pending},
                                     {"events_pending", counts->events_pending},
                                     {"events_dead", counts->events_dead}});
}

Reply Metrics(const Call& call) {
  Result<StoreCounts> counts = call.store.Counts();
  if (!counts.ok()) return StoreError(counts.status());
  Reply reply;
  reply.content_type = std::string(kMetricsContentType);
  reply.body = RenderMetrics(call.link.Figures(), *counts);
  return reply;
}

Reply StatusJson(const Call& call) {
  RuntimeFigures figures = call.link.Figures();
  Result<StoreCounts> counts = call.store.Counts();
  if (!counts.ok()) return StoreError(counts.status());
  const int64_t now = call.clock.WallMs();

  // TODO(scale): the pending list and the recent events are found by scanning; an index of
  // pending watches and a newest-first event scan would bound the work.
  Result<std::vector<DueWatch>> watches =
      call.store.ListWatches("", std::nullopt, std::numeric_limits<size_t>::max());
  if (!watches.ok()) return StoreError(watches.status());
  json::array pending;
  for (const DueWatch& watch : *watches) {
    if (pending.size() == call.options.status_pending) break;
    if (watch.record.state == WatchState::kPending || watch.record.state == WatchState::kPaused) {
      pending.push_back(WatchSummary(watch.key, watch.record));
    }
  }
  EventQuery query;
  query.since_ms = now - 24 * 3600 * 1000;
  query.limit = std::numeric_limits<size_t>::max();
  Result<std::vector<EventRecord>> events = call.store.ListEvents(query);
  if (!events.ok()) return StoreError(events.status());
  json::array recent;
  for (auto it = events->rbegin();
       it != events->rend() && recent.size() < call.options.status_events; ++it) {
    json::object event = EventJson(*it, {});
    event.erase("attempt_log");
    recent.push_back(std::move(event));
  }
  json::array failing;
  for (const EndpointFigures& endpoint : figures.endpoints) {
    if (endpoint.breaker != "closed") {
      failing.push_back(json::object{{"sink", endpoint.sink}, {"breaker", endpoint.breaker}});
    }
  }
  json::array tokens;
  for (const TokenFigures& token : figures.tokens)
    tokens.push_back(TokenJson(token));
  return JsonReply(200, json::object{{"generated", FormatRfc3339(now)},
                                     {"figures_published", TimeValue(figures.published_ms)},
                                     {"pending_total", counts->watches_pending},
                                     {"pending", std::move(pending)},
                                     {"recent_events", std::move(recent)},
                                     {"failing_endpoints", std::move(failing)},
                                     {"tokens", std::move(tokens)}});
}

Reply MethodNotAllowed(const ServerRequest& request, std::string_view allow) {
  Reply reply = Error(405, "method_not_allowed",
                      request.method + " is not allowed on " + std::string(request.Path()) +
                          "; use " + std::string(allow));
  reply.headers.emplace_back("Allow", std::string(allow));
  return reply;
}

Reply NotFoundRoute(const ServerRequest& request) {
  return Error(404, "unknown_route",
               "no route " + std::string(request.Path()) +
                   "; the routes are /v1/watches, /v1/watches/{company}/{type}/{ref}, "
                   "/v1/events, /v1/events/{id}/redeliver, /v1/status, /healthz, /metrics and "
                   "/status");
}

Reply Route(const Call& call, const std::vector<std::string>& segments) {
  const ServerRequest& request = call.request;
  const std::string& method = request.method;
  auto is = [&](std::initializer_list<std::string_view> parts) {
    if (segments.size() != parts.size()) return false;
    size_t i = 0;
    for (std::string_view part : parts) {
      if (!part.empty() && segments[i] != part) return false;
      ++i;
    }
    return true;
  };
  if (is({"healthz"})) return method == "GET" ? Healthz(call) : MethodNotAllowed(request, "GET");
  if (is({"metrics"})) return method == "GET" ? Metrics(call) : MethodNotAllowed(request, "GET");
  if (is({"v1", "status"})) {
    return method == "GET" ? StatusJson(call) : MethodNotAllowed(request, "GET");
  }
  if (is({"v1", "watches"})) {
    return method == "POST" ? PostWatches(call) : MethodNotAllowed(request, "POST");
  }
  if (is({"v1", "watches", "", "", ""})) {
    if (method != "GET" && method != "DELETE") return MethodNotAllowed(request, "GET, DELETE");
    Result<WatchKey> key = PathWatch(call, segments);
    if (!key.ok()) return StatusError(key.status(), "invalid_watch");
    return method == "GET" ? GetWatch(call, *key) : DeleteWatch(call, *key);
  }
  if (is({"v1", "events"})) {
    return method == "GET" ? GetEvents(call) : MethodNotAllowed(request, "GET");
  }
  if (is({"v1", "events", "", "redeliver"})) {
    return method == "POST" ? Redeliver(call, segments[2]) : MethodNotAllowed(request, "POST");
  }
  return NotFoundRoute(request);
}

}  // namespace

LocalApi::LocalApi(Store& store, std::shared_ptr<const Config> config, IntakeLink& link,
                   const Clock& clock, Options options)
    : store_(store), link_(link), clock_(clock), options_(options), config_(std::move(config)) {}

void LocalApi::SetConfig(std::shared_ptr<const Config> config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = std::move(config);
}

std::shared_ptr<const Config> LocalApi::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

ServerHandler LocalApi::Handler() const {
  return [this](const ServerRequest& request, ResponseWriter& writer) { Handle(request, writer); };
}

void LocalApi::Handle(const ServerRequest& request, ResponseWriter& writer) const {
  std::shared_ptr<const Config> config = this->config();
  Reply reply;
  std::string_view path = request.Path();
  if (path == "/status") {
    // The page's shell holds no data, so it needs no token: the page asks for one.
    if (request.method == "GET") {
      reply.content_type = "text/html; charset=utf-8";
      reply.body = std::string(StatusPageHtml());
      reply.headers.emplace_back("Cache-Control", "no-store");
      reply.headers.emplace_back("Content-Security-Policy",
                                 "default-src 'none'; script-src 'unsafe-inline'; style-src "
                                 "'unsafe-inline'; connect-src 'self'");
    } else {
      reply = MethodNotAllowed(request, "GET");
    }
  } else {
    std::string_view authorization = request.Header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    bool has_bearer =
        authorization.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), authorization.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        });
    if (!has_bearer) {
      reply = Error(401, "unauthorized",
                    "send the token of api_token_file as `Authorization: Bearer <token>`");
      reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gatilho\"");
    } else if (!SameToken(authorization.substr(kBearer.size()), config->global.api_token)) {
      reply = Error(401, "unauthorized",
                    "the bearer token is wrong; use the token in the file api_token_file names");
      reply.headers.emplace_back("WWW-Authenticate",
                                 "Bearer realm=\"gatilho\", error=\"invalid_token\"");
    } else if (std::optional<std::vector<std::string>> segments = Segments(path); !segments) {
      reply = Error(400, "malformed_path", "the path has a '%' not followed by two hex digits");
    } else {
      Call call{request, *config, store_, link_, clock_, options_};
      try {
        reply = Route(call, *segments);
      } catch (const std::exception& error) {
        // Boost.JSON and the standard library throw only on bugs or memory exhaustion here.
        spdlog::error("local API: {} {} failed: {}", request.method, path, error.what());
        reply = Error(500, "internal", "the request failed inside gatilho; see the daemon's log");
      }
    }
  }
  if (!reply.error.empty()) {
    // Neither the headers (the token) nor the body (it may hold anything) are logged.
    spdlog::info("local API: refused {} {} from {}: {} {}", request.method, path, request.peer,
                 reply.status, reply.error);
  }
  HeaderList headers = std::move(reply.headers);
  headers.emplace_back("Content-Type", reply.content_type);
  writer.Send(reply.status, headers, reply.body);
}

}  // namespace gatilho
