#include "sim/document.h"

#include <array>
#include <utility>

namespace gatilho::sim {
namespace {

constexpr std::array<std::pair<std::string_view, DocType>, 8> kTypeNames = {{
    {"nfe", DocType::kNfe},
    {"nfce", DocType::kNfce},
    {"nfse", DocType::kNfse},
    {"nfsen", DocType::kNfsen},
    {"cte", DocType::kCte},
    {"cte_os", DocType::kCteOs},
    {"mdfe", DocType::kMdfe},
    {"nfcom", DocType::kNfcom},
}};

}  // namespace

std::optional<DocType> ParseDocType(std::string_view name) {
  for (const auto& [text, type] : kTypeNames) {
    if (text == name) return type;
  }
  return std::nullopt;
}

std::string_view DocTypeName(DocType type) {
  for (const auto& [text, candidate] : kTypeNames) {
    if (candidate == type) return text;
  }
  return "?";
}

DocType ConsultType(DocType type) {
  return type == DocType::kCteOs ? DocType::kCte : type;
}

bool IsSynchronous(DocType type) {
  return type == DocType::kNfce || type == DocType::kCteOs;
}

bool CanBeDenied(DocType type) {
  return !IsServiceInvoice(type);
}

bool IsServiceInvoice(DocType type) {
  return type == DocType::kNfse || type == DocType::kNfsen;
}

std::string_view DocStatusName(DocStatus status) {
  switch (status) {
    case DocStatus::kProcessandoAutorizacao:
      return "processando_autorizacao";
    case DocStatus::kAutorizado:
      return "autorizado";
    case DocStatus::kErroAutorizacao:
      return "erro_autorizacao";
    case DocStatus::kDenegado:
      return "denegado";
    case DocStatus::kCancelado:
      return "cancelado";
    case DocStatus::kEncerrado:
      return "encerrado";
  }
  return "?";
}

void Document::Advance(int64_t now_ms) {
  if (status != DocStatus::kProcessandoAutorizacao || now_ms < due_ms) return;
  status = outcome;
  finished_ms = due_ms;
}

}  // namespace gatilho::sim
