// Which form a reliability suite runs in. The short form is part of every test run and stays
// within a minute or so; GATILHO_RELIABILITY=long selects the long one, minutes of it, whose
// figures RELIABILITY.md quotes (scripts/reliability.sh --long sets the variable).
#pragma once

#include <cstdlib>
#include <string_view>

namespace gatilho::testing {

// True when GATILHO_RELIABILITY is "long"; anything else, or nothing, is the short form.
inline bool LongReliabilityForm() {
  const char* mode = std::getenv("GATILHO_RELIABILITY");
  return mode != nullptr && std::string_view(mode) == "long";
}

}  // namespace gatilho::testing
