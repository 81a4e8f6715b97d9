#include "api/event_json.h"

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/document_type.h"

namespace gatilho {

namespace {

boost::json::value TimeJson(int64_t ms) {
  if (ms == 0) return nullptr;
  return boost::json::value(FormatRfc3339(ms));
}

}  // namespace

boost::json::object EventJson(const EventRecord& event,
                              const std::vector<AttemptRecord>& attempts) {
  boost::json::array tries;
  for (const AttemptRecord& attempt : attempts) {
    tries.push_back(boost::json::object{{"number", attempt.number},
                                        {"time", TimeJson(attempt.time_ms)},
                                        {"http_status", attempt.http_status},
                                        {"error", attempt.error},
                                        {"duration_ms", attempt.duration_ms},
                                        {"sink", attempt.sink},
                                        {"response_excerpt", attempt.response_excerpt}});
  }
  return boost::json::object{
      {"id", event.id},
      {"company", event.key.company},
      {"type", DocTypeName(event.key.type)},
      {"ref", event.key.ref},
      {"cycle", event.cycle},
      {"event", event.type},
      {"state", EventStateName(event.state)},
      {"created", TimeJson(event.created_ms)},
      {"next_attempt", event.state == EventState::kPending ? TimeJson(event.next_attempt_ms)
                                                           : boost::json::value(nullptr)},
      {"finished", TimeJson(event.finished_ms)},
      {"attempts", event.attempts},
      {"attempt_log", std::move(tries)}};
}

}  // namespace gatilho
