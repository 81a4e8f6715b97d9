// engine_bench: benchmark 2, the engine in real time. It drives the real binaries on loopback:
// gatilho-sim as the API (rate limit lifted, documents that never finish processing), the real
// `gatilho run` daemon, `gatilho watch` and seed_watches to register watches, and raw_curl_loop
// as the ceiling of the HTTP layer. It measures from outside, as an operator would: polls are
// counted at the simulator (GET /__sim/stats), CPU and memory are read from /proc/PID.
//
//   engine_bench --bin-dir DIR --work DIR --out FILE.json [--small N] [--large N]
//                [--concurrency 16,64] [--seconds S] [--repeats N] [--load TEXT]
//
// It prints figures and writes them as JSON; it asserts nothing (benchmarks are not tests).
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_machine.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kToken[] = "token-bench-0123456789";
constexpr char kCompany[] = "acme";
constexpr char kRefPrefix[] = "R";
// Large enough that 80% of it never binds: the daemon's budget then stays out of the way, yet it
// still reads real Rate-Limit-* headers, as it would from the API.
constexpr char kRateLimit[] = "1000000000";
// A median processing time of ~30 years keeps every document in processando_autorizacao, so
// every watch stays pending and keeps being polled on its schedule.
constexpr char kNeverFinish[] = "nfe=1e12";
// The daemon's measured window ends here even if the backlog lasts longer (a slow daemon).
constexpr double kMaxMeasureSeconds = 120;

struct Args {
  std::string bin_dir;
  std::string work;
  std::string out;
  long small = 100'000;
  long large = 1'000'000;
  std::vector<int> concurrency = {16, 64};
  double seconds = 10;  // how long the raw libcurl loop runs
  int repeats = 3;      // tries per concurrency; the medians are reported
  std::string load;     // `uptime` output before the run, recorded as given
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "engine_bench: " << message << std::endl;
  std::exit(1);
}

double Since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

void SleepSeconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::string ReadText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream file(path, std::ios::trunc);
  file << text;
  if (!file.flush()) Fail("cannot write " + path);
}

// Runs a shell command and returns its standard output; fails the run on a non-zero exit.
std::string Shell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) Fail("cannot run: " + command);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
    out.append(buffer, n);
  const int rc = pclose(pipe);
  if (rc != 0) Fail("command failed (" + std::to_string(rc) + "): " + command + "\n" + out);
  return out;
}

// A child process started with fork/exec; its stderr (and stdout unless piped) go to a log.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path, bool pipe_stdout) {
    int out_pipe[2] = {-1, -1};
    if (pipe_stdout && pipe(out_pipe) != 0) Fail("pipe failed");
    pid_ = fork();
    if (pid_ < 0) Fail("fork failed");
    if (pid_ == 0) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(log, STDERR_FILENO);
      dup2(pipe_stdout ? out_pipe[1] : log, STDOUT_FILENO);
      std::vector<char*> raw;
      for (const std::string& arg : argv)
        raw.push_back(const_cast<char*>(arg.c_str()));
      raw.push_back(nullptr);
      execv(raw[0], raw.data());
      _exit(127);
    }
    if (pipe_stdout) {
      close(out_pipe[1]);
      out_fd_ = out_pipe[0];
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // The first line the child wrote on stdout (only when piped).
  std::string FirstLine() {
    std::string line;
    char c = 0;
    while (read(out_fd_, &c, 1) == 1 && c != '\n')
      line += c;
    return line;
  }

  void Signal(int signal) { kill(pid_, signal); }

  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

// What /proc says about a process at one moment.
struct ProcSample {
  double cpu_seconds = 0;  // user + system
  long vm_rss_kb = 0;
  long rss_anon_kb = 0;
  long rss_file_kb = 0;
  int sockets = 0;  // open sockets: the connections in use, plus the few the loop owns
};

long StatusField(const std::string& status, const std::string& name) {
  const size_t at = status.find(name + ":");
  return at == std::string::npos ? 0 : std::atol(status.c_str() + at + name.size() + 1);
}

ProcSample SampleProc(pid_t pid) {
  ProcSample sample;
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the parenthesised command name, which may itself contain spaces.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long utime = 0;
  unsigned long stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) {
      stime = std::stoul(field);
      break;
    }
  }
  sample.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  const std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  sample.vm_rss_kb = StatusField(status, "VmRSS");
  sample.rss_anon_kb = StatusField(status, "RssAnon");
  sample.rss_file_kb = StatusField(status, "RssFile");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (fs::read_symlink(entry.path(), link_ec).string().rfind("socket:", 0) == 0) {
      ++sample.sockets;
    }
  }
  return sample;
}

// Reads the simulator's request counter over one kept-alive connection.
class SimStats {
 public:
  explicit SimStats(const std::string& base_url) : url_(base_url + "/__sim/stats") {
    easy_ = curl_easy_init();
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 5'000L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &body_);
  }
  ~SimStats() { curl_easy_cleanup(easy_); }
  SimStats(const SimStats&) = delete;
  SimStats& operator=(const SimStats&) = delete;

  // Requests the API side has answered so far (introspection excluded).
  int64_t Requests() {
    body_.clear();
    if (curl_easy_perform(easy_) != CURLE_OK) Fail("cannot read " + url_);
    return json::parse(body_).as_object().at("requests").to_number<int64_t>();
  }

 private:
  static size_t Append(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
  }
  std::string url_;
  std::string body_;
  CURL* easy_ = nullptr;
};

struct Bench {
  Args args;
  std::string sim_url;
  std::unique_ptr<Child> sim;
  std::unique_ptr<SimStats> stats;

  // gatilho and gatilho-sim sit at the top of the build folder, the bench tools in bench/.
  std::string Bin(const std::string& name) const { return args.bin_dir + "/" + name; }
  std::string BenchBin(const std::string& name) const { return args.bin_dir + "/bench/" + name; }

  void StartSim() {
    sim = std::make_unique<Child>(
        std::vector<std::string>{Bin("gatilho-sim"), "api", "--port", "0", "--token", kToken,
                                 "--rate-limit", kRateLimit, "--rate-window-seconds", "60",
                                 "--median-ms", kNeverFinish, "--seed", "1"},
        args.work + "/sim.log", /*pipe_stdout=*/true);
    const std::string line = sim->FirstLine();
    const size_t at = line.find("http://");
    if (at == std::string::npos) Fail("gatilho-sim did not start: '" + line + "'");
    sim_url = line.substr(at);
    stats = std::make_unique<SimStats>(sim_url);
  }

  // A config folder whose store is `data_dir`, polling with `concurrency`.
  std::string WriteConfig(const std::string& name, const std::string& data_dir, int concurrency) {
    const std::string dir = args.work + "/" + name;
    WriteText(dir + "/gatilho.conf", "data_dir = " + data_dir +
                                         "\ncompanies_dir = companies\nlog_level = warn\n"
                                         "poll_concurrency = " +
                                         std::to_string(concurrency) + "\n");
    // No document ever finishes, so the webhook URL is never called; it only has to be valid.
    WriteText(dir + "/companies/" + kCompany + ".conf",
              std::string("cnpj = 07504505000132\ntoken = ") + kToken + "\nbase_url = " + sim_url +
                  "\n\n[webhook]\nurl = http://127.0.0.1:9/erp\n");
    return dir + "/gatilho.conf";
  }

  std::string RawLoop(const std::string& url_template, long count, int concurrency, double seconds,
                      int host_connections, const std::string& body = "") {
    std::string command = BenchBin("raw_curl_loop") + " '" + url_template + "' " + kToken + " " +
                          kRefPrefix + " " + std::to_string(count) + " " +
                          std::to_string(concurrency) + " " + std::to_string(seconds) + " " +
                          std::to_string(host_connections);
    if (!body.empty()) command += " '" + body + "'";
    return Shell(command);
  }
};

std::string RefsFile(const std::string& path, long count) {
  std::ofstream file(path, std::ios::trunc);
  char ref[32];
  for (long i = 0; i < count; ++i) {
    std::snprintf(ref, sizeof(ref), "%s%07ld\n", kRefPrefix, i);
    file << ref;
  }
  return path;
}

// One run of the real daemon against a copy of a seeded store.
struct DaemonRun {
  double polls_per_second = 0;
  double cpu_ms_per_1000 = 0;
  double cpu_share = 0;     // CPU seconds per wall second of the daemon
  double first_poll_s = 0;  // from exec to the first poll seen at the simulator
  double stop_s = 0;        // from SIGTERM to exit
  double measured_seconds = 0;
  std::vector<double> per_second;  // every quarter second of the measured window
  ProcSample end;
  json::object ToJson() const {
    json::array rates;
    for (double r : per_second)
      rates.push_back(std::round(r));
    return {{"polls_per_second", std::round(polls_per_second)},
            {"cpu_ms_per_1000_polls", std::round(cpu_ms_per_1000 * 10) / 10},
            {"daemon_cpu_share", std::round(cpu_share * 100) / 100},
            {"first_poll_seconds", std::round(first_poll_s * 1000) / 1000},
            {"stop_seconds", std::round(stop_s * 1000) / 1000},
            {"vm_rss_kb", end.vm_rss_kb},
            {"rss_anon_kb", end.rss_anon_kb},
            {"rss_file_kb", end.rss_file_kb},
            {"sockets", end.sockets},
            {"measured_seconds", std::round(measured_seconds * 100) / 100},
            {"polls_per_second_each_quarter_second", std::move(rates)}};
  }
};

// Waits until the simulator has answered more than `baseline` requests; returns the seconds
// from `since`. Polls every 2 ms so the resume time is precise to a few milliseconds.
double WaitFirstPoll(SimStats& stats, int64_t baseline, SteadyClock::time_point since) {
  while (stats.Requests() <= baseline) {
    if (Since(since) > 300) Fail("the daemon made no poll within 300 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Since(since);
}

// Starts the daemon on `config` (a store of `watches` watches, all due) and measures it while it
// works through that backlog: from the moment a tenth of the watches were polled (start-up and
// the first batch are behind it) to the moment nine tenths were, or max_seconds, whichever comes
// first. The first pass is the only moment every watch is due at once: after its poll a watch
// of a document that never finishes moves to the sparse end of its schedule, so a window past
// the backlog would measure the schedule, not the engine. The daemon is left running in
// *daemon; the caller stops it.
DaemonRun MeasureDaemon(Bench& bench, const std::string& config, const std::string& log,
                        long watches, std::unique_ptr<Child>* daemon) {
  DaemonRun run;
  const int64_t baseline = bench.stats->Requests();
  const auto started = SteadyClock::now();
  *daemon = std::make_unique<Child>(
      std::vector<std::string>{bench.Bin("gatilho"), "run", "--config", config}, log, false);
  run.first_poll_s = WaitFirstPoll(*bench.stats, baseline, started);

  const int64_t from = baseline + watches / 10;
  const int64_t to = baseline + watches - watches / 10;
  while (bench.stats->Requests() < from) {
    if (Since(started) > 300) Fail("the daemon polled less than a tenth of its watches in 300 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const pid_t pid = (*daemon)->pid();
  ProcSample before = SampleProc(pid);
  const int64_t requests_before = bench.stats->Requests();
  const auto t0 = SteadyClock::now();
  int64_t last = requests_before;
  auto last_time = t0;
  int64_t now_requests = requests_before;
  while (now_requests < to && Since(t0) < kMaxMeasureSeconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    now_requests = bench.stats->Requests();
    const auto now = SteadyClock::now();
    run.per_second.push_back(static_cast<double>(now_requests - last) /
                             std::chrono::duration<double>(now - last_time).count());
    last = now_requests;
    last_time = now;
  }
  const double wall = Since(t0);
  run.end = SampleProc(pid);
  const double polls = static_cast<double>(last - requests_before);
  const double cpu = run.end.cpu_seconds - before.cpu_seconds;
  run.polls_per_second = polls / wall;
  run.cpu_ms_per_1000 = polls > 0 ? cpu * 1000 / (polls / 1000) : 0;
  run.cpu_share = cpu / wall;
  run.measured_seconds = wall;
  return run;
}

double Stop(Child& daemon) {
  const auto signalled = SteadyClock::now();
  daemon.Signal(SIGTERM);
  daemon.Wait();
  return Since(signalled);
}

void CopyStore(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  fs::copy_file(from + "/data.mdb", to + "/data.mdb");
}

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--bin-dir") {
      args.bin_dir = value;
    } else if (name == "--work") {
      args.work = value;
    } else if (name == "--out") {
      args.out = value;
    } else if (name == "--small") {
      args.small = std::stol(value);
    } else if (name == "--large") {
      args.large = std::stol(value);
    } else if (name == "--seconds") {
      args.seconds = std::stod(value);
    } else if (name == "--repeats") {
      args.repeats = std::max(1, std::stoi(value));
    } else if (name == "--load") {
      args.load = value;
    } else if (name == "--concurrency") {
      args.concurrency.clear();
      std::istringstream list(value);
      for (std::string item; std::getline(list, item, ',');)
        args.concurrency.push_back(std::stoi(item));
    } else {
      Fail("unknown option " + name);
    }
  }
  if (args.bin_dir.empty() || args.work.empty() || args.out.empty() || args.concurrency.empty()) {
    Fail(
        "usage: engine_bench --bin-dir DIR --work DIR --out FILE [--small N] [--large N] "
        "[--concurrency 16,64] [--seconds S] [--repeats N] [--load TEXT]");
  }
  return args;
}

double SeedRate(const std::string& line) {
  // "seeded N watches in S s (R per second)"
  const size_t at = line.find('(');
  return at == std::string::npos ? 0 : std::atof(line.c_str() + at + 1);
}

}  // namespace

int main(int argc, char** argv) {
  Bench bench;
  bench.args = ParseArgs(argc, argv);
  const Args& args = bench.args;
  fs::remove_all(args.work);
  fs::create_directories(args.work);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  json::object result;
  json::object machine;
  const std::string machine_line = gatilho::bench::DescribeMachine(&machine);
  machine["load_before"] = args.load;
  result["machine"] = machine;
  std::printf("machine: %s\nload before: %s\n", machine_line.c_str(), args.load.c_str());
  std::printf(
      "note: the daemon, the simulator (2 io threads) and this driver share the machine's "
      "cores;\n      every figure is what is left for gatilho beside a simulator that is busy "
      "too.\n\n");
  std::fflush(stdout);

  bench.StartSim();
  std::printf("simulator: %s (rate limit %s/min: the daemon budgets 80%% of it)\n",
              bench.sim_url.c_str(), kRateLimit);

  // 1. Emit every document into the simulator, as the ERP would have.
  {
    const auto t = SteadyClock::now();
    const std::string raw = bench.RawLoop(bench.sim_url + "/v2/nfe?ref={ref}", args.large, 64, 0,
                                          64, R"({"natureza_operacao":"Venda"})");
    const json::object emitted = json::parse(raw).as_object();
    if (emitted.at("ok").to_number<int64_t>() != args.large) Fail("emission failed: " + raw);
    std::printf("emitted %ld documents into the simulator in %.1f s\n", args.large, Since(t));
  }

  // 2. Seeding: the CLI (one transaction per invocation) against direct Store::AddWatches.
  json::object seeding;
  const std::string small_template = args.work + "/store-small";
  const std::string large_template = args.work + "/store-large";
  {
    const std::string config = bench.WriteConfig("seed-cli", small_template, 16);
    const std::string refs = RefsFile(args.work + "/refs-small.txt", args.small);
    const auto t = SteadyClock::now();
    Shell(bench.Bin("gatilho") + " watch --config " + config + " --quiet " + kCompany +
          " nfe - < " + refs);
    const double cli_s = Since(t);
    const std::string seeded =
        Shell(bench.BenchBin("seed_watches") + " " + args.work + "/store-seed-tool acme nfe " +
              kRefPrefix + " " + std::to_string(args.small) + " 10000");
    const double tool_rate = SeedRate(seeded);
    const double cli_rate = static_cast<double>(args.small) / cli_s;
    seeding["cli_watches_per_second"] = std::round(cli_rate);
    seeding["seed_tool_watches_per_second"] = std::round(tool_rate);
    std::printf("seeding %ld watches: gatilho watch - %.0f/s, seed_watches %.0f/s\n", args.small,
                cli_rate, tool_rate);

    // The large store goes through the CLI too when it is fast enough: it is the real path.
    const std::string large_config = bench.WriteConfig("seed-cli-large", large_template, 16);
    const std::string large_refs = RefsFile(args.work + "/refs-large.txt", args.large);
    const auto tl = SteadyClock::now();
    if (cli_rate * 60 >= static_cast<double>(args.large)) {
      Shell(bench.Bin("gatilho") + " watch --config " + large_config + " --quiet " + kCompany +
            " nfe - < " + large_refs);
      seeding["large_seeded_with"] = "gatilho watch -";
    } else {
      Shell(bench.BenchBin("seed_watches") + " " + large_template + " acme nfe " + kRefPrefix +
            " " + std::to_string(args.large) + " 10000");
      seeding["large_seeded_with"] = "seed_watches";
    }
    seeding["large_seed_seconds"] = std::round(Since(tl) * 10) / 10;
    std::printf("seeded %ld watches in %.1f s with %s\n\n", args.large, Since(tl),
                seeding["large_seeded_with"].as_string().c_str());
    fs::remove_all(args.work + "/store-seed-tool");
    result["seeding"] = seeding;
  }
  // Let the CLI's first_poll (now + the type's first offset) pass, so every watch is due.
  SleepSeconds(2.5);

  // 3. Throughput, CPU and memory at the small size, per concurrency, with the raw ceiling.
  // Loopback figures on a shared 2-core machine move by a fifth from one try to the next, so
  // each is tried args.repeats times, the daemon and the raw loop in turns, and the medians are
  // reported (and every try, in the JSON).
  json::array small_runs;
  DaemonRun small_first;
  for (size_t c = 0; c < args.concurrency.size(); ++c) {
    const int concurrency = args.concurrency[c];
    const std::string url = bench.sim_url + "/v2/nfe/{ref}";
    std::vector<DaemonRun> runs;
    std::vector<double> raw_rates;
    json::array tries;
    for (int attempt = 0; attempt < args.repeats; ++attempt) {
      const std::string data = args.work + "/run-small-" + std::to_string(concurrency);
      CopyStore(small_template, data);
      const std::string config =
          bench.WriteConfig("cfg-small-" + std::to_string(concurrency), data, concurrency);
      std::unique_ptr<Child> daemon;
      DaemonRun run =
          MeasureDaemon(bench, config, args.work + "/daemon-small.log", args.small, &daemon);
      run.stop_s = Stop(*daemon);
      const json::object raw =
          json::parse(bench.RawLoop(url, args.small, concurrency, args.seconds, concurrency))
              .as_object();
      raw_rates.push_back(raw.at("rate").to_number<double>());
      json::object entry = run.ToJson();
      entry["raw_curl_polls_per_second"] = std::round(raw_rates.back());
      tries.push_back(std::move(entry));
      std::printf(
          "  try %d, poll_concurrency %d: gatilho %.0f polls/s (%.1f ms CPU per 1000), "
          "raw libcurl %.0f/s\n",
          attempt + 1, concurrency, run.polls_per_second, run.cpu_ms_per_1000, raw_rates.back());
      std::fflush(stdout);
      runs.push_back(std::move(run));
    }
    // The median try by throughput stands for all: its CPU and memory go with its rate.
    std::vector<size_t> order(runs.size());
    for (size_t k = 0; k < order.size(); ++k)
      order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return runs[a].polls_per_second < runs[b].polls_per_second;
    });
    const DaemonRun& run = runs[order[order.size() / 2]];
    std::vector<double> sorted_raw = raw_rates;
    std::sort(sorted_raw.begin(), sorted_raw.end());
    const double raw_rate = sorted_raw[sorted_raw.size() / 2];
    if (c == 0) small_first = run;

    json::object entry = run.ToJson();
    entry["watches"] = args.small;
    entry["poll_concurrency"] = concurrency;
    entry["tries"] = args.repeats;
    entry["raw_curl_polls_per_second"] = std::round(raw_rate);
    entry["ratio_to_raw"] = std::round(run.polls_per_second / raw_rate * 100) / 100;
    entry["each_try"] = std::move(tries);
    std::printf(
        "%ld watches, poll_concurrency %d, median of %d: %.0f polls/s (raw libcurl %.0f/s, "
        "ratio %.2f), %.1f ms CPU per 1000 polls, daemon CPU %.0f%%, RSS %ld kB (anon %ld, "
        "file %ld), %d sockets\n",
        args.small, concurrency, args.repeats, run.polls_per_second, raw_rate,
        run.polls_per_second / raw_rate, run.cpu_ms_per_1000, run.cpu_share * 100,
        run.end.vm_rss_kb, run.end.rss_anon_kb, run.end.rss_file_kb, run.end.sockets);
    std::fflush(stdout);
    small_runs.push_back(std::move(entry));
  }
  result["small"] = small_runs;

  // 4. The large store: memory in steady state, then the restart.
  json::object large;
  {
    const int concurrency = args.concurrency[0];
    const std::string data = args.work + "/run-large";
    CopyStore(large_template, data);
    const std::string config = bench.WriteConfig("cfg-large", data, concurrency);
    std::unique_ptr<Child> daemon;
    DaemonRun run =
        MeasureDaemon(bench, config, args.work + "/daemon-large.log", args.large, &daemon);
    run.stop_s = Stop(*daemon);
    large = run.ToJson();
    large["watches"] = args.large;
    large["poll_concurrency"] = concurrency;

    const double delta_watches = static_cast<double>(args.large - args.small);
    const double per_watch_rss =
        static_cast<double>(run.end.vm_rss_kb - small_first.end.vm_rss_kb) * 1024 / delta_watches;
    const double per_watch_anon =
        static_cast<double>(run.end.rss_anon_kb - small_first.end.rss_anon_kb) * 1024 /
        delta_watches;
    large["bytes_per_watch_vm_rss"] = std::round(per_watch_rss * 10) / 10;
    large["bytes_per_watch_rss_anon"] = std::round(per_watch_anon * 10) / 10;
    std::printf(
        "%ld watches, poll_concurrency %d: %.0f polls/s, %.1f ms CPU per 1000 polls, RSS %ld kB "
        "(anon %ld, file %ld); per watch: %.1f B of VmRSS, %.1f B anonymous\n",
        args.large, concurrency, run.polls_per_second, run.cpu_ms_per_1000, run.end.vm_rss_kb,
        run.end.rss_anon_kb, run.end.rss_file_kb, per_watch_rss, per_watch_anon);

    // Restart: SIGTERM above, start again on the same store, time to the first new poll.
    const int64_t baseline = bench.stats->Requests();
    const auto restarted = SteadyClock::now();
    daemon = std::make_unique<Child>(
        std::vector<std::string>{bench.Bin("gatilho"), "run", "--config", config},
        args.work + "/daemon-large.log", false);
    const double resume_s = WaitFirstPoll(*bench.stats, baseline, restarted);
    SleepSeconds(1);
    const double stop_again_s = Stop(*daemon);
    large["resume_seconds"] = std::round(resume_s * 1000) / 1000;
    std::printf(
        "restart with %ld watches: SIGTERM to exit %.3f s, start to first new poll %.3f s "
        "(cold start on a fresh copy: %.3f s; second stop %.3f s)\n\n",
        args.large, run.stop_s, resume_s, run.first_poll_s, stop_again_s);
  }
  result["large"] = large;

  // 5. The table.
  std::printf("%-44s %14s\n", "figure", "value");
  for (const json::value& value : small_runs) {
    const json::object& run = value.as_object();
    const std::string c = std::to_string(run.at("poll_concurrency").to_number<int64_t>());
    auto row = [](const std::string& name, const std::string& text) {
      std::printf("%-44s %14s\n", name.c_str(), text.c_str());
    };
    auto num = [&](const char* key, int decimals = 0) {
      char text[64];
      std::snprintf(text, sizeof(text), "%.*f", decimals, run.at(key).to_number<double>());
      return std::string(text);
    };
    row("polls/s, 100k watches, concurrency " + c, num("polls_per_second"));
    row("raw libcurl polls/s, concurrency " + c, num("raw_curl_polls_per_second"));
    row("ratio gatilho / raw (target >= 0.7), c " + c, num("ratio_to_raw", 2));
    row("CPU ms per 1000 polls, concurrency " + c, num("cpu_ms_per_1000_polls", 1));
    row("VmRSS kB at 100k watches, concurrency " + c, num("vm_rss_kb"));
  }
  auto large_num = [&](const char* key, int decimals = 0) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f", decimals, large.at(key).to_number<double>());
    return std::string(text);
  };
  std::printf("%-44s %14s\n", "polls/s, 1M watches", large_num("polls_per_second").c_str());
  std::printf("%-44s %14s\n", "VmRSS kB at 1M watches", large_num("vm_rss_kb").c_str());
  std::printf("%-44s %14s\n", "bytes per watch, VmRSS (target < 200)",
              large_num("bytes_per_watch_vm_rss", 1).c_str());
  std::printf("%-44s %14s\n", "bytes per watch, anonymous memory",
              large_num("bytes_per_watch_rss_anon", 1).c_str());
  std::printf("%-44s %14s\n", "resume after restart, 1M watches (s)",
              large_num("resume_seconds", 3).c_str());

  result["notes"] =
      "gatilho-sim api on 127.0.0.1 with --rate-limit 1000000000 (headers sent, never binding) "
      "and nfe documents that never leave processando_autorizacao; polls counted at the "
      "simulator; the daemon, the simulator and the driver share the same cores.";
  WriteText(args.out, json::serialize(result) + "\n");
  std::printf("\nwritten: %s\n", args.out.c_str());
  bench.sim->Signal(SIGTERM);
  bench.sim->Wait();
  curl_global_cleanup();
  return 0;
}
