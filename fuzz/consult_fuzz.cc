// Fuzz target: the consult answer parser and the classifier behind it. The input is one or two
// answer bodies separated by a NUL byte; each is read for every DocType as a 200 and as error
// answers, and the facts of the two are classified against each other in both orders, so the
// diff logic sees arbitrary pairs. The store's encoding of the facts must round-trip, and the
// raw input is also decoded as if the store had held it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "fiscal/consult_parser.h"
#include "fiscal/document_facts.h"
#include "fiscal/transition.h"

namespace {

using gatilho::DocumentFacts;
using gatilho::Observation;
using gatilho::Outcome;

void Check(bool condition) {
  if (!condition) std::abort();
}

// The promises of consult_parser.h that hold for any body.
void CheckObservation(const Observation& observation, std::string_view body) {
  if (observation.outcome == Outcome::kDocument) {
    Check(observation.body == body);
    std::optional<DocumentFacts> decoded = DocumentFacts::Decode(observation.facts.Encode());
    Check(decoded.has_value() && *decoded == observation.facts);
    return;
  }
  for (char c : observation.problem) {
    auto byte = static_cast<unsigned char>(c);
    Check(byte >= 0x20 && byte != 0x7f);
  }
}

void CheckTransition(const std::optional<DocumentFacts>& previous, const DocumentFacts& current) {
  gatilho::Transition transition = gatilho::Classify(previous, current);
  if (transition.ignored) Check(transition.events.empty());
  // The same answer twice is never an event.
  if (previous.has_value() && *previous == current) Check(transition.events.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view first = input.substr(0, nul);
  std::string_view second = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  for (gatilho::DocType type : gatilho::kAllDocTypes) {
    Observation a = gatilho::ParseConsult(type, 200, first, "");
    Observation b = gatilho::ParseConsult(type, 200, second, "");
    CheckObservation(a, first);
    CheckObservation(b, second);
    if (a.outcome == Outcome::kDocument) {
      CheckTransition(std::nullopt, a.facts);
      CheckTransition(a.facts, a.facts);
      if (b.outcome == Outcome::kDocument) {
        CheckTransition(a.facts, b.facts);
        CheckTransition(b.facts, a.facts);
      }
    }
  }
  for (int status : {201, 404, 401, 429, 503, 302}) {
    CheckObservation(gatilho::ParseConsult(gatilho::DocType::kNfe, status, first, ""), first);
  }
  CheckObservation(gatilho::ParseConsult(gatilho::DocType::kNfe, 0, "", first), "");

  std::optional<DocumentFacts> stored = DocumentFacts::Decode(input);
  if (stored.has_value()) {
    Check(DocumentFacts::Decode(stored->Encode()) == stored);
    CheckTransition(stored, *stored);
  }
  return 0;
}
