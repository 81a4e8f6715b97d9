#include "fiscal/event_id.h"

#include "core/digest.h"

namespace gatilho {

std::string EventId(const WatchKey& key, uint32_t cycle, std::string_view event_type,
                    std::string_view discriminator) {
  // NUL cannot occur in any part, so no two different inputs share a canonical string.
  const std::string cycle_text = std::to_string(cycle);
  std::string canonical;
  for (std::string_view part :
       {std::string_view(key.company), DocTypeName(key.type), std::string_view(key.ref),
        std::string_view(cycle_text), event_type, discriminator}) {
    canonical += part;
    canonical += '\0';
  }
  return "evt_" + Sha256Hex(canonical).substr(0, 32);
}

}  // namespace gatilho
