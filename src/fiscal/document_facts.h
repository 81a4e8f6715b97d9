// DocumentFacts: the fields of a consult answer whose change is an event, in a compact form
// the store keeps between polls.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatilho {

struct DocumentFacts {
  std::string status;  // the API's `status`
  // `numero_carta_correcao`; 1 when only `caminho_xml_carta_correcao` is present (CT-e answers
  // carry no number); 0 when the document has no carta de correção.
  int carta_correcao = 0;
  bool contingencia_offline = false;      // `contingencia_offline`
  bool contingencia_efetivada = false;    // `contingencia_offline_efetivada`
  std::string tentativa_anterior_status;  // `tentativa_anterior.status`; "" when absent

  // A compact, versioned text that Decode() reverses, e.g. "v1|autorizado|2|0|0|cancelado".
  std::string Encode() const;
  // The facts encoded in `text`, or nullopt when it is not something Encode() produced.
  static std::optional<DocumentFacts> Decode(std::string_view text);

  // The first 16 hex digits of the SHA-256 of Encode(): equal facts, equal fingerprints.
  std::string Fingerprint() const;

  friend bool operator==(const DocumentFacts&, const DocumentFacts&) = default;
};

}  // namespace gatilho
