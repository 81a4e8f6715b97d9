// Fuzz target: the spool-file parser. The input is one dropped file, read against two companies
// (acme: nfe and nfse; beta: cte) with the default limits and with tiny ones. An accepted file
// must yield distinct watches, each for a known company, one of its types and a valid ref.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "api/spool_file.h"
#include "fiscal/api_paths.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckParse(std::string_view text, const gatilho::SpoolCompanies& companies,
                const gatilho::SpoolLimits& limits) {
  gatilho::Result<std::vector<gatilho::WatchKey>> keys =
      gatilho::ParseSpoolFile(text, companies, limits);
  if (!keys.ok()) {
    // The reason goes to the log and the .reason file: one line per problem, nothing that
    // would garble a terminal, and bounded whatever the file holds.
    const std::string message = keys.status().message();
    Check(!message.empty() && message.size() < 4096);
    for (char c : message)
      Check(c == '\n' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
    return;
  }
  Check(!keys->empty() && text.size() <= limits.max_bytes);
  std::set<gatilho::WatchKey> seen;
  for (const gatilho::WatchKey& key : *keys) {
    auto company = companies.find(key.company);
    Check(company != companies.end());
    Check(company->second.count(key.type) == 1);
    Check(gatilho::IsValidRef(key.ref));
    Check(seen.insert(key).second);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gatilho::SpoolCompanies kCompanies = {
      {"acme", {gatilho::DocType::kNfe, gatilho::DocType::kNfse}},
      {"beta", {gatilho::DocType::kCte}},
  };
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckParse(text, kCompanies, {});
  CheckParse(text, kCompanies, gatilho::SpoolLimits{.max_bytes = 256, .max_lines = 4});
  return 0;
}
