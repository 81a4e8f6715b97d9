// The FAULTS suite: the real daemon against a simulated API that breaks in every way it knows at
// once (5xx, malformed JSON, HTML pages, dropped and reset connections, bodies cut short, answers
// held past the poll timeout, lone 429s and periodic 429 storms) and a receiver that fails, hangs
// and answers slowly at the same time. The daemon must not exit, must deliver every event the
// API's final state justifies under one stable webhook-id and nothing else, and its memory must
// stay bounded.
//
// SHORT form (default): 200 documents in three waves of watches. LONG form
// (GATILHO_RELIABILITY=long): 2400 documents in twelve waves 20 s apart, so the run lasts
// several minutes. Prints one `RELIABILITY faults:` line.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/bridge_fixture.h"
#include "reliability/reliability_form.h"

namespace gatilho::testing {
namespace {

const std::vector<std::string> kTypes = {"nfe", "nfce", "nfse", "nfsen", "cte", "mdfe", "nfcom"};

// The daemon gives a poll 20 s (Poller::Options::request_timeout_ms, not configurable), so a
// held answer of 25 s is a timeout for it; its failed polls back off 5 s, 10 s, 20 s..., which
// is why the rates stay in the low percents: a document meeting three broken polls in a row
// already waits 35 s. A storm of 1.5 s every 7 s keeps the tokens pausing and probing.
constexpr char kApiFaults[] =
    R"({"fault_5xx":0.02,"fault_malformed":0.015,"fault_html":0.015,"fault_drop":0.015,)"
    R"("fault_timeout":0.01,"timeout_ms":25000,"fault_truncated":0.02,"fault_reset":0.02,)"
    R"("fault_429":0.02,"storm_ms":1500,"storm_every_ms":7000})";
// Deliveries time out after 2 s (delivery_timeout_seconds below); a hang holds the answer 5 s.
const std::vector<std::string> kReceiverFaults = {"--fail-rate", "0.08", "--hang-rate", "0.02",
                                                  "--hang-ms",   "5000", "--delay-ms",  "150"};

// Peak resident memory allowed; the daemon's own figure for 100 000 watches is under 50 MiB.
constexpr int64_t kPeakRssBoundKib = 128 * 1024;
// How much the last third's highest RSS may exceed the first third's.
constexpr int64_t kRssGrowthMarginKib = 24 * 1024;

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"), or -1 when it cannot be read.
int64_t ProcStatusKib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Whether the process is still running (not gone, not a zombie).
bool Running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

// Samples a process's VmRSS twice a second on its own thread, and notices if it stops running.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { Loop(); }) {}
  ~RssSampler() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<int64_t> samples() {
    std::lock_guard lock(mu_);
    return samples_;
  }
  bool exited() const { return exited_; }

 private:
  void Loop() {
    while (!stop_) {
      const int64_t rss = ProcStatusKib(pid_, "VmRSS");
      if (rss < 0 || !Running(pid_)) {
        exited_ = true;
        return;
      }
      {
        std::lock_guard lock(mu_);
        samples_.push_back(rss);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  const pid_t pid_;
  std::mutex mu_;
  std::vector<int64_t> samples_;  // GUARDED_BY(mu_)
  std::atomic<bool> stop_{false};
  std::atomic<bool> exited_{false};
  std::thread thread_;
};

class FaultTest : public BridgeFixture {
 protected:
  // The events the receiver acknowledged in time: deliveries it recorded without holding the
  // answer past the daemon's delivery timeout.
  std::set<EventKey> TimelyEvents() {
    std::set<EventKey> out;
    std::istringstream lines(ReadFile(dir_.Sub("received.jsonl")));
    for (std::string line; std::getline(lines, line);) {
      boost::system::error_code ec;
      boost::json::value parsed = boost::json::parse(line, ec);
      if (ec || !parsed.is_object()) continue;  // a line still being written
      const boost::json::object& d = parsed.as_object();
      if (d.contains("late") && d.at("late").as_bool()) continue;
      out.insert({std::string(d.at("company").as_string()),
                  std::string(d.at("document").as_string()),
                  std::string(d.at("event").as_string())});
    }
    return out;
  }

  // Waits until every expected event was acknowledged in time; returns those still missing.
  std::set<EventKey> WaitForTimelyEvents(const std::set<EventKey>& expected, int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
      const std::set<EventKey> timely = TimelyEvents();
      std::set<EventKey> missing;
      std::set_difference(expected.begin(), expected.end(), timely.begin(), timely.end(),
                          std::inserter(missing, missing.end()));
      if (missing.empty() || std::chrono::steady_clock::now() > deadline) return missing;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  int64_t Figure(const boost::json::object& object, const std::string& name) {
    return object.contains(name) ? object.at(name).to_number<int64_t>() : -1;
  }
};

TEST_F(FaultTest, CombinedFaultsCauseNoCrashNoWrongAndNoLostEvent) {
  const bool long_form = LongReliabilityForm();
  const int documents = long_form ? 2400 : 200;
  const int waves = long_form ? 12 : 3;
  const auto wave_gap = std::chrono::seconds(long_form ? 20 : 6);
  const auto started = std::chrono::steady_clock::now();

  // Fast processing (SEFAZ types in a fraction of a second, NFS-e in about one) and a limit high
  // enough that the faults, not the rate limit, decide the pace.
  StartApi({"--time-scale", "20", "--median-ms", "nfse=20000", "--median-ms", "nfsen=10000",
            "--reject-rate", "0.15", "--deny-rate", "0.05", "--seed", "23", "--rate-limit",
            "6000"});
  StartReceiver(kReceiverFaults);
  WriteConfig({kAcme, kBeta}, "delivery_timeout_seconds = 2\n");

  // The ERP's emissions go through before the API starts misbehaving: the suite is about the
  // daemon's polls and deliveries, not about an ERP retrying its own requests.
  std::vector<std::map<std::pair<std::string, std::string>, std::vector<std::string>>> batches(
      waves);
  for (int i = 0; i < documents; ++i) {
    const Company& company = i % 2 == 0 ? kAcme : kBeta;
    const std::string& type = kTypes[i % kTypes.size()];
    const std::string ref = "FLT" + std::to_string(i);
    ASSERT_NO_FATAL_FAILURE(Submit(company, type, ref));
    batches[i * waves / documents][{company.id, type}].push_back(ref);
  }
  HttpResult faults = HttpCall("POST", api_url_ + "/__sim/faults", kApiFaults);
  ASSERT_EQ(faults.status, 200) << faults.body;

  StartDaemon();
  const pid_t pid = daemon_->pid();
  RssSampler sampler(pid);
  for (int wave = 0; wave < waves; ++wave) {
    if (wave > 0) std::this_thread::sleep_for(wave_gap);
    for (const auto& [company_type, refs] : batches[wave]) {
      ASSERT_NO_FATAL_FAILURE(
          Watch(company_type.first == kAcme.id ? kAcme : kBeta, company_type.second, refs));
    }
  }
  WaitForSimulatorToFinish(120);
  const std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});
  ASSERT_EQ(expected.size(), static_cast<size_t>(documents));

  // The unluckiest document meets several broken polls in a row, each doubling its wait.
  const std::set<EventKey> missing = WaitForTimelyEvents(expected, long_form ? 900 : 300);
  for (const EventKey& key : missing) {
    ADD_FAILURE() << "never acknowledged in time: " << std::get<0>(key) << " " << std::get<1>(key)
                  << " " << std::get<2>(key);
  }
  sampler.Stop();
  EXPECT_FALSE(sampler.exited()) << "the daemon stopped running during the run";
  ASSERT_TRUE(Running(pid)) << "the daemon stopped running during the run";
  const std::vector<int64_t> rss = sampler.samples();
  ASSERT_GE(rss.size(), 6u) << "too few memory samples";
  // The kernel updates VmHWM lazily, so a sample of VmRSS can be above it.
  const int64_t peak_rss_kib =
      std::max(ProcStatusKib(pid, "VmHWM"), *std::max_element(rss.begin(), rss.end()));

  // Every delivery, late ones included, must carry its event's one id and be justified.
  const std::vector<Delivery> deliveries = Deliveries();
  ExpectEveryEventOnceWithStableIds(expected, deliveries);
  std::set<EventKey> wrong;
  for (const Delivery& d : deliveries) {
    EXPECT_TRUE(d.signature_ok) << d.webhook_id;
    if (expected.count({d.company, d.document, d.event}) == 0) {
      wrong.insert({d.company, d.document, d.event});
    }
  }

  const size_t third = rss.size() / 3;
  const int64_t first_third_max = *std::max_element(rss.begin(), rss.begin() + third);
  const int64_t last_third_max = *std::max_element(rss.end() - third, rss.end());
  EXPECT_GT(peak_rss_kib, 0);
  EXPECT_LT(peak_rss_kib, kPeakRssBoundKib) << "peak resident memory, KiB";
  EXPECT_LE(last_third_max, first_third_max + kRssGrowthMarginKib)
      << "resident memory kept growing: first third up to " << first_third_max
      << " KiB, last third up to " << last_third_max << " KiB";

  EXPECT_EQ(StopDaemon(), 0) << "SIGTERM must stop the daemon cleanly";
  const auto wall_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();

  const boost::json::object sim = JsonGet(api_url_ + "/__sim/stats");
  const boost::json::object kinds =
      sim.contains("faults") ? sim.at("faults").as_object() : boost::json::object{};
  const boost::json::object receiver = JsonGet(receiver_url_ + "/__receiver/stats");
  const int64_t injected = Figure(sim, "faults_injected");
  const int64_t storms = Figure(sim, "storms");
  const int64_t failures = Figure(receiver, "failures_injected");
  const int64_t hangs = Figure(receiver, "hangs_injected");
  // The short form makes a few hundred polls, so a kind drawn at 1.5% misses a run now and then;
  // the long form's thousands must meet every kind.
  EXPECT_GT(storms, 0) << "no 429 storm met a request";
  if (long_form) {
    for (const char* kind :
         {"5xx", "malformed", "html", "drop", "timeout", "truncated", "reset", "429"}) {
      EXPECT_GT(Figure(kinds, kind), 0) << "no " << kind << " fault was injected";
    }
    EXPECT_GT(failures, 0);
    EXPECT_GT(hangs, 0);
  } else {
    EXPECT_GE(injected, 20) << "too few faults to say anything";
    EXPECT_GT(failures + hangs, 0);
  }

  std::ostringstream line;
  line << "RELIABILITY faults: documents=" << documents << " faults_injected=" << injected
       << " (5xx=" << Figure(kinds, "5xx") << " timeout=" << Figure(kinds, "timeout")
       << " truncated=" << Figure(kinds, "truncated") << " malformed=" << Figure(kinds, "malformed")
       << " html=" << Figure(kinds, "html") << " reset=" << Figure(kinds, "reset")
       << " drop=" << Figure(kinds, "drop")
       << " 429=" << Figure(kinds, "429") + Figure(kinds, "storm_429") << " storms=" << storms
       << ") receiver_failures=" << failures << " receiver_hangs=" << hangs
       << " peak_rss_kib=" << peak_rss_kib << " rss_first_third_max_kib=" << first_third_max
       << " rss_last_third_max_kib=" << last_third_max << " lost=" << missing.size()
       << " wrong=" << wrong.size() << " api_requests=" << Figure(sim, "requests")
       << " wall_s=" << wall_s;
  std::cout << line.str() << std::endl;
  RecordProperty("documents", documents);
  RecordProperty("faults_injected", static_cast<int>(injected));
  RecordProperty("storms", static_cast<int>(storms));
  RecordProperty("receiver_failures", static_cast<int>(failures));
  RecordProperty("receiver_hangs", static_cast<int>(hangs));
  RecordProperty("peak_rss_kib", static_cast<int>(peak_rss_kib));
  RecordProperty("lost", static_cast<int>(missing.size()));
  RecordProperty("wrong", static_cast<int>(wrong.size()));
  RecordProperty("api_requests", static_cast<int>(Figure(sim, "requests")));
  RecordProperty("wall_s", static_cast<int>(wall_s));
}

}  // namespace
}  // namespace gatilho::testing
