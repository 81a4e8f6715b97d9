#include "fiscal/transition.h"

#include <string_view>

namespace gatilho {
namespace {

constexpr std::string_view kProcessing = "processando_autorizacao";

// Where a status sits in a document's life. erro_autorizacao ranks below autorizado because a
// rejected document may be re-sent and authorized, never the other way round.
std::optional<int> StatusRank(std::string_view status) {
  if (status == kProcessing) return 0;
  if (status == "erro_autorizacao") return 1;
  if (status == "autorizado" || status == "denegado") return 2;
  if (status == "cancelado" || status == "substituido" || status == "encerrado") return 3;
  return std::nullopt;
}

void SetPhase(std::string_view status, Transition& transition) {
  transition.cycle_ended = status != kProcessing;
  transition.follow = status == "autorizado";
}

}  // namespace

Transition Classify(const std::optional<DocumentFacts>& previous, const DocumentFacts& current) {
  Transition transition;
  std::optional<int> current_rank = StatusRank(current.status);
  std::optional<int> previous_rank = previous ? StatusRank(previous->status) : std::nullopt;
  // A document never moves back in its life: an authorized ref can never be reused. An older
  // status can only be a stale read (a lagging replica or cache at the API), and an event once
  // delivered cannot be taken back, so such an answer is not news.
  if (!current_rank || (previous_rank && *current_rank < *previous_rank)) {
    transition.ignored = true;
    SetPhase(previous ? std::string_view(previous->status) : kProcessing, transition);
    return transition;
  }
  SetPhase(current.status, transition);
  if (!previous || previous->status != current.status) {
    // The answer that brings a new status carries every field with it, so the ERP learns of a
    // carta de correção or a contingency already present from that one event.
    if (current.status != kProcessing) transition.events.push_back(current.status);
    return transition;
  }
  if (current.status != "autorizado") return transition;
  if (current.carta_correcao > previous->carta_correcao) {
    transition.events.push_back("carta_correcao");
  }
  if (current.contingencia_efetivada && !previous->contingencia_efetivada) {
    transition.events.push_back("contingencia_efetivada");
  }
  if (!current.tentativa_anterior_status.empty() &&
      current.tentativa_anterior_status != previous->tentativa_anterior_status) {
    transition.events.push_back("tentativa_anterior");
  }
  return transition;
}

}  // namespace gatilho
