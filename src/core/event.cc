#include "core/event.h"

namespace gatilho {

std::string_view EventStateName(EventState state) {
  switch (state) {
    case EventState::kPending:
      return "pending";
    case EventState::kDelivered:
      return "delivered";
    case EventState::kDead:
      return "dead";
    case EventState::kSuperseded:
      return "superseded";
  }
  return "unknown";
}

std::optional<EventState> ParseEventState(std::string_view name) {
  for (EventState state :
       {EventState::kPending, EventState::kDelivered, EventState::kDead, EventState::kSuperseded}) {
    if (EventStateName(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace gatilho
