// Webhook signing secrets in the Standard Webhooks format: "whsec_" followed by the key in
// base64. The delivery module signs with them; this module only checks their shape.
#pragma once

#include <string_view>

#include "core/status.h"

namespace gatilho {

// OK when `secret` is "whsec_" followed by standard, padded base64 of 24 to 64 bytes.
// Otherwise InvalidArgument with a message that completes a sentence starting with the key's
// name ("webhook.secret ...") and says how to generate a good one. The message never contains
// any part of `secret`.
Status CheckWebhookSecret(std::string_view secret);

}  // namespace gatilho
