#include "cli/cli_support.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace gatilho::cli {

namespace po = boost::program_options;

std::optional<int> ParseCommandLine(const std::vector<std::string>& args, const std::string& usage,
                                    po::options_description options, po::variables_map* vm,
                                    std::vector<std::string>* positional) {
  options.add_options()                                                                 //
      ("config,c", po::value<std::string>()->default_value(kDefaultConfig),             //
       "the global configuration file")                                                 //
      ("log-level", po::value<std::string>(), "override log_level of the config file")  //
      ("help,h", "show this help")                                                      //
      ("version", "show the version");
  po::options_description all;
  all.add(options).add_options()("arg", po::value<std::vector<std::string>>(), "");
  po::positional_options_description rest;
  rest.add("arg", -1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(rest).run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    PrintError(std::string(e.what()) + "\n" + usage);
    return kExitUsage;
  }
  if (vm->count("version") != 0) {
    std::cout << "gatilho " << GATILHO_VERSION << "\n";
    return kExitOk;
  }
  if (vm->count("help") != 0) {
    std::cout << usage << "\n" << options;
    return kExitOk;
  }
  if (vm->count("arg") != 0) *positional = (*vm)["arg"].as<std::vector<std::string>>();
  return std::nullopt;
}

std::string FormatTime(int64_t ms) {
  if (ms == 0) return "-";
  time_t seconds = static_cast<time_t>(ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

Result<int64_t> ParseSince(const std::string& text, int64_t now_ms) {
  const Status wrong = Status::InvalidArgument(
      "--since '" + text +
      "' is not a time; give a duration back from now (90s, 30m, 2h, 7d) or a local date and "
      "time (2026-12-01, 2026-12-01T10:00, 2026-12-01 10:00:00)");
  if (text.empty()) return wrong;
  char unit = text.back();
  if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
    std::string digits = text.substr(0, text.size() - 1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return wrong;
    }
    int64_t amount = std::stoll(digits);
    int64_t unit_ms = unit == 's'   ? 1000
                      : unit == 'm' ? 60'000
                      : unit == 'h' ? 3'600'000
                                    : 86'400'000;
    return now_ms - amount * unit_ms;
  }
  tm local{};
  int consumed = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  // sscanf's %n tells how far the date went, so trailing garbage is refused.
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) {
    return wrong;
  }
  std::string rest = text.substr(static_cast<size_t>(consumed));
  if (!rest.empty()) {
    int time_consumed = 0;
    char separator = 0;
    int fields = std::sscanf(rest.c_str(), "%c%2d:%2d%n:%2d%n", &separator, &hour, &minute,
                             &time_consumed, &second, &time_consumed);
    if (fields < 3 || (separator != 'T' && separator != ' ') ||
        static_cast<size_t>(time_consumed) != rest.size()) {
      return wrong;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return wrong;
  }
  local.tm_year = year - 1900;
  local.tm_mon = month - 1;
  local.tm_mday = day;
  local.tm_hour = hour;
  local.tm_min = minute;
  local.tm_sec = second;
  local.tm_isdst = -1;
  time_t seconds = mktime(&local);
  if (seconds == static_cast<time_t>(-1)) return wrong;
  return static_cast<int64_t>(seconds) * 1000;
}

std::optional<int> ReadEventSelection(const po::variables_map& vm, const Config& config,
                                      int64_t now_ms, EventQuery* query) {
  if (vm.count("since") != 0) {
    Result<int64_t> since = ParseSince(vm["since"].as<std::string>(), now_ms);
    if (!since.ok()) {
      PrintError(since.status().message());
      return kExitUsage;
    }
    query->since_ms = *since;
  }
  if (vm.count("company") != 0) {
    query->company = vm["company"].as<std::string>();
    if (config.Find(query->company) == nullptr) {
      PrintError("unknown company '" + query->company + "': no " + query->company + ".conf in " +
                 config.global.companies_dir);
      return kExitUsage;
    }
  }
  return std::nullopt;
}

namespace {

size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text)
    width += (c & 0xC0) != 0x80 ? 1 : 0;  // continuation bytes add no character
  return width;
}

}  // namespace

std::vector<std::string> FormatTable(const std::vector<std::string>& header,
                                     const std::vector<std::vector<std::string>>& rows,
                                     const std::vector<size_t>& right, const std::string& indent) {
  std::vector<const std::vector<std::string>*> all;
  if (!header.empty()) all.push_back(&header);
  for (const std::vector<std::string>& row : rows)
    all.push_back(&row);
  std::vector<size_t> widths;
  for (const std::vector<std::string>* row : all) {
    if (widths.size() < row->size()) widths.resize(row->size(), 0);
    for (size_t i = 0; i < row->size(); ++i)
      widths[i] = std::max(widths[i], DisplayWidth((*row)[i]));
  }
  std::vector<std::string> lines;
  for (const std::vector<std::string>* row : all) {
    std::string line = indent;
    for (size_t i = 0; i < row->size(); ++i) {
      const std::string& cell = (*row)[i];
      std::string pad(widths[i] - DisplayWidth(cell), ' ');
      if (i > 0) line += "  ";
      bool right_aligned = std::find(right.begin(), right.end(), i) != right.end();
      line += right_aligned ? pad + cell : cell + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    lines.push_back(std::move(line));
  }
  return lines;
}

void PrintError(const std::string& message) {
  std::cerr << "gatilho: " << message << "\n";
}

std::optional<Config> LoadConfigOrReport(const std::string& path, int* exit_code) {
  Result<Config> config = LoadConfig(path);
  if (config.ok()) return std::move(config).value();
  PrintError(config.status().message());
  *exit_code = config.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  return std::nullopt;
}

std::unique_ptr<Store> OpenStoreOrReport(const GlobalConfig& global) {
  Store::Options options;
  options.dir = global.data_dir;
  options.max_map_bytes = StoreMaxBytes(global);
  options.initial_map_bytes = std::min(options.initial_map_bytes, options.max_map_bytes);
  options.when_full = "raise store_max_mib in " + global.config_file +
                      " (and make room on the disk), or let retention (attempt_retention_days) "
                      "remove old events";
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (store.ok()) return std::move(store).value();
  PrintError(store.status().message());
  return nullptr;
}

}  // namespace gatilho::cli
