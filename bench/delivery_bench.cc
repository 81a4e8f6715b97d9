// delivery_bench: benchmark 3, the delivery path in real time. It runs the daemon's own
// Dispatcher, HttpClient and LMDB Store (delivery_bed.h) against webhook receivers on 127.0.0.1
// (delivery_receiver.h) and measures four things:
//   A. throughput: a backlog of events for one company, whose endpoint answers 204 at once;
//   B. isolation: the same, beside a second company whose endpoint, on a host of its own, holds
//      every answer;
//   B2. isolation on one host: the same, but the slow endpoint is another path on fast's host
//      and port, with twice the default cap;
//   C. delay: events committed one at a time at a steady rate, each followed by Pump() as the
//      daemon does in the poller's turn; the time from the commit to the receiver's arrival.
//
//   delivery_bench --work DIR --out FILE.json [--events N] [--slow-events N]
//                  [--slow-delay-ms MS] [--caps 8,32] [--repeats N] [--rate R] [--seconds S]
//                  [--poll-concurrency N] [--log-level L] [--load TEXT] [--note TEXT]
//
// One thread drives the dispatcher, as the daemon's loop does; each receiver has a thread of its
// own. It prints figures and writes them as JSON; it asserts nothing (benchmarks are not tests).
#include <curl/curl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/statfs.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench_machine.h"
#include "delivery_bed.h"
#include "delivery_receiver.h"
#include "delivery_report.h"

namespace gatilho::bench {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr char kFast[] = "fast";
constexpr char kSlow[] = "slow";
// Every receiver delays only the answers under this path, so slow's endpoint is the same path
// whether it has a host of its own (B) or shares fast's (B2).
constexpr char kSlowPath[] = "/slow";
// The seeding writes this many events per transaction, as a poller's batch commit would.
constexpr size_t kSeedBatch = 5'000;
// The loop never sleeps longer than this, so a stuck try notices its deadline.
constexpr int64_t kMaxSleepMs = 1'000;
constexpr double kTryDeadlineSeconds = 600;

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "delivery_bench: " << message << std::endl;
  std::exit(1);
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}

template <typename T>
T Take(Result<T> result, const std::string& what) {
  if (!result.ok()) Fail(what + ": " + result.status().ToString());
  return std::move(*result);
}

std::unique_ptr<BenchReceiver> StartReceiver(int delay_ms) {
  BenchReceiver::Options options;
  options.status = 204;
  options.delay_ms = delay_ms;
  options.delayed_path = kSlowPath;
  return Take(BenchReceiver::Start(options), "starting a receiver");
}

// CPU seconds (user + system) of the calling thread and of the whole process.
struct CpuTime {
  double thread = 0;
  double process = 0;
};

double Seconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

CpuTime CpuNow() {
  rusage thread{};
  rusage process{};
  getrusage(RUSAGE_THREAD, &thread);
  getrusage(RUSAGE_SELF, &process);
  return {Seconds(thread), Seconds(process)};
}

// Whether every event of `company` was delivered exactly once: the store's view, then the
// receiver's.
DeliveryCheck CheckDeliveries(Store& store, const std::string& company, size_t expected,
                              const std::vector<BenchReceiver::Arrival>& arrivals) {
  DeliveryCheck check;
  check.expected = expected;
  EventQuery query;
  query.company = company;
  query.limit = expected + 1;
  std::vector<EventRecord> events = Take(store.ListEvents(query), "listing events");
  std::unordered_set<std::string> ids;
  for (const BenchReceiver::Arrival& arrival : arrivals)
    ids.insert(arrival.webhook_id);
  check.arrivals = arrivals.size();
  check.duplicates = arrivals.size() - ids.size();
  for (const EventRecord& event : events) {
    if (event.state == EventState::kDelivered) ++check.delivered_in_store;
    if (event.state == EventState::kDelivered && event.attempts != 1) ++check.retried;
    if (ids.count(event.id) == 0) ++check.never_arrived;
  }
  return check;
}

// A, B and B2: `events` events of company "fast" behind an endpoint that answers at once, and,
// unless `place` is kNone, slow_events of company "slow" behind one that holds each answer
// slow_delay_ms. Measured from the first Pump() to the moment the last fast delivery was recorded.
FastTry RunFastLoad(const Settings& settings, size_t cap, SlowPlace place, const std::string& dir) {
  const bool same_host = place == SlowPlace::kSameHost;
  std::unique_ptr<BenchReceiver> fast = StartReceiver(same_host ? settings.slow_delay_ms : 0);
  std::unique_ptr<BenchReceiver> own_host;
  if (place == SlowPlace::kOwnHost) own_host = StartReceiver(settings.slow_delay_ms);
  BenchReceiver& slow = own_host ? *own_host : *fast;
  const std::string fast_url = fast->Url("/webhook");
  const std::string slow_url = slow.Url(std::string(kSlowPath) + "/webhook");
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace(kFast, WebhookSink(fast_url, cap));
  if (place != SlowPlace::kNone) {
    sinks.emplace(kSlow, WebhookSink(slow_url, same_host ? settings.same_host_slow_cap
                                                         : settings.default_cap));
  }
  std::unique_ptr<Bed> bed =
      Take(Bed::Create(dir, sinks, HttpOptionsFor(settings.poll_concurrency, sinks)), "bed");

  const int64_t now = SystemClock::Instance().WallMs();
  const int64_t seed_start = SteadyNs();
  Check(ApplyInBatches(bed->store(),
                       Take(PrepareEvents(bed->store(), kFast, settings.events, now), "seed"),
                       kSeedBatch),
        "seeding fast");
  if (place != SlowPlace::kNone) {
    Check(
        ApplyInBatches(bed->store(),
                       Take(PrepareEvents(bed->store(), kSlow, settings.slow_events, now), "seed"),
                       kSeedBatch),
        "seeding slow");
  }
  FastTry out;
  out.seed_seconds = static_cast<double>(SteadyNs() - seed_start) / 1e9;

  const CpuTime cpu_start = CpuNow();
  const int64_t start = SteadyNs();
  const auto deadline = start + static_cast<int64_t>(kTryDeadlineSeconds * 1e9);
  while (bed->http().endpoint(fast_url).delivered < settings.events) {
    if (SteadyNs() > deadline) Fail("a try ran past its deadline; see the log in the work dir");
    Check(bed->Pump(), "Pump");
    Check(bed->Wait(kMaxSleepMs), "Wait");
  }
  const CpuTime cpu_end = CpuNow();
  const ObservedHttpClient::Endpoint fast_seen = bed->http().endpoint(fast_url);
  const ObservedHttpClient::Endpoint slow_seen = bed->http().endpoint(slow_url);

  const double seconds = static_cast<double>(fast_seen.last_2xx_ns - start) / 1e9;
  const double thousands = static_cast<double>(settings.events) / 1000;
  out.seconds = seconds;
  out.events_per_second = static_cast<double>(settings.events) / seconds;
  out.loop_cpu_ms_per_1000 = (cpu_end.thread - cpu_start.thread) * 1000 / thousands;
  out.process_cpu_ms_per_1000 = (cpu_end.process - cpu_start.process) * 1000 / thousands;
  out.loop_cpu_share = (cpu_end.thread - cpu_start.thread) / seconds;
  out.fast_failed_answers = fast_seen.answered - fast_seen.delivered;
  out.fast_max_in_flight = fast_seen.max_in_flight;
  out.fast_connections = fast->connections();
  std::vector<BenchReceiver::Arrival> arrivals = fast->TakeArrivals();
  // In B2 fast's receiver also read slow's requests: the delayed ones.
  std::erase_if(arrivals, [](const BenchReceiver::Arrival& a) { return a.delayed; });
  out.fast_check = CheckDeliveries(bed->store(), kFast, settings.events, arrivals);
  out.slow_completed = slow_seen.delivered;
  out.slow_max_in_flight = slow_seen.max_in_flight;
  out.slow_max_held = slow.max_held();
  // In B2 one connection may carry either company's requests in turn, so only fast_connections,
  // the receiver's total, means anything there.
  out.slow_connections = own_host ? own_host->connections() : 0;
  bed.reset();
  fs::remove_all(dir);
  return out;
}

// C: `rate` events per second for `seconds`, each committed alone and followed by Pump().
DelayTry RunDelay(const Settings& settings, const std::string& dir) {
  std::unique_ptr<BenchReceiver> receiver = StartReceiver(0);
  const std::string url = receiver->Url("/webhook");
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace(kFast, WebhookSink(url, settings.default_cap));
  std::unique_ptr<Bed> bed =
      Take(Bed::Create(dir, sinks, HttpOptionsFor(settings.poll_concurrency, sinks)), "bed");
  const Clock& clock = SystemClock::Instance();
  const size_t count = static_cast<size_t>(std::llround(settings.rate * settings.seconds));
  std::vector<WatchUpdate> updates =
      Take(PrepareEvents(bed->store(), kFast, count, clock.WallMs()), "preparing events");
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < count; ++i)
    index.emplace(updates[i].events[0].id, i);
  std::vector<int64_t> committed(count, 0);

  const double spacing_ns = 1e9 / settings.rate;
  const int64_t start = SteadyNs();
  const auto deadline = start + static_cast<int64_t>((settings.seconds + 60) * 1e9);
  auto due_ns = [&](size_t i) { return start + static_cast<int64_t>(spacing_ns * i); };
  size_t next = 0;
  while (next < count || bed->http().endpoint(url).delivered < count) {
    if (SteadyNs() > deadline) Fail("the delay try ran past its deadline");
    bool appended = false;
    while (next < count && due_ns(next) <= SteadyNs()) {
      // Stamped at the commit, as the observer stamps the events it writes.
      EventRecord& event = updates[next].events[0];
      event.created_ms = clock.WallMs();
      event.next_attempt_ms = event.created_ms;
      Check(bed->store().Apply({updates[next]}), "Apply");
      committed[next] = SteadyNs();
      Check(bed->Pump(), "Pump");
      ++next;
      appended = true;
    }
    if (!appended) Check(bed->Pump(), "Pump");
    int64_t max_wait = kMaxSleepMs;
    if (next < count) {
      max_wait = std::max<int64_t>(0, (due_ns(next) - SteadyNs() + 999'999) / 1'000'000);
    }
    Check(bed->Wait(max_wait), "Wait");
  }
  const int64_t last_commit = committed.back();

  DelayTry out;
  out.events = count;
  out.achieved_rate =
      count > 1 ? static_cast<double>(count - 1) / (static_cast<double>(last_commit - start) / 1e9)
                : 0;
  std::vector<BenchReceiver::Arrival> arrivals = receiver->TakeArrivals();
  std::vector<double> delays_ms;
  std::unordered_set<std::string> seen;
  for (const BenchReceiver::Arrival& arrival : arrivals) {
    auto found = index.find(arrival.webhook_id);
    if (found == index.end() || !seen.insert(arrival.webhook_id).second) continue;
    delays_ms.push_back(static_cast<double>(arrival.steady_ns - committed[found->second]) / 1e6);
  }
  out.delay = Summarise(delays_ms);
  out.check = CheckDeliveries(bed->store(), kFast, count, arrivals);
  bed.reset();
  fs::remove_all(dir);
  return out;
}

std::string Machine(json::object* out, const std::string& work) {
  const std::string line = DescribeMachine(out);
  // The store commits every attempt durably, so the disk under the work folder is part of the
  // machine.
  struct statfs fs_info {};
  statfs(work.c_str(), &fs_info);
  const std::string store_fs = fs_info.f_type == 0x01021994 ? "tmpfs" : "disk-backed";
  (*out)["store_filesystem"] = store_fs;
  (*out)["libcurl"] = std::string(curl_version());
  return line + "; store on " + store_fs + " (" + work + ")";
}

std::vector<size_t> ParseList(const std::string& value) {
  std::vector<size_t> out;
  std::istringstream list(value);
  for (std::string item; std::getline(list, item, ',');)
    out.push_back(static_cast<size_t>(std::stoul(item)));
  return out;
}

Settings ParseArgs(int argc, char** argv) {
  Settings s;
  // The slow endpoint of B and the endpoint of C keep the gate's default in-flight cap.
  s.default_cap = EndpointGate::Options{}.max_in_flight;
  // B2's slow endpoint alone could fill the per-host limit the run command set before it counted
  // every endpoint of a host (poll_concurrency, 16): the case that starved fast.
  s.same_host_slow_cap = 2 * s.default_cap;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--work") {
      s.work = value;
    } else if (name == "--out") {
      s.out = value;
    } else if (name == "--events") {
      s.events = std::stoul(value);
    } else if (name == "--slow-events") {
      s.slow_events = std::stoul(value);
    } else if (name == "--slow-delay-ms") {
      s.slow_delay_ms = std::stoi(value);
    } else if (name == "--caps") {
      s.caps = ParseList(value);
    } else if (name == "--repeats") {
      s.repeats = std::max(1, std::stoi(value));
    } else if (name == "--rate") {
      s.rate = std::stod(value);
    } else if (name == "--seconds") {
      s.seconds = std::stod(value);
    } else if (name == "--poll-concurrency") {
      s.poll_concurrency = std::stoi(value);
    } else if (name == "--log-level") {
      s.log_level = value;
    } else if (name == "--load") {
      s.load = value;
    } else if (name == "--note") {
      s.note = value;
    } else {
      Fail("unknown option " + name);
    }
  }
  if (s.work.empty() || s.out.empty() || s.caps.empty() || s.events == 0 || s.rate <= 0) {
    Fail(
        "usage: delivery_bench --work DIR --out FILE [--events N] [--slow-events N] "
        "[--slow-delay-ms MS] [--caps 8,32] [--repeats N] [--rate R] [--seconds S] "
        "[--poll-concurrency N] [--log-level L] [--load TEXT] [--note TEXT]");
  }
  return s;
}

// The daemon's logging (same pattern, a flush per line at info), into a file in the work
// folder: the dispatcher writes a line per delivery, and that is part of its cost.
void SetUpLog(const Settings& settings) {
  auto logger = spdlog::basic_logger_mt("gatilho", settings.work + "/gatilho.log", true);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %v");
  logger->set_level(spdlog::level::from_str(settings.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int Main(int argc, char** argv) {
  Settings settings = ParseArgs(argc, argv);
  fs::remove_all(settings.work);
  fs::create_directories(settings.work);
  SetUpLog(settings);

  Report report(settings);
  json::object machine;
  const std::string machine_line = Machine(&machine, settings.work);
  report.Start(machine_line, std::move(machine));

  // The tries of each figure are interleaved, so that a busy minute on the shared machine
  // spreads over every figure instead of sinking one.
  for (int attempt = 1; attempt <= settings.repeats; ++attempt) {
    for (size_t cap : settings.caps) {
      const std::string tag = "cap" + std::to_string(cap) + "-" + std::to_string(attempt);
      report.Alone(cap, attempt,
                   RunFastLoad(settings, cap, SlowPlace::kNone, settings.work + "/a-" + tag));
      if (settings.slow_events > 0) {
        report.WithSlow(
            cap, attempt,
            RunFastLoad(settings, cap, SlowPlace::kOwnHost, settings.work + "/b-" + tag));
        report.SameHost(
            cap, attempt,
            RunFastLoad(settings, cap, SlowPlace::kSameHost, settings.work + "/b2-" + tag));
      }
    }
    report.Delay(attempt, RunDelay(settings, settings.work + "/c-" + std::to_string(attempt)));
  }
  report.Finish();
  return 0;
}

}  // namespace
}  // namespace gatilho::bench

int main(int argc, char** argv) {
  return gatilho::bench::Main(argc, argv);
}
