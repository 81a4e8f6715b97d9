// Classify: which differences between two consult answers are events. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fiscal/document_facts.h"

namespace gatilho {

struct Transition {
  std::vector<std::string> events;  // event type names, in the order they happened
  bool cycle_ended = false;         // the processing phase is over (now or earlier)
  bool follow = false;              // the document can still change: keep polling it slowly
  // The answer is older than what was already seen (or has an unknown status): it produced no
  // event and the caller keeps the previous facts. cycle_ended and follow then describe them.
  bool ignored = false;
};

// Compares `current` with `previous`, the last facts seen in this cycle (nullopt before the
// first document answer), following the API's documented life of a document:
// - processando_autorizacao: no event, not ended.
// - the first arrival at autorizado, erro_autorizacao or denegado: an event of that name.
//   autorizado ends the cycle and is followed; erro_autorizacao and denegado end it for good
//   (a re-submission after erro_autorizacao is a new watch, hence a new cycle).
// - cancelado, substituido, encerrado: an event of that name; ended, not followed.
// - while autorizado: "carta_correcao" when its number grew, "contingencia_efetivada" when the
//   offline contingency was effectivated, "tentativa_anterior" when the previous attempt's
//   status changed to a non-empty value.
// - an unchanged answer: no events. A status earlier in the life than the previous one:
//   ignored.
Transition Classify(const std::optional<DocumentFacts>& previous, const DocumentFacts& current);

}  // namespace gatilho
