// Fuzz target: the proxy's reading of the ERP's traffic. The input is "<method> <target>\n"
// followed by the body of the API's answer. The request is classified; a classified request
// must carry a valid ref. Then the answer is read as a synchronous answer for every request
// kind and document type, with and without previous facts, at a few statuses: whatever it
// yields must be a document observation carrying the body byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "fiscal/api_paths.h"
#include "fiscal/erp_request.h"
#include "fiscal/sync_answer.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t end = input.find('\n');
  std::string_view request_line = input.substr(0, end);
  std::string_view body = end == std::string_view::npos ? "" : input.substr(end + 1);
  size_t space = request_line.find(' ');
  std::string_view method = request_line.substr(0, space);
  std::string_view target = space == std::string_view::npos ? "" : request_line.substr(space + 1);

  gatilho::ErpRequest request = gatilho::ClassifyErpRequest(method, target);
  if (request.kind != gatilho::ErpRequestKind::kOther) Check(gatilho::IsValidRef(request.ref));

  gatilho::DocumentFacts authorized;
  authorized.status = "autorizado";
  authorized.carta_correcao = 1;
  const std::optional<gatilho::DocumentFacts> previous_facts[] = {std::nullopt, authorized};
  const gatilho::ErpRequestKind kinds[] = {
      gatilho::ErpRequestKind::kOther, gatilho::ErpRequestKind::kEmission,
      gatilho::ErpRequestKind::kCancellation, gatilho::ErpRequestKind::kCorrection};
  for (gatilho::ErpRequestKind kind : kinds) {
    for (gatilho::DocType type : gatilho::kAllDocTypes) {
      for (const std::optional<gatilho::DocumentFacts>& previous : previous_facts) {
        for (int status : {200, 201, 422}) {
          std::optional<gatilho::Observation> answer =
              gatilho::ReadSyncAnswer(kind, type, status, body, previous);
          if (!answer.has_value()) continue;
          Check(answer->outcome == gatilho::Outcome::kDocument);
          Check(answer->body == body);
        }
      }
    }
  }
  return 0;
}
