// The crash suite: the real daemon killed with SIGKILL at random moments, many times, while it
// polls, commits and delivers, and while the ERP keeps registering documents. Afterwards every
// event must have reached the ERP at least once, every repeat under the same webhook-id, and the
// LMDB store must open and read back clean.
//
// The short form (the default) runs in every CI pass; GATILHO_RELIABILITY=long runs the long
// form. The kill delays come from a seed printed in the summary line; GATILHO_CRASH_SEED=S
// replays the same sequence of delays (the daemon's own timing still varies from run to run).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>

#include "integration/bridge_fixture.h"
#include "reliability/reliability_form.h"

namespace gatilho::testing {
namespace {

// The default of webhook.max_in_flight, which the suite's company files leave alone.
constexpr size_t kMaxInFlightPerEndpoint = 8;

constexpr char kMdbDump[] = "/usr/bin/mdb_dump";

const std::vector<std::string> kTypes = {"nfe", "nfce", "nfse", "nfsen", "cte", "mdfe", "nfcom"};

// The workload and the number of kills of one form of the suite.
struct CrashPlan {
  int documents = 0;
  int batches = 0;  // registered one `gatilho watch` batch after another while the kills go on
  int kills = 0;    // at least this many; more when registration is still running
};

CrashPlan PlanForMode() {
  if (LongReliabilityForm()) return CrashPlan{10000, 100, 1000};
  return CrashPlan{800, 8, 40};
}

// The seed of the kill delays: GATILHO_CRASH_SEED when set (to replay a failure), else fixed so
// that CI runs are comparable; nullopt when the variable is not a decimal number.
std::optional<uint64_t> KillSeed() {
  const char* text = std::getenv("GATILHO_CRASH_SEED");
  if (text == nullptr || *text == '\0') return 20261204;
  char* end = nullptr;
  errno = 0;
  uint64_t seed = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || *text == '-') return std::nullopt;
  return seed;
}

// What the daemon was doing in the interval that ended with a kill, from the counters of the
// simulator (GETs answered) and of the receiver (deliveries received).
enum class KillMoment { kPolling, kDelivering, kBoth, kOther };

KillMoment Classify(int64_t gets_moved, int64_t received_moved) {
  if (gets_moved > 0 && received_moved > 0) return KillMoment::kBoth;
  if (gets_moved > 0) return KillMoment::kPolling;
  if (received_moved > 0) return KillMoment::kDelivering;
  return KillMoment::kOther;
}

class CrashTest : public BridgeFixture {
 protected:
  int64_t ReceiverReceived() {
    boost::json::object stats = JsonGet(receiver_url_ + "/__receiver/stats");
    return stats.contains("received") ? stats.at("received").to_number<int64_t>() : -1;
  }

  // Submits and watches documents [first, last), one `gatilho watch` per company and type, the
  // way an ERP's integration registers what it just emitted.
  void SubmitAndWatchBatch(int first, int last) {
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> batches;
    for (int i = first; i < last; ++i) {
      const Company& company = i % 2 == 0 ? kAcme : kBeta;
      const std::string& type = kTypes[static_cast<size_t>(i) % kTypes.size()];
      std::string ref = "CRASH" + std::to_string(i);
      Submit(company, type, ref);
      batches[{company.id, type}].push_back(ref);
    }
    for (const auto& [company_type, refs] : batches)
      Watch(company_type.first == kAcme.id ? kAcme : kBeta, company_type.second, refs);
  }
};

TEST_F(CrashTest, EveryEventSurvivesRepeatedSigkill) {
  const auto started = std::chrono::steady_clock::now();
  const CrashPlan plan = PlanForMode();
  const std::optional<uint64_t> seed_set = KillSeed();
  ASSERT_TRUE(seed_set) << "GATILHO_CRASH_SEED must be a decimal number (a seed="
                        << " figure from a RELIABILITY crash line), or unset for the fixed seed";
  const uint64_t seed = *seed_set;
  std::cout << "crash: " << plan.documents << " documents, at least " << plan.kills
            << " kills, kill seed " << seed << " (GATILHO_CRASH_SEED replays it)" << std::endl;

  // Fast processing and a limit high enough that the budget never holds polling back: the
  // suite is about crashes, not about the rate limit. Outcomes mix authorised, rejected and
  // denied documents, so every kind of end of cycle is committed under fire.
  StartApi({"--time-scale", "20", "--median-ms", "nfse=20000", "--median-ms", "nfsen=10000",
            "--reject-rate", "0.15", "--deny-rate", "0.05", "--seed", "11", "--rate-limit",
            "6000"});
  // A small delay keeps deliveries in flight long enough for kills to land on them.
  StartReceiver({"--delay-ms", "30"});
  WriteConfig({kAcme, kBeta});
  StartDaemon();

  // The ERP keeps registering while the daemon is being killed: each batch's `gatilho watch`
  // writes to the store the daemon is restarting on. Batches are paced by the kills and all in
  // by 70% of them, so the last documents are still polled and delivered under fire.
  std::atomic<int> kills{0};
  std::atomic<bool> registered{false};
  std::atomic<bool> stop{false};
  std::thread registrar([&] {
    for (int b = 0; b < plan.batches; ++b) {
      while (!stop && kills < plan.kills * 7 / 10 * b / plan.batches)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (stop) return;
      SubmitAndWatchBatch(plan.documents * b / plan.batches,
                          plan.documents * (b + 1) / plan.batches);
    }
    registered = true;
  });
  // A failed assertion below returns early; the registrar must be joined all the same.
  struct Joiner {
    std::thread& thread;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{registrar, stop};

  std::mt19937_64 random(seed);
  // Log-uniform between 3 ms and 1.5 s: many kills during start-up and the first polls, and
  // enough long runs that the daemon gets deep into polling and delivering.
  std::uniform_real_distribution<double> log_delay(std::log(3.0), std::log(1500.0));
  std::map<KillMoment, int> moments;
  while (kills < plan.kills || !registered) {
    int64_t gets_before = SimGets();
    int64_t received_before = ReceiverReceived();
    int delay_ms = static_cast<int>(std::exp(log_delay(random)));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    int64_t gets_moved = SimGets() - gets_before;
    int64_t received_moved = ReceiverReceived() - received_before;
    daemon_->Signal(SIGKILL);
    int code = daemon_->Wait();
    daemon_.reset();
    // 128 + SIGKILL: anything else means the daemon stopped by itself, e.g. it could not open
    // the store or take the run lock after the previous kill.
    ASSERT_EQ(code, 128 + SIGKILL)
        << "the daemon exited by itself before kill " << kills + 1 << ", " << delay_ms
        << " ms after its start (kill seed " << seed << ")";
    ++kills;
    ++moments[Classify(gets_moved, received_moved)];
    StartDaemon();
  }
  registrar.join();

  // The last start runs undisturbed: it must finish everything the kills interrupted.
  const int wait_s = LongReliabilityForm() ? 600 : 120;
  WaitForSimulatorToFinish(wait_s);
  std::set<EventKey> expected = ExpectedEvents({kAcme, kBeta});
  ASSERT_EQ(expected.size(), static_cast<size_t>(plan.documents));
  std::vector<Delivery> deliveries = WaitForEvents(expected, wait_s);
  ExpectEveryEventOnceWithStableIds(expected, deliveries);

  std::map<EventKey, std::string> delivered_ids;
  for (const Delivery& d : deliveries)
    delivered_ids[{d.company, d.document, d.event}] = d.webhook_id;
  // The receiver answers 401 to a bad signature and records only what it accepted, so a badly
  // signed repeat shows here, not in the deliveries.
  boost::json::object receiver = JsonGet(receiver_url_ + "/__receiver/stats");
  EXPECT_EQ(receiver["rejected_signature"].to_number<int64_t>(), 0)
      << "a delivery after a kill must be signed like any other";
  size_t lost = 0;
  for (const EventKey& key : expected)
    lost += delivered_ids.count(key) == 0 ? 1 : 0;
  const size_t duplicates = deliveries.size() - delivered_ids.size();
  // Only a delivery in flight at a kill is repeated: its answer was never committed. Each
  // company's endpoint has at most webhook.max_in_flight (8 by default) in flight, so more
  // repeats than that per kill would mean a restart resends what was already recorded.
  EXPECT_LE(duplicates, static_cast<size_t>(kills) * 2 * kMaxInFlightPerEndpoint)
      << "more repeats than deliveries were in flight at the kills";

  // The store after the last of the kills: the final daemon ran to the end and stops cleanly,
  // then the CLI opens the store and reads every watch count and every event.
  ASSERT_EQ(StopDaemon(), 0) << "the daemon started after the last kill did not run cleanly";
  boost::json::object status = StatusJson();
  ASSERT_TRUE(status.contains("watches") && status.contains("events"))
      << "gatilho status --json after the kills";
  const boost::json::object& watches = status.at("watches").as_object();
  const boost::json::object& events = status.at("events").as_object();
  EXPECT_EQ(watches.at("pending").to_number<int64_t>(), 0) << "a watch never finished its cycle";
  EXPECT_EQ(watches.at("paused").to_number<int64_t>(), 0);
  EXPECT_EQ(watches.at("following").to_number<int64_t>() + watches.at("done").to_number<int64_t>(),
            plan.documents)
      << "every registered document has one watch";
  EXPECT_EQ(events.at("pending").to_number<int64_t>(), 0) << "an event was never delivered";
  EXPECT_EQ(events.at("dead").to_number<int64_t>(), 0);
  EXPECT_EQ(events.at("delivered").to_number<int64_t>(), static_cast<int64_t>(expected.size()))
      << "the outbox holds exactly one event per expected event";

  CliRun listed = Cli({"events", "--json", "--limit", std::to_string(plan.documents * 4)});
  ASSERT_EQ(listed.exit_code, 0) << "gatilho events --json after the kills";
  std::istringstream lines(listed.out);
  size_t listed_events = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(line, ec);
    if (ec || !parsed.is_object()) {
      ADD_FAILURE() << "gatilho events --json printed a line that is not a JSON object: " << line;
      continue;
    }
    const boost::json::object& event = parsed.as_object();
    ++listed_events;
    EventKey key{
        std::string(event.at("company").as_string()),
        std::string(event.at("type").as_string()) + "/" + std::string(event.at("ref").as_string()),
        std::string(event.at("event").as_string())};
    EXPECT_EQ(event.at("state").as_string(), "delivered") << line;
    // The id the store keeps is the one every delivery of the event carried.
    auto delivered = delivered_ids.find(key);
    if (delivered == delivered_ids.end()) {
      ADD_FAILURE() << "the store says delivered, the ERP never received it: " << line;
      continue;
    }
    EXPECT_EQ(event.at("id").as_string(), delivered->second) << line;
  }
  EXPECT_EQ(listed_events, expected.size()) << "gatilho events lists every event once";

  // A second opinion from LMDB's own tool where lmdb-utils is installed: mdb_dump walks every
  // page of every database, so a torn or dangling page would fail it.
  std::string lmdb_check = "skipped";
  if (access(kMdbDump, X_OK) == 0) {
    std::unique_ptr<Subprocess> dump = Subprocess::Start(kMdbDump, {"-a", DataDir()});
    ASSERT_NE(dump, nullptr);
    dump->Drain(Subprocess::DrainMode::kDiscard);
    EXPECT_EQ(dump->Wait(), 0) << "mdb_dump -a could not read the store after the kills";
    lmdb_check = "mdb_dump";
  }

  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ostringstream summary;
  summary << "RELIABILITY crash: documents=" << plan.documents << " kills=" << kills.load()
          << " kills_polling=" << moments[KillMoment::kPolling]
          << " kills_delivering=" << moments[KillMoment::kDelivering]
          << " kills_both=" << moments[KillMoment::kBoth]
          << " kills_other=" << moments[KillMoment::kOther] << " deliveries=" << deliveries.size()
          << " duplicates=" << duplicates << " lost=" << lost << " lmdb_check=" << lmdb_check
          << " seed=" << seed << " wall_s=" << std::fixed << std::setprecision(1) << wall_s;
  std::cout << summary.str() << std::endl;
  RecordProperty("documents", plan.documents);
  RecordProperty("kills", kills.load());
  RecordProperty("kills_polling", moments[KillMoment::kPolling]);
  RecordProperty("kills_delivering", moments[KillMoment::kDelivering]);
  RecordProperty("kills_both", moments[KillMoment::kBoth]);
  RecordProperty("kills_other", moments[KillMoment::kOther]);
  RecordProperty("deliveries", static_cast<int>(deliveries.size()));
  RecordProperty("duplicates", static_cast<int>(duplicates));
  RecordProperty("lost", static_cast<int>(lost));
  RecordProperty("seed", std::to_string(seed));
  RecordProperty("lmdb_check", lmdb_check);
}

}  // namespace
}  // namespace gatilho::testing
