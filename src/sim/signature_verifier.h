// SignatureVerifier: checks Standard Webhooks signatures (HMAC-SHA256 over "id.timestamp.body",
// keyed by the base64 part of a whsec_ secret), written independently of the daemon's signer so
// that the receiver is a real check on it. Immutable after creation, hence thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatilho::sim {

class SignatureVerifier {
 public:
  // A verifier accepting signatures by any of `secrets` ("whsec_<base64 key>"), or nullopt with a
  // reason in `error` (which never contains the secret). `tolerance_seconds` bounds how far the
  // webhook-timestamp may be from now; 0 disables that check (to replay recorded deliveries).
  static std::optional<SignatureVerifier> Create(const std::vector<std::string>& secrets,
                                                 int tolerance_seconds, std::string* error);

  // True when `signature_header` (space-separated "v1,<base64>" entries) holds at least one
  // signature of id.timestamp.body by a configured secret and the timestamp is fresh.
  bool Verify(std::string_view id, std::string_view timestamp, std::string_view signature_header,
              std::string_view body, int64_t now_seconds) const;

 private:
  SignatureVerifier(std::vector<std::string> keys, int tolerance_seconds)
      : keys_(std::move(keys)), tolerance_seconds_(tolerance_seconds) {}

  std::vector<std::string> keys_;  // decoded HMAC keys
  int tolerance_seconds_;
};

}  // namespace gatilho::sim
