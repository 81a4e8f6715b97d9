// DeliverySinks: how the configuration's company files become the dispatcher's sinks.
//
// Kept apart from the daemon so that the commands that name endpoints (`gatilho endpoint`) see
// exactly the endpoints the daemon delivers to. Pure: a function of the Config.
#pragma once

#include <map>
#include <string>

#include "config/config.h"
#include "delivery/dispatcher.h"

namespace gatilho {

// One sink per company: its webhook (URL, secrets, payload format, headers, auth, TLS, proxy,
// limits) or its folder, with the global delivery timeout.
std::map<std::string, DeliverySink> DeliverySinks(const Config& config);

}  // namespace gatilho
