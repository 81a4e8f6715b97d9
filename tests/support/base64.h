// Base64 for tests that build what a client would send (Basic credentials, signatures) or
// look for a secret in its encoded form, without going through the code under test.
#pragma once

#include <string>
#include <string_view>

namespace gatilho::testing {

// Standard base64 with = padding, no line breaks.
std::string Base64(std::string_view bytes);

}  // namespace gatilho::testing
