// Helpers shared by the subcommands: exit codes, loading the configuration and opening the
// store with messages a person can act on.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/store.h"

namespace gatilho::cli {

// Exit statuses of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;    // something at run time failed (store, network)
inline constexpr int kExitUsage = 2;      // bad command line, config file or argument
inline constexpr int kExitLocked = 3;     // run: another run holds the data directory
inline constexpr int kExitAttention = 4;  // run --once: worked, but something needs a person

inline constexpr char kDefaultConfig[] = "/etc/gatilho/gatilho.conf";

// Loads the configuration; on failure prints why to stderr and returns nullopt. *exit_code is
// set to kExitUsage for errors in the files, kExitFailure for I/O errors.
std::optional<Config> LoadConfigOrReport(const std::string& path, int* exit_code);

// Opens the store in the config's data_dir; on failure prints why and returns null.
std::unique_ptr<Store> OpenStoreOrReport(const GlobalConfig& global);

// Parses a subcommand's arguments: the common --config, --help and --log-level plus
// `options`, with every non-option argument collected into *positional. Returns nullopt when
// the command should go on, or the exit status when it should stop (help printed: 0; bad
// arguments: an error printed, 2).
std::optional<int> ParseCommandLine(const std::vector<std::string>& args, const std::string& usage,
                                    boost::program_options::options_description options,
                                    boost::program_options::variables_map* vm,
                                    std::vector<std::string>* positional);

// `ms` (wall time) as local "YYYY-MM-DD HH:MM:SS", or "-" for 0.
std::string FormatTime(int64_t ms);

// The wall time `text` names, for --since: a duration back from now_ms ("90s", "30m", "2h",
// "7d") or a local date and time ("2026-12-01", "2026-12-01T10:00", "2026-12-01 10:00:00").
// InvalidArgument saying which forms are accepted otherwise.
Result<int64_t> ParseSince(const std::string& text, int64_t now_ms);

// Reads --since and --company (when given) into query->since_ms and query->company, checking
// the company against `config`. Returns nullopt to go on, or kExitUsage after printing why.
std::optional<int> ReadEventSelection(const boost::program_options::variables_map& vm,
                                      const Config& config, int64_t now_ms, EventQuery* query);

// The rows as lines of aligned columns, two spaces apart, each line starting with `indent`;
// `header` (may be empty) comes first. Columns whose index is in `right` are right-aligned
// (numbers). Widths count UTF-8 characters, not bytes; trailing blanks are dropped.
std::vector<std::string> FormatTable(const std::vector<std::string>& header,
                                     const std::vector<std::vector<std::string>>& rows,
                                     const std::vector<size_t>& right = {},
                                     const std::string& indent = "");

// Prints "gatilho: <message>" to stderr.
void PrintError(const std::string& message);

}  // namespace gatilho::cli
