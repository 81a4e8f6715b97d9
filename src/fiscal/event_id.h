// EventId: the stable identity of an event, so that the same change always has the same id
// across retries, crashes and re-polls, and receivers can deduplicate on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/watch.h"

namespace gatilho {

// "evt_" followed by 32 hex digits derived from the company, type, ref, cycle, event type and
// `discriminator`, which tells apart repeated events of one type in a cycle (the CC-e number
// for "carta_correcao"; "" otherwise). Equal inputs give equal ids; any difference gives a
// different id.
std::string EventId(const WatchKey& key, uint32_t cycle, std::string_view event_type,
                    std::string_view discriminator);

}  // namespace gatilho
