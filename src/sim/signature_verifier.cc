#include "sim/signature_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "sim/base64.h"

namespace gatilho::sim {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kVersionPrefix = "v1,";

}  // namespace

std::optional<SignatureVerifier> SignatureVerifier::Create(const std::vector<std::string>& secrets,
                                                           int tolerance_seconds,
                                                           std::string* error) {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    const std::string_view secret = secrets[i];
    std::optional<std::string> key;
    if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
      key = Base64Decode(secret.substr(kSecretPrefix.size()));
    }
    if (!key || key->empty()) {
      *error = "secret #" + std::to_string(i + 1) + " is not of the form whsec_<base64>";
      return std::nullopt;
    }
    keys.push_back(std::move(*key));
  }
  return SignatureVerifier(std::move(keys), tolerance_seconds);
}

bool SignatureVerifier::Verify(std::string_view id, std::string_view timestamp,
                               std::string_view signature_header, std::string_view body,
                               int64_t now_seconds) const {
  int64_t sent_seconds = 0;
  const auto [end, ec] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), sent_seconds);
  if (id.empty() || timestamp.empty() || ec != std::errc() ||
      end != timestamp.data() + timestamp.size()) {
    return false;
  }
  if (tolerance_seconds_ > 0) {
    const int64_t skew =
        sent_seconds > now_seconds ? sent_seconds - now_seconds : now_seconds - sent_seconds;
    if (skew > tolerance_seconds_) return false;
  }

  std::string signed_content;
  signed_content.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_content.append(id).append(".").append(timestamp).append(".").append(body);

  std::vector<std::string> expected;
  for (const std::string& key : keys_) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(),
         digest, &length);
    expected.emplace_back(reinterpret_cast<const char*>(digest), length);
  }

  std::string_view rest = signature_header;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    // Entries of other versions are skipped, not failed: the scheme lets senders add them.
    if (entry.substr(0, kVersionPrefix.size()) != kVersionPrefix) continue;
    const std::optional<std::string> candidate = Base64Decode(entry.substr(kVersionPrefix.size()));
    if (!candidate) continue;
    for (const std::string& digest : expected) {
      // Constant-time comparison, so response timing does not reveal how much of a forged
      // signature was right.
      if (candidate->size() == digest.size() &&
          CRYPTO_memcmp(candidate->data(), digest.data(), digest.size()) == 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace gatilho::sim
