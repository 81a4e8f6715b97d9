// DeliverySinks: how the configuration's company files become the dispatcher's sinks.
//
// Kept apart from the daemon so that the commands that name endpoints (`gatilho endpoint`) see
// exactly the endpoints the daemon delivers to. Pure: a function of the Config.
#pragma once

#include <map>
#include <string>

#include "config/config.h"
#include "delivery/dispatcher.h"
#include "net/http_client.h"

namespace gatilho {

// One sink per company: its webhook (URL, secrets, payload format, headers, auth, TLS, proxy,
// limits) or its folder, with the global delivery timeout.
std::map<std::string, DeliverySink> DeliverySinks(const Config& config);

// What the sinks need of the HTTP client and the dispatcher for every endpoint to have its own
// max_in_flight at once, whatever the others do.
struct DeliveryConnections {
  // The sum of the caps of distinct webhook endpoints: a dispatcher limit below it would let
  // slow endpoints use up the deliveries the others are owed.
  size_t total = 0;
  // The largest sum of caps of the endpoints reached through one host (scheme, host and port,
  // or the proxy when one is set): libcurl's per-host limit counts them together, so a
  // smaller one lets a slow endpoint hold the connections of its neighbours on that host.
  size_t per_host = 0;
};
DeliveryConnections ConnectionsFor(const std::map<std::string, DeliverySink>& sinks);

// The HttpClient options for a daemon with `poll_concurrency` polls in flight and `sinks`: a
// connection per poll, every endpoint's whole cap even beside others on its host, and a few
// spare connections (the operator URL, connections closing).
HttpClient::Options HttpOptionsFor(int poll_concurrency,
                                   const std::map<std::string, DeliverySink>& sinks);

// The dispatcher's total limit for `sinks`: never below the sum of the endpoints' caps, so that
// slow endpoints cannot use up the deliveries the others are owed.
size_t DispatcherSlotsFor(const std::map<std::string, DeliverySink>& sinks);

}  // namespace gatilho
