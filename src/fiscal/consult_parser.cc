#include "fiscal/consult_parser.h"

#include <boost/json.hpp>
#include <charconv>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <utility>

namespace gatilho {
namespace {

constexpr size_t kExcerptLength = 120;

// A piece of text from the API made safe for one log line: control characters become spaces
// and it is cut at a UTF-8 character boundary.
std::string Excerpt(std::string_view text) {
  bool cut = text.size() > kExcerptLength;
  if (cut) {
    size_t end = kExcerptLength;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      --end;
    text = text.substr(0, end);
  }
  std::string out;
  out.reserve(text.size() + 3);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? ' ' : c;
  }
  if (cut) out += "...";
  return out;
}

// The consult statuses documented for each type. processando_autorizacao is accepted for all:
// NFC-e and NFCom list it only in examples, but an async path can return it.
bool IsConsultStatus(DocType type, std::string_view status) {
  auto any_of = [status](std::initializer_list<std::string_view> names) {
    for (std::string_view name : names) {
      if (name == status) return true;
    }
    return false;
  };
  if (any_of({"processando_autorizacao", "autorizado", "erro_autorizacao", "cancelado"})) {
    return true;
  }
  switch (type) {
    case DocType::kNfe:
    case DocType::kNfce:
    case DocType::kCte:
    case DocType::kNfcom:
      return status == "denegado";
    case DocType::kNfse:
      return status == "substituido";
    case DocType::kNfsen:
      return false;
    case DocType::kMdfe:
      return any_of({"denegado", "encerrado"});
  }
  return false;
}

// What an error answer's body looks like, for the problem text: the API's `codigo` and
// `mensagem` when it sent its JSON error shape, otherwise a hint at what came instead.
std::string DescribeErrorBody(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "an empty body";
  if (body[first] == '<') return "an HTML body";
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(body, ec);
  if (!ec) {
    if (const boost::json::object* object = json.if_object()) {
      const boost::json::value* codigo = object->if_contains("codigo");
      if (codigo != nullptr && codigo->is_string()) {
        std::string out = "codigo '" + Excerpt(codigo->get_string()) + "'";
        const boost::json::value* mensagem = object->if_contains("mensagem");
        if (mensagem != nullptr && mensagem->is_string()) {
          out += ": " + Excerpt(mensagem->get_string());
        }
        return out;
      }
    }
  }
  return "body '" + Excerpt(body) + "'";
}

// A field that is absent or null reads as its default; a value of the wrong shape is a
// problem, because facts guessed from a malformed answer could invent an event.
std::string ReadFlag(const boost::json::object& object, std::string_view name, bool& out) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr || value->is_null()) return "";
  if (const bool* flag = value->if_bool()) {
    out = *flag;
    return "";
  }
  if (const boost::json::string* text = value->if_string()) {
    if (*text == "true" || *text == "false") {
      out = *text == "true";
      return "";
    }
  }
  return std::string(name) + " is " + Excerpt(boost::json::serialize(*value)) +
         ", not true or false";
}

std::string ReadCartaCorrecao(const boost::json::object& object, int& out) {
  const boost::json::value* number = object.if_contains("numero_carta_correcao");
  if (number != nullptr && !number->is_null()) {
    int64_t parsed = -1;
    if (const int64_t* i = number->if_int64()) {
      parsed = *i;
    } else if (const uint64_t* u = number->if_uint64()) {
      parsed = *u > static_cast<uint64_t>(INT_MAX) ? -1 : static_cast<int64_t>(*u);
    } else if (const boost::json::string* text = number->if_string()) {
      // An empty string is how some serializers write "no value".
      if (text->empty()) return "";
      auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), parsed);
      if (error != std::errc() || end != text->data() + text->size()) parsed = -1;
    }
    if (parsed < 0 || parsed > INT_MAX) {
      return "numero_carta_correcao is " + Excerpt(boost::json::serialize(*number)) +
             ", not a count";
    }
    out = static_cast<int>(parsed);
    return "";
  }
  // CT-e answers show a carta de correção only through its XML path.
  const boost::json::value* path = object.if_contains("caminho_xml_carta_correcao");
  const boost::json::string* text = path == nullptr ? nullptr : path->if_string();
  out = (text != nullptr && !text->empty()) ? 1 : 0;
  return "";
}

std::string ReadTentativaAnterior(const boost::json::object& object, std::string& out) {
  const boost::json::value* tentativa = object.if_contains("tentativa_anterior");
  if (tentativa == nullptr || tentativa->is_null()) return "";
  const boost::json::object* inner = tentativa->if_object();
  if (inner == nullptr) return "tentativa_anterior is not an object";
  const boost::json::value* status = inner->if_contains("status");
  if (status == nullptr || status->is_null()) return "";
  const boost::json::string* text = status->if_string();
  if (text == nullptr) return "tentativa_anterior.status is not a string";
  out = std::string(*text);
  return "";
}

// Fills `observation` from a 2xx body, or explains in `problem` why it cannot.
void ReadDocument(DocType type, std::string_view body, Observation& observation) {
  observation.outcome = Outcome::kUnexpected;
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(body, ec);
  if (ec) {
    observation.problem = "body is not JSON (" + ec.message() + "): '" + Excerpt(body) + "'";
    return;
  }
  const boost::json::object* object = json.if_object();
  if (object == nullptr) {
    observation.problem = "body is JSON but not an object: '" + Excerpt(body) + "'";
    return;
  }
  const boost::json::value* status = object->if_contains("status");
  if (status == nullptr || !status->is_string()) {
    observation.problem = "body has no string 'status': '" + Excerpt(body) + "'";
    return;
  }
  DocumentFacts facts;
  facts.status = std::string(status->get_string());
  if (!IsConsultStatus(type, facts.status)) {
    observation.problem = "status '" + Excerpt(facts.status) + "' is not a known " +
                          std::string(DocTypeName(type)) + " status";
    return;
  }
  std::string problem = ReadCartaCorrecao(*object, facts.carta_correcao);
  if (problem.empty())
    problem = ReadFlag(*object, "contingencia_offline", facts.contingencia_offline);
  if (problem.empty()) {
    problem = ReadFlag(*object, "contingencia_offline_efetivada", facts.contingencia_efetivada);
  }
  if (problem.empty()) problem = ReadTentativaAnterior(*object, facts.tentativa_anterior_status);
  if (!problem.empty()) {
    observation.problem = std::move(problem);
    return;
  }
  observation.outcome = Outcome::kDocument;
  observation.facts = std::move(facts);
  observation.body = std::string(body);
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDocument:
      return "document";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kUnauthorized:
      return "unauthorized";
    case Outcome::kRateLimited:
      return "rate_limited";
    case Outcome::kServerError:
      return "server_error";
    case Outcome::kUnexpected:
      return "unexpected";
    case Outcome::kTransportError:
      return "transport_error";
  }
  return "unknown";
}

Observation ParseConsult(DocType type, int http_status, std::string_view body,
                         std::string_view transport_error) {
  Observation observation;
  observation.http_status = http_status;
  if (!transport_error.empty() || http_status == 0) {
    observation.outcome = Outcome::kTransportError;
    observation.problem =
        transport_error.empty() ? std::string("no HTTP answer") : Excerpt(transport_error);
    return observation;
  }
  if (http_status >= 200 && http_status < 300) {
    // The docs advise reading `status` from any 2xx rather than trusting the exact code.
    ReadDocument(type, body, observation);
    if (observation.outcome != Outcome::kDocument) {
      observation.problem = "HTTP " + std::to_string(http_status) + ": " + observation.problem;
    }
    return observation;
  }
  if (http_status == 401 || http_status == 403) {
    observation.outcome = Outcome::kUnauthorized;
  } else if (http_status == 429) {
    observation.outcome = Outcome::kRateLimited;
  } else if (http_status == 404) {
    observation.outcome = Outcome::kNotFound;
  } else if (http_status >= 500) {
    observation.outcome = Outcome::kServerError;
  } else {
    observation.outcome = Outcome::kUnexpected;
  }
  observation.problem = "HTTP " + std::to_string(http_status) + " with " + DescribeErrorBody(body);
  return observation;
}

}  // namespace gatilho
