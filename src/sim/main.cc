// gatilho-sim: a simulator of the Focus NFe API v2 (`api`) and a webhook receiver (`receiver`)
// for tests, demos and benchmarks. This file reads the command line and starts one of the two.
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "sim/api_simulator.h"
#include "sim/http_server.h"
#include "sim/webhook_receiver.h"

namespace gatilho::sim {
namespace {

namespace po = boost::program_options;

constexpr int kUsageError = 2;

constexpr std::string_view kUsage =
    "usage: gatilho-sim api [options]       simulate the Focus NFe API v2\n"
    "       gatilho-sim receiver [options]  receive and verify webhooks\n"
    "       gatilho-sim --version\n"
    "Run 'gatilho-sim MODE --help' for the options of a mode.\n";

// Thrown for option values that parse but make no sense; reported like a parse error.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ServerOptions {
  std::string listen = "127.0.0.1";
  int port = 0;
  std::string port_file;
  int threads = 2;
};

void AddServerOptions(po::options_description& options, ServerOptions& server) {
  options.add_options()("help,h", "show this help")(
      "listen", po::value(&server.listen)->default_value(server.listen), "address to bind")(
      "port", po::value(&server.port)->default_value(server.port), "port to bind; 0 picks one")(
      "port-file", po::value(&server.port_file), "also write the bound port to this file")(
      "threads", po::value(&server.threads)->default_value(server.threads), "io threads");
}

void Require(bool condition, const std::string& message) {
  if (!condition) throw UsageError(message);
}

void RequireProbability(double value, const std::string& name) {
  Require(value >= 0 && value <= 1, "--" + name + " must be between 0 and 1");
}

void ValidateServer(const ServerOptions& server) {
  Require(server.port >= 0 && server.port <= 65535, "--port must be between 0 and 65535");
  Require(server.threads >= 1 && server.threads <= 256, "--threads must be between 1 and 256");
}

// Applies "TYPE=MS" to the per-type medians.
void ApplyMedian(const std::string& spec, ProcessingSettings& processing) {
  const std::size_t eq = spec.find('=');
  Require(eq != std::string::npos, "--median-ms expects TYPE=MS, got '" + spec + "'");
  const std::optional<DocType> type = ParseDocType(spec.substr(0, eq));
  Require(type.has_value(), "--median-ms: unknown document type '" + spec.substr(0, eq) + "'");
  Require(!IsSynchronous(*type),
          "--median-ms: " + spec.substr(0, eq) + " is synchronous and takes no time");
  const std::string number = spec.substr(eq + 1);
  double ms = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), ms);
  Require(ec == std::errc() && end == number.data() + number.size() && ms > 0,
          "--median-ms: '" + number + "' is not a positive number of milliseconds");
  processing.median_ms[static_cast<int>(*type)] = ms;
}

// Binds, announces the address on stdout (tests wait for exactly this line) and serves until a
// signal arrives.
int Serve(const ServerOptions& server, HttpHandler handler) {
  HttpServer http(std::move(handler));
  std::string error;
  const int port = http.Listen(server.listen, server.port, &error);
  if (port < 0) {
    std::cerr << "gatilho-sim: " << error << std::endl;
    return 1;
  }
  if (!server.port_file.empty()) {
    std::ofstream file(server.port_file, std::ios::trunc);
    file << port << '\n';
    if (!file.flush()) {
      std::cerr << "gatilho-sim: cannot write port file " << server.port_file << std::endl;
      return 1;
    }
  }
  http.Run(server.threads, [&server, port] {
    std::cout << "listening on http://" << server.listen << ":" << port << std::endl;
  });
  return 0;
}

bool ParsedHelp(const po::options_description& options, int argc, char** argv,
                po::variables_map& vm) {
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("help")) {
    std::cout << options;
    return true;
  }
  po::notify(vm);
  return false;
}

int RunApi(int argc, char** argv) {
  ServerOptions server;
  ApiSettings settings;
  std::vector<std::string> medians;
  uint64_t seed = 0;
  po::options_description options("gatilho-sim api [options]");
  AddServerOptions(options, server);
  ProcessingSettings& processing = settings.processing;
  FaultSettings& faults = settings.faults;
  options.add_options()("token", po::value(&settings.tokens)->composing(),
                        "accepted token (repeatable); none given: any non-empty token")(
      "blocked-token", po::value(&settings.blocked_tokens)->composing(),
      "token answered with 403 permissao_negada (repeatable)")(
      "rate-limit", po::value(&settings.rate_limit)->default_value(settings.rate_limit),
      "requests per window and token; 0 disables")(
      "rate-window-seconds",
      po::value(&settings.rate_window_seconds)->default_value(settings.rate_window_seconds),
      "length of the rate-limit window")("median-ms", po::value(&medians)->composing(),
                                         "TYPE=MS median processing time (repeatable); defaults "
                                         "nfe/cte/mdfe/nfcom 4000, nfse 60000, nfsen 20000")(
      "sigma", po::value(&processing.sigma)->default_value(processing.sigma),
      "log-normal spread of processing times")(
      "time-scale", po::value(&processing.time_scale)->default_value(processing.time_scale),
      "divide every processing time by this")(
      "reject-rate", po::value(&processing.reject_rate)->default_value(processing.reject_rate),
      "share of emissions ending in erro_autorizacao")(
      "deny-rate", po::value(&processing.deny_rate)->default_value(processing.deny_rate),
      "share ending in denegado (types that have it)")(
      "seed", po::value(&seed), "random seed for processing times and outcomes")(
      "fault-5xx", po::value(&faults.fault_5xx)->default_value(0), "probability of a 502/503")(
      "fault-malformed", po::value(&faults.fault_malformed)->default_value(0),
      "probability of a 200 with truncated JSON")("fault-html",
                                                  po::value(&faults.fault_html)->default_value(0),
                                                  "probability of a 200 HTML error page")(
      "fault-drop", po::value(&faults.fault_drop)->default_value(0),
      "probability of closing the connection unanswered")(
      "fault-timeout", po::value(&faults.fault_timeout)->default_value(0),
      "probability of holding the answer for --fault-timeout-ms")(
      "fault-timeout-ms", po::value(&faults.timeout_ms)->default_value(faults.timeout_ms),
      "how long a timeout fault holds its answer (the daemon's poll timeout is 20000)")(
      "fault-truncated", po::value(&faults.fault_truncated)->default_value(0),
      "probability of closing the connection before the body reaches its Content-Length")(
      "fault-reset", po::value(&faults.fault_reset)->default_value(0),
      "probability of resetting the connection (RST) unanswered")(
      "fault-429", po::value(&faults.fault_429)->default_value(0),
      "probability of a 429 asking to wait 1 s (Retry-After, Rate-Limit-Reset)")(
      "storm-ms", po::value(&faults.storm_ms)->default_value(0),
      "length of a 429 storm, in which every request gets a 429 until the storm ends")(
      "storm-every-ms", po::value(&faults.storm_every_ms)->default_value(0),
      "start a storm of --storm-ms every this many ms; 0 with --storm-ms: one storm at start")(
      "latency-ms", po::value(&faults.latency_ms)->default_value(0), "delay added to answers")(
      "received", po::value(&settings.received)->default_value(0),
      "received documents generated at start in each feed (nfe, cte, nfse) of --received-cnpj")(
      "received-cnpj", po::value(&settings.received_cnpj)->default_value(settings.received_cnpj),
      "the CNPJ the generated received documents are addressed to");

  po::variables_map vm;
  if (ParsedHelp(options, argc, argv, vm)) return 0;
  ValidateServer(server);
  for (const std::string& spec : medians)
    ApplyMedian(spec, processing);
  Require(settings.rate_limit >= 0, "--rate-limit must not be negative");
  Require(settings.rate_window_seconds >= 1, "--rate-window-seconds must be at least 1");
  Require(processing.sigma >= 0, "--sigma must not be negative");
  Require(processing.time_scale > 0, "--time-scale must be positive");
  RequireProbability(processing.reject_rate, "reject-rate");
  RequireProbability(processing.deny_rate, "deny-rate");
  RequireProbability(faults.fault_5xx, "fault-5xx");
  RequireProbability(faults.fault_malformed, "fault-malformed");
  RequireProbability(faults.fault_html, "fault-html");
  RequireProbability(faults.fault_drop, "fault-drop");
  RequireProbability(faults.fault_timeout, "fault-timeout");
  RequireProbability(faults.fault_truncated, "fault-truncated");
  RequireProbability(faults.fault_reset, "fault-reset");
  RequireProbability(faults.fault_429, "fault-429");
  Require(faults.latency_ms >= 0, "--latency-ms must not be negative");
  Require(faults.timeout_ms >= 1 && faults.timeout_ms <= 600000,
          "--fault-timeout-ms must be between 1 and 600000");
  Require(faults.storm_ms >= 0 && faults.storm_ms <= 600000,
          "--storm-ms must be between 0 and 600000");
  Require(faults.storm_every_ms >= 0 && faults.storm_every_ms <= 600000,
          "--storm-every-ms must be between 0 and 600000");
  Require(faults.storm_every_ms == 0 || faults.storm_ms < faults.storm_every_ms,
          "--storm-ms must be shorter than --storm-every-ms, or no request would ever pass");
  Require(settings.received >= 0 && settings.received <= 100000,
          "--received must be between 0 and 100000");
  Require(!settings.received_cnpj.empty(), "--received-cnpj is empty");
  for (const std::string& token : settings.tokens)
    Require(!token.empty(), "--token is empty");
  processing.seed = vm.count("seed") ? seed : std::random_device{}();

  ApiSimulator api(settings);
  return Serve(server, [&api](const HttpRequest& request) { return api.Handle(request); });
}

int RunReceiver(int argc, char** argv) {
  ServerOptions server;
  ReceiverSettings settings;
  std::vector<std::string> secrets;
  int max_age_seconds = 300;
  po::options_description options("gatilho-sim receiver [options]");
  AddServerOptions(options, server);
  options.add_options()("secret", po::value(&secrets)->composing(),
                        "whsec_... signing secret (repeatable); any match accepts")(
      "max-age-seconds", po::value(&max_age_seconds)->default_value(max_age_seconds),
      "accepted distance of webhook-timestamp from now; 0 disables the check")(
      "record", po::value(&settings.record_path), "append one JSON line per accepted delivery")(
      "quiet", po::bool_switch(&settings.quiet), "do not print a line per delivery")(
      "fail-first", po::value(&settings.fail_first)->default_value(0),
      "answer 503 to the first N deliveries")(
      "status", po::value(&settings.status)->default_value(settings.status),
      "status answered to deliveries")("delay-ms", po::value(&settings.delay_ms)->default_value(0),
                                       "delay before answering (slow mode)")(
      "fail-rate", po::value(&settings.fail_rate)->default_value(0),
      "probability of answering a delivery 500 or 503 (no Retry-After)")(
      "hang-rate", po::value(&settings.hang_rate)->default_value(0),
      "probability of holding a delivery's answer for --hang-ms (recorded as late)")(
      "hang-ms", po::value(&settings.hang_ms)->default_value(settings.hang_ms),
      "how long a hang lasts; make it longer than the daemon's delivery_timeout_seconds");

  po::variables_map vm;
  if (ParsedHelp(options, argc, argv, vm)) return 0;
  ValidateServer(server);
  Require(max_age_seconds >= 0, "--max-age-seconds must not be negative");
  Require(settings.fail_first >= 0, "--fail-first must not be negative");
  Require(settings.status >= 200 && settings.status <= 599, "--status must be 200..599");
  Require(settings.delay_ms >= 0, "--delay-ms must not be negative");
  RequireProbability(settings.fail_rate, "fail-rate");
  RequireProbability(settings.hang_rate, "hang-rate");
  Require(settings.hang_ms >= 0 && settings.hang_ms <= 600000,
          "--hang-ms must be between 0 and 600000");
  if (!secrets.empty()) {
    std::string error;
    settings.verifier = SignatureVerifier::Create(secrets, max_age_seconds, &error);
    Require(settings.verifier.has_value(), "--secret: " + error);
  }

  WebhookReceiver receiver(std::move(settings), std::cout);
  std::string error;
  if (!receiver.Open(&error)) {
    std::cerr << "gatilho-sim: " << error << std::endl;
    return 1;
  }
  return Serve(server,
               [&receiver](const HttpRequest& request) { return receiver.Handle(request); });
}

int Main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "api") return RunApi(argc - 1, argv + 1);
    if (mode == "receiver") return RunReceiver(argc - 1, argv + 1);
  } catch (const po::error& e) {
    std::cerr << "gatilho-sim " << mode << ": " << e.what() << "\nTry 'gatilho-sim " << mode
              << " --help'." << std::endl;
    return kUsageError;
  } catch (const UsageError& e) {
    std::cerr << "gatilho-sim " << mode << ": " << e.what() << std::endl;
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "gatilho-sim: " << e.what() << std::endl;
    return 1;
  }
  if (mode == "--help" || mode == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (mode == "--version") {
    std::cout << "gatilho-sim " << GATILHO_VERSION << std::endl;
    return 0;
  }
  std::cerr << (mode.empty() ? "gatilho-sim: missing mode\n"
                             : "gatilho-sim: unknown mode '" + mode + "'\n")
            << kUsage;
  return kUsageError;
}

}  // namespace
}  // namespace gatilho::sim

int main(int argc, char** argv) {
  return gatilho::sim::Main(argc, argv);
}
