// Logging set-up: spdlog to stderr (journald adds its own timestamps under systemd), one line
// per state change. A failure inside spdlog (a bad format string, a closed stderr) is reported
// at most once a second and never propagates: logging must not be able to stop the daemon.
#pragma once

#include <string_view>

#include "core/status.h"

namespace gatilho {

// Installs the default logger at `level` (trace|debug|info|warn|error|off).
Status SetUpLogging(std::string_view level);

}  // namespace gatilho
