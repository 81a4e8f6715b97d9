// The JSON form of an outbox event and its delivery attempts, shared by `gatilho events --json`
// and the local API so that both print the same objects.
#pragma once

#include <boost/json/object.hpp>
#include <vector>

#include "core/event.h"

namespace gatilho {

// One event with its attempts: id, company, type, ref, cycle, event, state, created,
// next_attempt (pending only), finished, attempts and attempt_log. Times are RFC 3339 UTC with
// milliseconds; a time that is 0 ("never") is null.
boost::json::object EventJson(const EventRecord& event, const std::vector<AttemptRecord>& attempts);

}  // namespace gatilho
