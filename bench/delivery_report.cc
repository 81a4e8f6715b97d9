// The delivery benchmark's printing and JSON; see delivery_report.h.
#include "delivery_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace gatilho::bench {

namespace {

namespace json = boost::json;

constexpr double kIsolationTarget = 0.90;

double Round(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

template <typename T, typename F>
double MedianOf(const std::vector<T>& tries, F field) {
  std::vector<double> values;
  values.reserve(tries.size());
  for (const T& one : tries)
    values.push_back(static_cast<double>(field(one)));
  return Median(std::move(values));
}

std::string CheckLine(const DeliveryCheck& check) {
  char line[200];
  if (check.Clean()) {
    std::snprintf(line, sizeof(line), "all %zu delivered once, no duplicate webhook-id",
                  check.expected);
  } else {
    std::snprintf(line, sizeof(line),
                  "NOT CLEAN: %zu of %zu delivered in the store, %zu retried, %zu duplicate "
                  "webhook-ids, %zu never arrived",
                  check.delivered_in_store, check.expected, check.retried, check.duplicates,
                  check.never_arrived);
  }
  return line;
}

json::object CheckJson(const DeliveryCheck& check) {
  return {{"expected", check.expected},
          {"delivered_in_store", check.delivered_in_store},
          {"retried", check.retried},
          {"arrivals", check.arrivals},
          {"duplicate_webhook_ids", check.duplicates},
          {"never_arrived", check.never_arrived},
          {"clean", check.Clean()}};
}

json::object FastJson(const FastTry& one, SlowPlace place) {
  json::object out{{"events_per_second", Round(one.events_per_second, 0)},
                   {"seconds", Round(one.seconds, 3)},
                   {"loop_cpu_ms_per_1000", Round(one.loop_cpu_ms_per_1000, 1)},
                   {"process_cpu_ms_per_1000", Round(one.process_cpu_ms_per_1000, 1)},
                   {"loop_cpu_share", Round(one.loop_cpu_share, 2)},
                   {"failed_answers", one.fast_failed_answers},
                   {"max_in_flight_seen", one.fast_max_in_flight},
                   {"receiver_connections", one.fast_connections},
                   {"seed_seconds", Round(one.seed_seconds, 2)},
                   {"check", CheckJson(one.fast_check)}};
  if (place != SlowPlace::kNone) {
    out["slow_completed"] = one.slow_completed;
    out["slow_max_in_flight_seen"] = one.slow_max_in_flight;
    out["slow_max_held_at_receiver"] = one.slow_max_held;
  }
  if (place == SlowPlace::kOwnHost) out["slow_receiver_connections"] = one.slow_connections;
  return out;
}

json::object PercentilesJson(const Percentiles& p) {
  return {{"p50_ms", Round(p.p50, 3)},
          {"p95_ms", Round(p.p95, 3)},
          {"p99_ms", Round(p.p99, 3)},
          {"max_ms", Round(p.max, 3)}};
}

void Row(const std::string& label, const std::string& value) {
  std::printf("%-62s %12s\n", label.c_str(), value.c_str());
}

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// B's or B2's figures for one cap, as rows and as JSON: fast's median beside slow over its
// median alone (`alone`, `alone_eps`). Clears *clean if a try was not.
json::object Isolation(SlowPlace place, size_t slow_cap, const std::string& cap,
                       const std::vector<FastTry>& alone, double alone_eps,
                       const std::vector<FastTry>& beside, bool* clean) {
  const bool same_host = place == SlowPlace::kSameHost;
  const std::string name = same_host ? "B2: " : "B: ";
  const double with = MedianOf(beside, [](const FastTry& t) { return t.events_per_second; });
  const double ratio = alone_eps > 0 ? with / alone_eps : 0;
  const double completed = MedianOf(beside, [](const FastTry& t) { return t.slow_completed; });
  size_t most = 0;
  size_t held = 0;
  json::array each;
  json::array paired;
  for (size_t i = 0; i < beside.size(); ++i) {
    *clean = *clean && beside[i].fast_check.Clean();
    most = std::max(most, beside[i].slow_max_in_flight);
    held = std::max(held, beside[i].slow_max_held);
    each.push_back(FastJson(beside[i], place));
    if (i < alone.size()) {
      paired.push_back(Round(beside[i].events_per_second / alone[i].events_per_second, 3));
    }
  }
  const bool met = ratio >= kIsolationTarget;
  Row(name + "fast events/s with slow " + (same_host ? "on the same host" : "alongside") +
          ", max_in_flight " + cap,
      Fixed(with, 0));
  Row(name + "ratio with slow / alone (target >= 0.90), " + cap + (met ? " [MET]" : " [MISSED]"),
      Fixed(ratio, 3));
  Row(name + "slow deliveries completed meanwhile, " + cap, Fixed(completed, 0));
  Row(name + "slow's most in flight, client / receiver (cap " + std::to_string(slow_cap) + "), " +
          cap,
      std::to_string(most) + " / " + std::to_string(held));
  return json::object{{"median_fast_events_per_second_alone", Round(alone_eps, 0)},
                      {"median_fast_events_per_second_with_slow", Round(with, 0)},
                      {"ratio", Round(ratio, 3)},
                      {"target", kIsolationTarget},
                      {"met", met},
                      {"ratio_of_each_try_pair", std::move(paired)},
                      {"median_slow_completed", completed},
                      {"slow_cap", slow_cap},
                      {"slow_max_in_flight_seen", most},
                      {"slow_max_held_at_receiver", held},
                      {"tries", std::move(each)}};
}

}  // namespace

Percentiles Summarise(std::vector<double>& values) {
  Percentiles out;
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  auto rank = [&](double p) {
    const size_t at = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(at, 1, values.size()) - 1];
  };
  out.p50 = rank(0.50);
  out.p95 = rank(0.95);
  out.p99 = rank(0.99);
  out.max = values.back();
  return out;
}

void Report::Start(const std::string& machine_line, json::object machine) {
  machine["load_before"] = settings_.load;
  machine["note"] = settings_.note;
  root_["machine"] = std::move(machine);
  root_["settings"] = json::object{{"events", settings_.events},
                                   {"slow_events", settings_.slow_events},
                                   {"slow_delay_ms", settings_.slow_delay_ms},
                                   {"same_host_slow_cap", settings_.same_host_slow_cap},
                                   {"repeats", settings_.repeats},
                                   {"delay_rate_per_second", settings_.rate},
                                   {"delay_seconds", settings_.seconds},
                                   {"poll_concurrency_for_http_sizing", settings_.poll_concurrency},
                                   {"log_level", settings_.log_level}};
  std::printf("machine: %s\nload before: %s\n", machine_line.c_str(), settings_.load.c_str());
  if (!settings_.note.empty()) std::printf("note: %s\n", settings_.note.c_str());
  std::printf(
      "the real Dispatcher, HttpClient and LMDB store on one thread, as the daemon's loop runs\n"
      "them; each receiver (127.0.0.1, keep-alive) has a thread of its own on the same cores.\n"
      "every delivery attempt is a durable store commit; the log is written at %s level.\n\n",
      settings_.log_level.c_str());
  std::fflush(stdout);
}

void Report::Alone(size_t cap, int attempt, const FastTry& result) {
  alone_[cap].push_back(result);
  std::printf(
      "  try %d, A max_in_flight %zu: %.0f events/s (%.2f s); loop CPU %.1f ms per 1000 "
      "(process %.1f), loop busy %.0f%%; %zu in flight at most over %zu connections; %s\n",
      attempt, cap, result.events_per_second, result.seconds, result.loop_cpu_ms_per_1000,
      result.process_cpu_ms_per_1000, result.loop_cpu_share * 100, result.fast_max_in_flight,
      result.fast_connections, CheckLine(result.fast_check).c_str());
  std::fflush(stdout);
}

void Report::WithSlow(size_t cap, int attempt, const FastTry& result) {
  with_slow_[cap].push_back(result);
  std::printf(
      "  try %d, B max_in_flight %zu, slow alongside: fast %.0f events/s (%.2f s), loop CPU %.1f "
      "ms per 1000; %s; slow: %llu completed, at most %zu in flight (%zu held at the "
      "receiver) over %zu connections\n",
      attempt, cap, result.events_per_second, result.seconds, result.loop_cpu_ms_per_1000,
      CheckLine(result.fast_check).c_str(), static_cast<unsigned long long>(result.slow_completed),
      result.slow_max_in_flight, result.slow_max_held, result.slow_connections);
  std::fflush(stdout);
}

void Report::SameHost(size_t cap, int attempt, const FastTry& result) {
  same_host_[cap].push_back(result);
  std::printf(
      "  try %d, B2 max_in_flight %zu, slow on the same host and port: fast %.0f events/s (%.2f "
      "s), loop CPU %.1f ms per 1000; %s; slow (cap %zu): %llu completed, at most %zu in flight "
      "(%zu held at the receiver); %zu connections to the shared receiver\n",
      attempt, cap, result.events_per_second, result.seconds, result.loop_cpu_ms_per_1000,
      CheckLine(result.fast_check).c_str(), settings_.same_host_slow_cap,
      static_cast<unsigned long long>(result.slow_completed), result.slow_max_in_flight,
      result.slow_max_held, result.fast_connections);
  std::fflush(stdout);
}

void Report::Delay(int attempt, const DelayTry& result) {
  delay_.push_back(result);
  std::printf(
      "  try %d, C %zu events at %.0f/s: delay p50 %.2f ms, p95 %.2f, p99 %.2f, max %.2f; "
      "%s\n",
      attempt, result.events, result.achieved_rate, result.delay.p50, result.delay.p95,
      result.delay.p99, result.delay.max, CheckLine(result.check).c_str());
  std::fflush(stdout);
}

void Report::Finish() {
  bool clean = true;
  json::object throughput;
  json::object isolation;
  json::object same_host;
  std::printf("\n");
  Row("figure (median of " + std::to_string(settings_.repeats) + " tries)", "value");
  for (const auto& [cap, tries] : alone_) {
    const std::string c = std::to_string(cap);
    const double eps = MedianOf(tries, [](const FastTry& t) { return t.events_per_second; });
    const double cpu = MedianOf(tries, [](const FastTry& t) { return t.loop_cpu_ms_per_1000; });
    const double all_cpu =
        MedianOf(tries, [](const FastTry& t) { return t.process_cpu_ms_per_1000; });
    json::array each;
    for (const FastTry& one : tries) {
      clean = clean && one.fast_check.Clean();
      each.push_back(FastJson(one, SlowPlace::kNone));
    }
    throughput["max_in_flight_" + c] =
        json::object{{"median_events_per_second", Round(eps, 0)},
                     {"median_loop_cpu_ms_per_1000", Round(cpu, 1)},
                     {"median_process_cpu_ms_per_1000", Round(all_cpu, 1)},
                     {"tries", std::move(each)}};
    Row("A: events/s delivered, max_in_flight " + c, Fixed(eps, 0));
    Row("A: loop CPU ms per 1000 deliveries, max_in_flight " + c, Fixed(cpu, 1));
    Row("A: process CPU ms per 1000 (with receiver), max_in_flight " + c, Fixed(all_cpu, 1));

    auto slow = with_slow_.find(cap);
    if (slow != with_slow_.end()) {
      isolation["max_in_flight_" + c] = Isolation(SlowPlace::kOwnHost, settings_.default_cap, c,
                                                  tries, eps, slow->second, &clean);
    }
    auto same = same_host_.find(cap);
    if (same != same_host_.end()) {
      same_host["max_in_flight_" + c] = Isolation(
          SlowPlace::kSameHost, settings_.same_host_slow_cap, c, tries, eps, same->second, &clean);
    }
  }

  json::array delay_tries;
  for (const DelayTry& one : delay_) {
    clean = clean && one.check.Clean();
    json::object entry = PercentilesJson(one.delay);
    entry["events"] = one.events;
    entry["achieved_rate"] = Round(one.achieved_rate, 1);
    entry["check"] = CheckJson(one.check);
    delay_tries.push_back(std::move(entry));
  }
  Percentiles median;
  median.p50 = MedianOf(delay_, [](const DelayTry& t) { return t.delay.p50; });
  median.p95 = MedianOf(delay_, [](const DelayTry& t) { return t.delay.p95; });
  median.p99 = MedianOf(delay_, [](const DelayTry& t) { return t.delay.p99; });
  median.max = MedianOf(delay_, [](const DelayTry& t) { return t.delay.max; });
  json::object delay = PercentilesJson(median);
  delay["rate_per_second"] = settings_.rate;
  delay["seconds"] = settings_.seconds;
  delay["tries"] = std::move(delay_tries);
  const std::string rate = Fixed(settings_.rate, 0) + "/s";
  Row("C: delay p50 ms, commit to arrival, " + rate, Fixed(median.p50, 2));
  Row("C: delay p95 ms", Fixed(median.p95, 2));
  Row("C: delay p99 ms", Fixed(median.p99, 2));
  Row("C: delay max ms", Fixed(median.max, 2));
  Row("every event delivered once, no duplicates (every try)", clean ? "yes" : "NO");

  root_["throughput"] = std::move(throughput);
  root_["isolation"] = std::move(isolation);
  root_["isolation_same_host"] = std::move(same_host);
  root_["delay"] = std::move(delay);
  root_["every_try_clean"] = clean;
  root_["notes"] = json::array{
      "events/s: events / (first Pump() to the callback that recorded the last fast delivery "
      "in the store)",
      "loop CPU: getrusage(RUSAGE_THREAD) of the thread running Pump()/Poll(), the daemon's "
      "share; process CPU adds the receivers' threads",
      "B ratio: median fast events/s with slow alongside over median alone, same cap; B2 the "
      "same with slow's endpoint a path (/slow) of fast's host and port, whose one receiver "
      "counts both companies' connections in receiver_connections",
      "C: medians over the tries of each try's percentile; delay = receiver's steady-clock "
      "arrival minus the steady-clock time Store::Apply returned"};

  std::filesystem::path out(settings_.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  std::ofstream file(settings_.out, std::ios::trunc);
  file << json::serialize(root_) << "\n";
  if (!file.flush()) {
    std::cerr << "delivery_bench: cannot write " << settings_.out << std::endl;
    return;
  }
  std::printf("\nwritten: %s\n", settings_.out.c_str());
}

}  // namespace gatilho::bench
