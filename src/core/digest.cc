#include "core/digest.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace gatilho {

std::string Sha256Hex(std::string_view data) {
  // OpenSSL 3 looks the algorithm up by name on every one-shot call; every poll's answer is
  // fingerprinted, so the implementation is fetched once (and never freed: it lives as long as
  // the process).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int length = 0;
  if (sha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &length, sha256, nullptr) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
  return out;
}

std::string SecretHandle(std::string_view secret) {
  return Sha256Hex(secret).substr(0, 16);
}

std::string MaskSecret(std::string_view secret) {
  // Short secrets would be mostly revealed by their last four characters.
  if (secret.size() <= 8) return std::string(secret.size() == 0 ? 0 : 8, '*');
  return std::string(8, '*') + std::string(secret.substr(secret.size() - 4));
}

}  // namespace gatilho
