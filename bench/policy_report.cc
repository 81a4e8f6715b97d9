#include "policy_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace gatilho::bench {
namespace {

bool IsSimple(const std::string& name) {
  return name.rfind("gatilho", 0) != 0 && name != "oracle";
}

// Requests of the strategy the API refused, plus ERP requests refused while it ran.
int64_t Refusals(const StrategyMetrics& m) {
  return m.all.caused_429 + m.all.erp_refused;
}

std::string Seconds(double s) {
  std::ostringstream out;
  out << std::fixed;
  if (s < 10) {
    out << std::setprecision(2) << s << "s";
  } else if (s < 600) {
    out << std::setprecision(0) << s << "s";
  } else if (s < 3 * 3600) {
    out << std::setprecision(1) << s / 60 << "m";
  } else {
    out << std::setprecision(1) << s / 3600 << "h";
  }
  return out.str();
}

std::string Fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream out;
  out << std::setprecision(6) << v;
  return out.str();
}

void JsonPeriod(std::ostream& out, const PeriodMetrics& p) {
  out << "{\"documents\": " << p.docs << ", \"detected\": " << p.detected
      << ", \"timeouts\": " << p.timeouts
      << ", \"credits_per_doc\": " << JsonNumber(p.credits_per_doc)
      << ", \"delay_mean_s\": " << JsonNumber(p.mean_s)
      << ", \"delay_p50_s\": " << JsonNumber(p.p50_s)
      << ", \"delay_p95_s\": " << JsonNumber(p.p95_s)
      << ", \"delay_p99_s\": " << JsonNumber(p.p99_s)
      << ", \"delay_max_s\": " << JsonNumber(p.max_s) << ", \"requests\": " << p.requests
      << ", \"caused_429\": " << p.caused_429
      << ", \"budget_share_used\": " << JsonNumber(p.budget_used)
      << ", \"erp_requests\": " << p.erp_requests << ", \"erp_refused\": " << p.erp_refused
      << ", \"erp_refused_within_reserve\": " << p.erp_refused_within_reserve << "}";
}

std::string ReadCpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

const StrategyMetrics* ScenarioResult::Find(const std::string& name) const {
  for (const StrategyMetrics& m : strategies) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<TargetVerdict> PolicyReport::Evaluate() const {
  std::vector<TargetVerdict> verdicts;

  TargetVerdict no_429{"no_429",
                       "gatilho causes zero 429s in every scenario, and no ERP request within "
                       "the ERP's reserve is refused",
                       true, ""};
  TargetVerdict oracle{"p95_within_1.25x_oracle",
                       "gatilho's p95 delay is within 1.25x the oracle's in every scenario", true,
                       ""};
  TargetVerdict dominated{"not_dominated",
                          "no simple strategy has both a lower p95 and fewer credits/doc with no "
                          "more refusals, in any scenario",
                          true, ""};
  for (const ScenarioResult& s : scenarios_) {
    const StrategyMetrics* g = s.Find("gatilho");
    const StrategyMetrics* o = s.Find("oracle");
    if (g == nullptr) continue;
    no_429.detail += s.spec.name + ": 429s " + std::to_string(g->all.caused_429) +
                     ", ERP refused " + std::to_string(g->all.erp_refused) + " (within reserve " +
                     std::to_string(g->all.erp_refused_within_reserve) + "); ";
    if (g->all.caused_429 != 0 || g->all.erp_refused_within_reserve != 0) no_429.met = false;
    if (o != nullptr) {
      const double ratio = o->all.p95_s > 0 ? g->all.p95_s / o->all.p95_s : INFINITY;
      oracle.detail += s.spec.name + ": " + Seconds(g->all.p95_s) + " vs " + Seconds(o->all.p95_s) +
                       " = " + Fixed(ratio, 2) + "x; ";
      if (!(ratio <= 1.25)) oracle.met = false;
    }
    for (const StrategyMetrics& m : s.strategies) {
      if (!IsSimple(m.name)) continue;
      if (m.all.p95_s < g->all.p95_s && m.all.credits_per_doc < g->all.credits_per_doc &&
          Refusals(m) <= Refusals(*g)) {
        dominated.met = false;
        dominated.detail += s.spec.name + ": " + m.name + " (p95 " + Seconds(m.all.p95_s) + ", " +
                            Fixed(m.all.credits_per_doc, 2) + " credits/doc); ";
      }
    }
  }
  if (dominated.met) dominated.detail = "no scenario has a dominating simple strategy";
  verdicts.push_back(no_429);
  verdicts.push_back(oracle);
  verdicts.push_back(dominated);

  TargetVerdict beats{"beats_each_simple",
                      "for each simple strategy, a scenario where gatilho's p95 is at most half "
                      "of theirs, or where they cause 429s/refusals and gatilho does not",
                      true, ""};
  if (!scenarios_.empty()) {
    for (const StrategyMetrics& m : scenarios_.front().strategies) {
      if (!IsSimple(m.name)) continue;
      std::string where;
      for (const ScenarioResult& s : scenarios_) {
        const StrategyMetrics* g = s.Find("gatilho");
        const StrategyMetrics* theirs = s.Find(m.name);
        if (g == nullptr || theirs == nullptr) continue;
        std::string why;
        if (g->all.p95_s <= 0.5 * theirs->all.p95_s) {
          why = "p95 " + Seconds(g->all.p95_s) + " vs " + Seconds(theirs->all.p95_s);
        }
        if (theirs->all.caused_429 > 0 && g->all.caused_429 == 0 &&
            theirs->all.erp_refused > g->all.erp_refused) {
          why += std::string(why.empty() ? "" : ", ") + std::to_string(theirs->all.caused_429) +
                 " 429s and " + std::to_string(theirs->all.erp_refused) + " ERP refused vs " +
                 std::to_string(g->all.caused_429) + " and " + std::to_string(g->all.erp_refused);
        }
        if (!why.empty()) where += (where.empty() ? "" : ", ") + s.spec.name + " (" + why + ")";
      }
      if (where.empty()) {
        beats.met = false;
        where = "none";
      }
      beats.detail += m.name + ": " + where + "; ";
    }
  }
  verdicts.push_back(beats);

  TargetVerdict bounded{"overload_wait_bounded",
                        "under overload every document is seen before its maximum age (no "
                        "timeouts); the maximum wait is reported",
                        false, "no overload scenario"};
  for (const ScenarioResult& s : scenarios_) {
    if (s.spec.name != "overload") continue;
    const StrategyMetrics* g = s.Find("gatilho");
    if (g == nullptr) continue;
    bounded.met = g->all.timeouts == 0;
    bounded.detail = "gatilho max wait " + Seconds(g->all.max_s) + ", p99 " +
                     Seconds(g->all.p99_s) + ", timeouts " + std::to_string(g->all.timeouts);
    for (const StrategyMetrics& m : s.strategies) {
      if (m.name == "gatilho") continue;
      bounded.detail += "; " + m.name + " max " + Seconds(m.all.max_s) + " (" +
                        std::to_string(m.all.timeouts) + " timeouts)";
    }
  }
  verdicts.push_back(bounded);
  return verdicts;
}

void PolicyReport::PrintTable(std::ostream& out) const {
  for (const ScenarioResult& s : scenarios_) {
    out << "\n== " << s.spec.name << ": " << s.spec.description << "\n   " << s.documents
        << " documents; ERP " << Fixed(s.spec.erp_per_min_per_token, 0)
        << " req/min per token; oracle poll cost " << Seconds(s.oracle_cost_ms / 1000) << "\n";
    out << std::left << std::setw(10) << "strategy" << std::right << std::setw(8) << "cr/doc"
        << std::setw(8) << "p50" << std::setw(8) << "p95" << std::setw(8) << "p99" << std::setw(8)
        << "max" << std::setw(7) << "429s" << std::setw(7) << "budget" << std::setw(11)
        << "ERP-refused" << std::setw(6) << "t/o"
        << " |" << std::setw(8) << "1h-cr" << std::setw(8) << "1h-p95" << std::setw(7) << "1h-429"
        << " |" << std::setw(8) << "rest-cr" << std::setw(9) << "rest-p95"
        << "\n";
    for (const StrategyMetrics& m : s.strategies) {
      const PeriodMetrics& a = m.all;
      out << std::left << std::setw(10) << m.name << std::right << std::setw(8)
          << Fixed(a.credits_per_doc, 2) << std::setw(8) << Seconds(a.p50_s) << std::setw(8)
          << Seconds(a.p95_s) << std::setw(8) << Seconds(a.p99_s) << std::setw(8)
          << Seconds(a.max_s) << std::setw(7) << a.caused_429 << std::setw(6)
          << Fixed(100 * a.budget_used, 0) << "%" << std::setw(11)
          << (std::to_string(a.erp_refused) + "/" + std::to_string(a.erp_refused_within_reserve))
          << std::setw(6) << a.timeouts << " |" << std::setw(8)
          << Fixed(m.first_hour.credits_per_doc, 2) << std::setw(8) << Seconds(m.first_hour.p95_s)
          << std::setw(7) << m.first_hour.caused_429 << " |" << std::setw(8)
          << Fixed(m.rest.credits_per_doc, 2) << std::setw(9) << Seconds(m.rest.p95_s) << "\n";
    }
  }
  out << "\ncr/doc = requests per document (429s included); budget = requests / (80 per minute "
         "per token);\nERP-refused = total/within its 20-credit reserve; t/o = timeouts; 1h = "
         "documents (and requests) of the first hour, rest = after it.\n";
}

void PolicyReport::PrintVerdicts(std::ostream& out, const std::vector<TargetVerdict>& verdicts) {
  out << "\nTargets:\n";
  for (const TargetVerdict& v : verdicts) {
    out << "  [" << (v.met ? "MET" : "MISSED") << "] " << v.description << "\n      " << v.detail
        << "\n";
  }
}

bool PolicyReport::WriteJson(const std::string& path, const std::vector<TargetVerdict>& verdicts,
                             double total_seconds) const {
  std::ofstream out(path);
  if (!out) return false;
  utsname uts{};
  uname(&uts);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));

  out << "{\n  \"benchmark\": \"policy\",\n  \"machine\": {\"host\": " << JsonString(host)
      << ", \"system\": "
      << JsonString(std::string(uts.sysname) + " " + uts.release + " " + uts.machine)
      << ", \"cpu\": " << JsonString(ReadCpuModel())
      << ", \"compiler\": " << JsonString(__VERSION__) << "},\n  \"date\": " << JsonString(date)
      << ",\n  \"run_seconds\": " << JsonNumber(total_seconds) << ",\n  \"scenarios\": {";
  for (size_t i = 0; i < scenarios_.size(); ++i) {
    const ScenarioResult& s = scenarios_[i];
    out << (i ? "," : "") << "\n    " << JsonString(s.spec.name) << ": {\n"
        << "      \"description\": " << JsonString(s.spec.description)
        << ",\n      \"documents\": " << s.documents << ", \"seed\": " << s.spec.seed
        << ", \"docs_per_min_per_token\": " << JsonNumber(s.spec.docs_per_min_per_token)
        << ", \"erp_per_min_per_token\": " << JsonNumber(s.spec.erp_per_min_per_token)
        << ", \"oracle_poll_cost_ms\": " << JsonNumber(s.oracle_cost_ms)
        << ",\n      \"strategies\": {";
    for (size_t j = 0; j < s.strategies.size(); ++j) {
      const StrategyMetrics& m = s.strategies[j];
      out << (j ? "," : "") << "\n        " << JsonString(m.name) << ": {\"all\": ";
      JsonPeriod(out, m.all);
      out << ",\n          \"first_hour\": ";
      JsonPeriod(out, m.first_hour);
      out << ",\n          \"rest\": ";
      JsonPeriod(out, m.rest);
      out << ",\n          \"max_pressure\": " << JsonNumber(m.max_pressure)
          << ", \"sim_seconds\": " << JsonNumber(m.seconds) << "}";
    }
    out << "\n      }\n    }";
  }
  out << "\n  },\n  \"targets\": [";
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const TargetVerdict& v = verdicts[i];
    out << (i ? "," : "") << "\n    {\"id\": " << JsonString(v.id)
        << ", \"description\": " << JsonString(v.description)
        << ", \"met\": " << (v.met ? "true" : "false") << ", \"detail\": " << JsonString(v.detail)
        << "}";
  }
  out << "\n  ]\n}\n";
  return static_cast<bool>(out);
}

bool PolicyReport::WritePlotData(const std::string& path) const {
  std::ofstream out(path);
  if (!out) return false;
  out << "# scenario_index scenario strategy credits_per_doc p95_s\n";
  for (size_t i = 0; i < scenarios_.size(); ++i) {
    for (const StrategyMetrics& m : scenarios_[i].strategies) {
      out << i << " " << scenarios_[i].spec.name << " " << m.name << " "
          << Fixed(m.all.credits_per_doc, 4) << " " << Fixed(std::max(m.all.p95_s, 0.01), 4)
          << "\n";
    }
  }
  return static_cast<bool>(out);
}

}  // namespace gatilho::bench
