#include "config/webhook_secret.h"

#include <optional>
#include <string>

namespace gatilho {
namespace {

constexpr std::string_view kPrefix = "whsec_";
constexpr size_t kMinKeyBytes = 24;
constexpr size_t kMaxKeyBytes = 64;
constexpr std::string_view kHowToGenerate =
    "generate one with: echo whsec_$(openssl rand -base64 32)";

bool IsBase64Digit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// The number of bytes `text` decodes to, or nullopt when it is not standard base64 with
// padding. Only the length matters here, so the bytes themselves are never materialised.
std::optional<size_t> DecodedBase64Size(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!IsBase64Digit(text[i])) return std::nullopt;
  }
  return text.size() / 4 * 3 - padding;
}

}  // namespace

Status CheckWebhookSecret(std::string_view secret) {
  if (secret.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidArgument("must start with 'whsec_' (Standard Webhooks format); " +
                                   std::string(kHowToGenerate));
  }
  std::optional<size_t> size = DecodedBase64Size(secret.substr(kPrefix.size()));
  if (!size) {
    return Status::InvalidArgument("must be 'whsec_' followed by standard base64 with = padding; " +
                                   std::string(kHowToGenerate));
  }
  if (*size < kMinKeyBytes || *size > kMaxKeyBytes) {
    return Status::InvalidArgument("decodes to " + std::to_string(*size) +
                                   " bytes; it must hold 24 to 64 bytes; " +
                                   std::string(kHowToGenerate));
  }
  return Status::Ok();
}

}  // namespace gatilho
