// DocType: the fiscal document types gatilho can watch, and their names on the command line,
// in config files and in the API's URLs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gatilho {

// Values are persisted in the store: never renumber, only append.
enum class DocType : uint8_t {
  kNfe = 1,    // NF-e, model 55
  kNfce = 2,   // NFC-e, model 65
  kNfse = 3,   // NFS-e, municipal
  kNfsen = 4,  // NFS-e Nacional
  kCte = 5,    // CT-e and CT-e OS (one consult path serves both)
  kMdfe = 6,   // MDF-e
  kNfcom = 7,  // NFCom
};

inline constexpr std::array<DocType, 7> kAllDocTypes = {
    DocType::kNfe, DocType::kNfce, DocType::kNfse,  DocType::kNfsen,
    DocType::kCte, DocType::kMdfe, DocType::kNfcom,
};

// The lowercase name used everywhere: "nfe", "nfce", "nfse", "nfsen", "cte", "mdfe", "nfcom".
std::string_view DocTypeName(DocType type);

// The type named `name` (as DocTypeName prints it; "cte_os" is accepted as kCte), or nullopt.
std::optional<DocType> ParseDocType(std::string_view name);

// The names of all types, comma-separated, for error messages.
std::string_view DocTypeNames();

}  // namespace gatilho
