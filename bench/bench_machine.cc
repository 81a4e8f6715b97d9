// The machine description shared by the benchmarks; see bench_machine.h.
#include "bench_machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

namespace gatilho::bench {

namespace {

// The value after "name:" on the first line of `path` that starts with it, or "".
std::string ProcField(const std::string& path, const std::string& name) {
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    return value == std::string::npos ? "" : line.substr(value);
  }
  return "";
}

}  // namespace

std::string DescribeMachine(boost::json::object* out) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::string cpu = ProcField("/proc/cpuinfo", "model name");
  if (cpu.empty()) cpu = "unknown";
  const long ram_mb = std::atol(ProcField("/proc/meminfo", "MemTotal").c_str()) / 1024;
  utsname uts{};
  uname(&uts);
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  (*out)["nproc"] = cores;
  (*out)["cpu_model"] = cpu;
  (*out)["ram_mb"] = ram_mb;
  (*out)["kernel"] = std::string(uts.release);
  (*out)["date"] = std::string(date);
  return std::to_string(cores) + " cores, " + cpu + ", " + std::to_string(ram_mb) +
         " MB RAM, Linux " + uts.release + ", " + date;
}

}  // namespace gatilho::bench
