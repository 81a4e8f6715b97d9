#include "fiscal/api_paths.h"

#include <cstdio>

namespace gatilho {
namespace {

// The API documents no length limit. 100 keeps store keys and URLs small and is far above any
// ref in the docs' examples (the longest, an NF-e key reused as ref, has 47 characters).
constexpr size_t kMaxRefLength = 100;

// The docs say refs are "alphanumeric", yet their own examples use '_' and '-'
// ("referencia_000899_nfe", "nfs-2") and ERPs rely on them, so rejecting them would refuse
// documents the API accepted.
bool IsRefChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string DescribeChar(unsigned char c) {
  if (c == ' ') return "a space";
  if (c < 0x20 || c == 0x7f) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", c);
    return std::string("a control character (") + hex + ")";
  }
  if (c >= 0x80) return "a non-ASCII character";
  return std::string("'") + static_cast<char>(c) + "'";
}

}  // namespace

std::string_view BaseUrlFor(std::string_view environment) {
  if (environment == "producao") return "https://api.focusnfe.com.br";
  if (environment == "homologacao") return "https://homologacao.focusnfe.com.br";
  return "";
}

std::string ConsultUrl(std::string_view base_url, DocType type, std::string_view ref) {
  while (!base_url.empty() && base_url.back() == '/')
    base_url.remove_suffix(1);
  std::string url(base_url);
  url += "/v2/";
  url += DocTypeName(type);
  url += '/';
  // Intake validates refs, but a '/', '?' or '#' that slipped through must not turn the
  // consult into a request for some other resource.
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : ref) {
    if (IsRefChar(c)) {
      url += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      url += '%';
      url += kHex[byte >> 4];
      url += kHex[byte & 0x0f];
    }
  }
  return url;
}

bool IsValidRef(std::string_view ref) {
  return RefProblem(ref).empty();
}

std::string RefProblem(std::string_view ref) {
  if (ref.empty()) return "ref is empty; refs use 1 to 100 letters, digits, '_' or '-'";
  if (ref.size() > kMaxRefLength) {
    return "ref has " + std::to_string(ref.size()) + " characters; the limit is " +
           std::to_string(kMaxRefLength);
  }
  for (size_t i = 0; i < ref.size(); ++i) {
    if (IsRefChar(ref[i])) continue;
    // Control characters would garble the operator's terminal or log line.
    std::string shown;
    for (char c : ref) {
      auto byte = static_cast<unsigned char>(c);
      shown += (byte < 0x20 || byte == 0x7f) ? '?' : c;
    }
    return "ref '" + shown + "' has " + DescribeChar(static_cast<unsigned char>(ref[i])) +
           " at position " + std::to_string(i + 1) + "; refs use only letters, digits, '_' and '-'";
  }
  return "";
}

}  // namespace gatilho
