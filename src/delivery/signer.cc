#include "delivery/signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>

namespace gatilho {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

bool IsBase64Digit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// The bytes `text` encodes in standard padded base64, or nullopt when it is not such text.
std::optional<std::string> DecodeBase64(std::string_view text) {
  // EVP_DecodeBlock forgives surrounding whitespace; a secret is either exact or malformed.
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  for (char c : text.substr(0, text.size() - padding)) {
    if (!IsBase64Digit(c)) return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the zero bytes that stand for the '=' padding as output.
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

std::string EncodeBase64(const unsigned char* data, size_t size) {
  std::string out((size + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock also writes a NUL
  int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(written));
  return out;
}

}  // namespace

Result<Signer> Signer::Create(const std::vector<std::string>& whsec_secrets) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < whsec_secrets.size(); ++i) {
    std::string_view secret = whsec_secrets[i];
    std::string position = "webhook secret #" + std::to_string(i + 1);
    if (!secret.starts_with(kSecretPrefix)) {
      return Status::InvalidArgument(position + " must start with \"whsec_\"");
    }
    std::optional<std::string> key = DecodeBase64(secret.substr(kSecretPrefix.size()));
    if (!key.has_value() || key->empty()) {
      return Status::InvalidArgument(position +
                                     " must be \"whsec_\" followed by a non-empty base64 key");
    }
    keys.push_back(std::move(*key));
  }
  return Signer(std::move(keys));
}

std::string Signer::Sign(std::string_view id, int64_t timestamp_seconds,
                         std::string_view body) const {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp_seconds)).append(".");
  content.append(body);

  std::string header;
  for (const std::string& key : keys_) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_size);
    if (!header.empty()) header += ' ';
    header += "v1,";
    header += EncodeBase64(mac, mac_size);
  }
  return header;
}

}  // namespace gatilho
