// Delivery: getting outbox events to the ERP's sinks, signed, with retries, until they arrive.
//
// This header holds the Signer, which signs webhook deliveries the Standard Webhooks way: the
// `webhook-signature` header carries one `v1,<base64 HMAC-SHA256>` entry per configured secret,
// so a receiver can rotate secrets without losing a delivery.
//
// Threads: a Signer is immutable after Create(); share it freely. Lifetime: it holds its own
// copy of the decoded keys.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gatilho {

class Signer {
 public:
  // A signer for `whsec_secrets`, each "whsec_" followed by the base64 of the key. An empty list
  // gives an empty signer. InvalidArgument naming the secret's position (1-based), never its
  // text, when one is malformed.
  static Result<Signer> Create(const std::vector<std::string>& whsec_secrets);

  // The `webhook-signature` value for one delivery: "v1,<sig>" per secret, space-separated, in
  // the order the secrets were given. Empty when the signer is empty.
  std::string Sign(std::string_view id, int64_t timestamp_seconds, std::string_view body) const;

  // True when there is no secret to sign with.
  bool empty() const { return keys_.empty(); }

 private:
  explicit Signer(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  std::vector<std::string> keys_;  // raw key bytes, decoded from the secrets
};

}  // namespace gatilho
