// TokenHash: the only way a token is ever shown by the simulator (stats, document listings).
#pragma once

#include <string>

namespace gatilho::sim {

// The first 8 hex digits of SHA-256(token): enough to tell tokens apart in a report, useless for
// recovering the token.
std::string TokenHash(const std::string& token);

}  // namespace gatilho::sim
