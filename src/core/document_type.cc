#include "core/document_type.h"

namespace gatilho {

std::string_view DocTypeName(DocType type) {
  switch (type) {
    case DocType::kNfe:
      return "nfe";
    case DocType::kNfce:
      return "nfce";
    case DocType::kNfse:
      return "nfse";
    case DocType::kNfsen:
      return "nfsen";
    case DocType::kCte:
      return "cte";
    case DocType::kMdfe:
      return "mdfe";
    case DocType::kNfcom:
      return "nfcom";
  }
  return "unknown";
}

std::optional<DocType> ParseDocType(std::string_view name) {
  for (DocType type : kAllDocTypes) {
    if (DocTypeName(type) == name) return type;
  }
  // CT-e OS is created at /v2/cte_os but consulted at /v2/cte/REF.
  if (name == "cte_os") return DocType::kCte;
  return std::nullopt;
}

std::string_view DocTypeNames() {
  return "nfe, nfce, nfse, nfsen, cte, mdfe, nfcom";
}

}  // namespace gatilho
