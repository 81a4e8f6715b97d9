#include "fiscal/sync_answer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <climits>
#include <cstdint>
#include <string>

namespace gatilho {
namespace {

// The top-level object of `body`, or nullptr (into `storage`) when it is not a JSON object.
const boost::json::object* ParseObject(std::string_view body, boost::json::value& storage) {
  boost::system::error_code ec;
  storage = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return storage.if_object();
}

std::string_view StringField(const boost::json::object& object, std::string_view name) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr) return {};
  const boost::json::string* text = value->if_string();
  return text == nullptr ? std::string_view() : std::string_view(*text);
}

// `numero_carta_correcao` as a count, or nullopt when absent or not one.
std::optional<int> CartaNumber(const boost::json::object& object) {
  const boost::json::value* number = object.if_contains("numero_carta_correcao");
  if (number == nullptr || number->is_null()) return std::nullopt;
  if (const int64_t* i = number->if_int64()) {
    if (*i > 0 && *i <= INT_MAX) return static_cast<int>(*i);
    return std::nullopt;
  }
  if (const uint64_t* u = number->if_uint64()) {
    if (*u > 0 && *u <= static_cast<uint64_t>(INT_MAX)) return static_cast<int>(*u);
    return std::nullopt;
  }
  if (const boost::json::string* text = number->if_string()) {
    int parsed = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (error == std::errc() && end == text->data() + text->size() && parsed > 0) return parsed;
  }
  return std::nullopt;
}

Observation DocumentObservation(int http_status, DocumentFacts facts, std::string_view body) {
  Observation observation;
  observation.outcome = Outcome::kDocument;
  observation.http_status = http_status;
  observation.facts = std::move(facts);
  observation.body = std::string(body);
  return observation;
}

}  // namespace

std::optional<Observation> ReadSyncAnswer(ErpRequestKind kind, DocType type, int http_status,
                                          std::string_view body,
                                          const std::optional<DocumentFacts>& previous) {
  if (http_status < 200 || http_status >= 300) return std::nullopt;
  switch (kind) {
    case ErpRequestKind::kOther:
      return std::nullopt;
    case ErpRequestKind::kEmission: {
      Observation observation = ParseConsult(type, http_status, body, "");
      if (observation.outcome != Outcome::kDocument) return std::nullopt;
      // An async acceptance says only that the API queued it: the polls find the outcome.
      if (observation.facts.status == "processando_autorizacao") return std::nullopt;
      return observation;
    }
    case ErpRequestKind::kCancellation: {
      boost::json::value storage;
      const boost::json::object* object = ParseObject(body, storage);
      if (object == nullptr || StringField(*object, "status") != "cancelado") return std::nullopt;
      DocumentFacts facts = previous.value_or(DocumentFacts{});
      facts.status = "cancelado";
      return DocumentObservation(http_status, std::move(facts), body);
    }
    case ErpRequestKind::kCorrection: {
      boost::json::value storage;
      const boost::json::object* object = ParseObject(body, storage);
      if (object == nullptr || StringField(*object, "status") != "autorizado") return std::nullopt;
      DocumentFacts facts = previous.value_or(DocumentFacts{});
      // Only an authorized document takes a carta de correção.
      if (facts.status.empty()) facts.status = "autorizado";
      if (std::optional<int> number = CartaNumber(*object)) {
        facts.carta_correcao = *number;
      } else if (!StringField(*object, "caminho_xml").empty() ||
                 !StringField(*object, "caminho_xml_carta_correcao").empty()) {
        // CT-e consults show a carta only through its XML path, which the parser reads as 1;
        // the same reading here keeps a later poll from seeing a change.
        facts.carta_correcao = std::max(facts.carta_correcao, 1);
      } else {
        return std::nullopt;
      }
      return DocumentObservation(http_status, std::move(facts), body);
    }
  }
  return std::nullopt;
}

}  // namespace gatilho
