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
  }
  return "unknown";
}

}  // namespace gatilho
