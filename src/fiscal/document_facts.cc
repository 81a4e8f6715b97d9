#include "fiscal/document_facts.h"

#include <charconv>
#include <vector>

#include "core/digest.h"

namespace gatilho {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr size_t kFieldCount = 6;

// Strings come from the API, so a '|' in them must not be mistaken for a separator.
std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%') {
      out += "%25";
    } else if (c == '|') {
      out += "%7C";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    std::string_view code = text.substr(i + 1, 2);
    if (code == "25") {
      out += '%';
    } else if (code == "7C") {
      out += '|';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

std::optional<bool> DecodeFlag(std::string_view text) {
  if (text == "1") return true;
  if (text == "0") return false;
  return std::nullopt;
}

}  // namespace

std::string DocumentFacts::Encode() const {
  std::string out(kVersion);
  out += '|';
  out += Escape(status);
  out += '|';
  out += std::to_string(carta_correcao);
  out += '|';
  out += contingencia_offline ? '1' : '0';
  out += '|';
  out += contingencia_efetivada ? '1' : '0';
  out += '|';
  out += Escape(tentativa_anterior_status);
  return out;
}

std::optional<DocumentFacts> DocumentFacts::Decode(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t bar = text.find('|', start);
    fields.push_back(text.substr(start, bar == std::string_view::npos ? bar : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  if (fields.size() != kFieldCount || fields[0] != kVersion) return std::nullopt;

  DocumentFacts facts;
  auto status = Unescape(fields[1]);
  auto tentativa = Unescape(fields[5]);
  auto offline = DecodeFlag(fields[3]);
  auto efetivada = DecodeFlag(fields[4]);
  if (!status || !tentativa || !offline || !efetivada) return std::nullopt;
  std::string_view number = fields[2];
  auto [end, error] =
      std::from_chars(number.data(), number.data() + number.size(), facts.carta_correcao);
  if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
      facts.carta_correcao < 0) {
    return std::nullopt;
  }
  facts.status = std::move(*status);
  facts.tentativa_anterior_status = std::move(*tentativa);
  facts.contingencia_offline = *offline;
  facts.contingencia_efetivada = *efetivada;
  return facts;
}

std::string DocumentFacts::Fingerprint() const {
  return Sha256Hex(Encode()).substr(0, 16);
}

}  // namespace gatilho
