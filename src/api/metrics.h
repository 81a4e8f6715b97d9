// Metrics: the local API's /metrics answer, in the Prometheus text exposition format 0.0.4.
//
// A pure renderer: it turns the loop's last published figures and the store's counts into the
// text, with every name prefixed gatilho_, a # HELP and # TYPE line per family, and label values
// escaped (backslash, double quote, line feed). Tokens appear only as their SecretHandle().
#pragma once

#include <string>
#include <string_view>

#include "api/intake_link.h"
#include "store/store.h"

namespace gatilho {

// The Content-Type of RenderMetrics()' text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The whole exposition, ending in a line feed.
std::string RenderMetrics(const RuntimeFigures& figures, const StoreCounts& counts);

// `value` escaped for a label value: \ as \\, " as \", line feed as \n.
std::string EscapeLabelValue(std::string_view value);

}  // namespace gatilho
