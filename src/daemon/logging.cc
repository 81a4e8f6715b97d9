#include "daemon/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace gatilho {

Status SetUpLogging(std::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("log_level '" + std::string(level) +
                                   "' is not one of trace, debug, info, warn, error, off");
  }
  std::shared_ptr<spdlog::logger> logger = spdlog::get("gatilho");
  if (!logger) logger = spdlog::stderr_logger_mt("gatilho");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  spdlog::set_error_handler([](const std::string& message) {
    static std::atomic<int64_t> last_report_s{0};
    static std::atomic<uint64_t> dropped{0};
    ++dropped;
    int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
    if (last_report_s.exchange(now_s) != now_s) {
      std::fprintf(stderr, "gatilho: a log line could not be written (%llu so far): %s\n",
                   static_cast<unsigned long long>(dropped.load()), message.c_str());
    }
  });
  return Status::Ok();
}

}  // namespace gatilho
