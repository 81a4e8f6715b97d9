// Standard base64 (RFC 4648, with padding), as used by HTTP Basic auth and Standard Webhooks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatilho::sim {

std::string Base64Encode(std::string_view bytes);
// The decoded bytes, or nullopt when `text` is not valid padded base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace gatilho::sim
