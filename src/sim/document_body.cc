#include "sim/document_body.h"

#include <array>
#include <boost/json.hpp>
#include <ctime>

namespace gatilho::sim {
namespace {

namespace json = boost::json;

constexpr std::string_view kEventMessageSuffix = "Evento registrado e vinculado a ";
// File links of these types are absolute in the API's examples; the others are host-relative.
constexpr std::string_view kBucket = "https://focusnfe.s3.sa-east-1.amazonaws.com";

struct Rejection {
  std::string_view code;
  std::string_view message;
};
constexpr std::array<Rejection, 3> kSefazRejections = {{
    {"225", "Rejeição: Falha no Schema XML da NFe"},
    {"539", "Rejeição: Duplicidade de NF-e com diferença na Chave de Acesso"},
    {"778", "Rejeição: Informado NCM inexistente"},
}};
struct ServiceError {
  std::string_view code;
  std::string_view message;
  std::string_view fix;
};
constexpr std::array<ServiceError, 2> kServiceErrors = {{
    {"E160", "Arquivo enviado com erro na assinatura.", "Assine o RPS com um certificado válido."},
    {"E10", "RPS já informado.", "Para enviar este RPS altere o número, a série ou o tipo."},
}};

std::string_view DocLabel(DocType type) {
  switch (type) {
    case DocType::kCte:
    case DocType::kCteOs:
      return "CT-e";
    case DocType::kMdfe:
      return "MDF-e";
    case DocType::kNfcom:
      return "NFCom";
    default:
      return "NF-e";
  }
}

std::string_view Model(DocType type) {
  switch (type) {
    case DocType::kNfce:
      return "65";
    case DocType::kCte:
      return "57";
    case DocType::kCteOs:
      return "67";
    case DocType::kMdfe:
      return "58";
    case DocType::kNfcom:
      return "62";
    default:
      return "55";
  }
}

std::string ZeroPadded(int64_t value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) >= width) return digits.substr(digits.size() - width);
  return std::string(width - digits.size(), '0') + digits;
}

// Brazil's fiscal documents are dated in Brasília time (UTC-3, no daylight saving since 2019).
std::tm BrasiliaTime(int64_t wall_ms) {
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000 - 3 * 3600);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  return parts;
}

std::string Format(int64_t wall_ms, const char* pattern) {
  const std::tm parts = BrasiliaTime(wall_ms);
  char text[40];
  std::strftime(text, sizeof text, pattern, &parts);
  return text;
}

std::string Cnpj14(const std::string& cnpj) {
  std::string digits;
  for (char c : cnpj) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() >= 14) return digits.substr(digits.size() - 14);
  return std::string(14 - digits.size(), '0') + digits;
}

// The 44-digit access key, laid out as SEFAZ does (UF, emission month, CNPJ, model, series,
// number, emission form, random code) and closed with its modulo-11 check digit, so that clients
// validating keys accept it.
std::string AccessKey(const Document& doc) {
  std::string key = "41" + Format(doc.submitted_ms, "%y%m") + Cnpj14(doc.cnpj) +
                    std::string(Model(doc.type)) + "001" + ZeroPadded(doc.sequence, 9) + "1" +
                    ZeroPadded((doc.sequence * 7919 + 31415926) % 100000000, 8);
  int sum = 0;
  int weight = 2;
  for (auto it = key.rbegin(); it != key.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = weight == 9 ? 2 : weight + 1;
  }
  const int rest = sum % 11;
  key += static_cast<char>('0' + (rest < 2 ? 0 : 11 - rest));
  return key;
}

std::string FileBase(const Document& doc) {
  return "/arquivos_development/" + Cnpj14(doc.cnpj) + "/" + Format(doc.submitted_ms, "%Y%m");
}

std::string SequenceDigits(const Document& doc, int width) {
  return ZeroPadded(doc.sequence * 2654435761LL % 1000000000000000LL, width);
}

void AddSefazResult(const Document& doc, json::object& body) {
  std::string code = "100";
  std::string message = "Autorizado o uso d";
  message += doc.type == DocType::kNfcom || doc.type == DocType::kNfe || doc.type == DocType::kNfce
                 ? "a "
                 : "o ";
  message += DocLabel(doc.type);
  if (doc.status == DocStatus::kErroAutorizacao) {
    const Rejection& rejection = kSefazRejections[doc.rejection % kSefazRejections.size()];
    code = rejection.code;
    message = rejection.message;
  } else if (doc.status == DocStatus::kDenegado) {
    code = "302";
    message = "Uso Denegado: Irregularidade fiscal do destinatário";
  } else if (doc.status == DocStatus::kCancelado || doc.status == DocStatus::kEncerrado ||
             doc.cartas_correcao > 0) {
    code = "135";
    message = std::string(kEventMessageSuffix) + std::string(DocLabel(doc.type));
  }
  body["status_sefaz"] = code;
  body["mensagem_sefaz"] = message;
}

bool HasNumber(const Document& doc) {
  return doc.status != DocStatus::kProcessandoAutorizacao &&
         doc.status != DocStatus::kErroAutorizacao;
}

// Each carta de correção has files of its own, so a new one changes the consult body.
std::string CartaCorrecaoFile(const Document& doc, std::string_view extension) {
  return FileBase(doc) + "/CCe/" + AccessKey(doc) + "-cce-" + std::to_string(doc.cartas_correcao) +
         std::string(extension);
}

std::string CancelXml(const Document& doc) {
  return FileBase(doc) + "/XMLs/" + AccessKey(doc) + "-can.xml";
}

std::string CloseXml(const Document& doc) {
  return FileBase(doc) + "/XMLs/" + AccessKey(doc) + "-enc.xml";
}

std::string CancelProtocol(const Document& doc) {
  return "141" + SequenceDigits(doc, 12);
}

void NotaBody(const Document& doc, json::object& body) {
  body["cnpj_emitente"] = doc.cnpj;
  body["ref"] = doc.ref;
  body["status"] = DocStatusName(doc.status);
  if (doc.status == DocStatus::kProcessandoAutorizacao) return;
  AddSefazResult(doc, body);
  if (!HasNumber(doc)) return;
  const std::string key = AccessKey(doc);
  const bool nfce = doc.type == DocType::kNfce;
  body["chave_nfe"] = "NFe" + key;
  body["numero"] = std::to_string(doc.sequence);
  body["serie"] = "1";
  body["caminho_xml_nota_fiscal"] = FileBase(doc) + "/XMLs/" + key + "-nfe.xml";
  if (doc.status != DocStatus::kDenegado) {
    body["caminho_danfe"] = FileBase(doc) + "/DANFEs/" + key + (nfce ? ".html" : ".pdf");
  }
  if (nfce) {
    body["qrcode_url"] = "https://www.fazenda.pr.gov.br/nfce/qrcode?p=" + key + "|2|2|1";
    body["url_consulta_nf"] = "https://www.fazenda.pr.gov.br/nfce/consulta";
  }
  if (doc.cartas_correcao > 0) {
    body["caminho_xml_carta_correcao"] = CartaCorrecaoFile(doc, ".xml");
    body["caminho_pdf_carta_correcao"] = CartaCorrecaoFile(doc, ".pdf");
    body["numero_carta_correcao"] = doc.cartas_correcao;
  }
  if (doc.status == DocStatus::kCancelado) {
    body["caminho_xml_cancelamento"] = CancelXml(doc);
    if (nfce) body["numero_protocolo"] = CancelProtocol(doc);
  }
}

void ServiceBody(const Document& doc, json::object& body) {
  body["cnpj_prestador"] = doc.cnpj;
  body["ref"] = doc.ref;
  if (doc.status != DocStatus::kProcessandoAutorizacao) {
    body["numero_rps"] = std::to_string(doc.sequence);
    body["serie_rps"] = "1";
    body["tipo_rps"] = "RPS";
  }
  body["status"] = DocStatusName(doc.status);
  if (doc.status == DocStatus::kProcessandoAutorizacao) return;
  if (doc.status == DocStatus::kErroAutorizacao) {
    const ServiceError& error = kServiceErrors[doc.rejection % kServiceErrors.size()];
    body["erros"] = json::array{
        json::object{{"codigo", error.code}, {"mensagem", error.message}, {"correcao", error.fix}}};
    return;
  }
  const bool national = doc.type == DocType::kNfsen;
  const std::string code =
      national ? AccessKey(doc) + SequenceDigits(doc, 6) : SequenceDigits(doc, 8);
  body["numero"] = std::to_string(doc.sequence);
  body["codigo_verificacao"] = code;
  body["data_emissao"] = Format(doc.due_ms, "%Y-%m-%dT%H:%M:%S-03:00");
  if (national) {
    body["url"] = "https://www.nfse.gov.br/ConsultaPublica/?tpc=1&chave=" + code;
    body["url_danfse"] = std::string(kBucket) + FileBase(doc) + "/DANFSEs/" + code + "-danfse.pdf";
  } else {
    body["url"] = "https://nfse.curitiba.pr.gov.br/verificar?codigo=" + code;
  }
  body["caminho_xml_nota_fiscal"] = FileBase(doc) + "/XMLsNFSe/" + code + "-nfse.xml";
  if (doc.status == DocStatus::kCancelado) {
    body["caminho_xml_cancelamento"] = FileBase(doc) + "/XMLsNFSe/" + code + "-can.xml";
  }
}

void TransportBody(const Document& doc, json::object& body) {
  const bool mdfe = doc.type == DocType::kMdfe;
  body["cnpj_emitente"] = doc.cnpj;
  body["ref"] = doc.ref;
  body["status"] = DocStatusName(doc.status);
  if (doc.status == DocStatus::kProcessandoAutorizacao) return;
  AddSefazResult(doc, body);
  if (!HasNumber(doc)) return;
  const std::string key = AccessKey(doc);
  body["serie"] = "1";
  body["numero"] = std::to_string(doc.sequence);
  body["modelo"] = Model(doc.type);
  if (mdfe) {
    body["chave_mdfe"] = "MDFe" + key;
    body["caminho_xml_nota_fiscal"] = FileBase(doc) + "/XMLs/" + key + "-mdfe.xml";
    body["caminho_damdfe"] = FileBase(doc) + "/DAMDFEs/" + key + ".pdf";
  } else {
    body["chave_cte"] = "CTe" + key;
    body["caminho_xml_nota_fiscal"] = FileBase(doc) + "/XMLs/" + key + "-cte.xml";
    body["caminho_dacte"] = FileBase(doc) + "/DACTEs/" + key + ".pdf";
  }
  if (doc.cartas_correcao > 0) {
    body["caminho_xml_carta_correcao"] = CartaCorrecaoFile(doc, ".xml");
    body["numero_carta_correcao"] = doc.cartas_correcao;
  }
  if (doc.status == DocStatus::kCancelado) body["caminho_xml_cancelamento"] = CancelXml(doc);
  if (doc.status == DocStatus::kEncerrado) body["caminho_xml_encerramento"] = CloseXml(doc);
}

void NfcomBody(const Document& doc, json::object& body) {
  body["cnpj_emitente"] = doc.cnpj;
  body["ref"] = doc.ref;
  body["status"] = DocStatusName(doc.status);
  if (doc.status == DocStatus::kProcessandoAutorizacao) return;
  AddSefazResult(doc, body);
  if (!HasNumber(doc)) return;
  const std::string key = AccessKey(doc);
  body["chave"] = "NFCom" + key;
  body["numero"] = std::to_string(doc.sequence);
  body["serie"] = "1";
  body["modelo"] = Model(doc.type);
  body["caminho_xml"] = std::string(kBucket) + FileBase(doc) + "/XMLs/" + key + "-nfcom.xml";
  body["caminho_danfecom"] = std::string(kBucket) + FileBase(doc) + "/DANFECOMs/" + key + ".pdf";
  if (doc.status == DocStatus::kCancelado) {
    body["caminho_xml_cancelamento"] = std::string(kBucket) + CancelXml(doc);
  }
}

}  // namespace

std::string ConsultBody(const Document& doc) {
  json::object body;
  switch (doc.type) {
    case DocType::kNfe:
    case DocType::kNfce:
      NotaBody(doc, body);
      break;
    case DocType::kNfse:
    case DocType::kNfsen:
      ServiceBody(doc, body);
      break;
    case DocType::kCte:
    case DocType::kCteOs:
    case DocType::kMdfe:
      TransportBody(doc, body);
      break;
    case DocType::kNfcom:
      NfcomBody(doc, body);
      break;
  }
  return json::serialize(body);
}

std::string AcceptedBody(const Document& doc) {
  json::object body;
  body[IsServiceInvoice(doc.type) ? "cnpj_prestador" : "cnpj_emitente"] = doc.cnpj;
  body["ref"] = doc.ref;
  body["status"] = DocStatusName(DocStatus::kProcessandoAutorizacao);
  return json::serialize(body);
}

std::string CancelBody(const Document& doc) {
  json::object body;
  body["status"] = DocStatusName(DocStatus::kCancelado);
  if (IsServiceInvoice(doc.type)) return json::serialize(body);
  AddSefazResult(doc, body);
  if (doc.type == DocType::kNfe || doc.type == DocType::kNfce) {
    body["caminho_xml_cancelamento"] = CancelXml(doc);
    if (doc.type == DocType::kNfce) body["numero_protocolo"] = CancelProtocol(doc);
  } else {
    body["caminho_xml"] =
        doc.type == DocType::kNfcom ? std::string(kBucket) + CancelXml(doc) : CancelXml(doc);
  }
  return json::serialize(body);
}

std::string CartaCorrecaoBody(const Document& doc) {
  json::object body;
  body["status"] = DocStatusName(DocStatus::kAutorizado);
  AddSefazResult(doc, body);
  if (doc.type == DocType::kNfe) {
    body["caminho_xml_carta_correcao"] = CartaCorrecaoFile(doc, ".xml");
    body["caminho_pdf_carta_correcao"] = CartaCorrecaoFile(doc, ".pdf");
  } else {
    body["caminho_xml"] = CartaCorrecaoFile(doc, ".xml");
  }
  body["numero_carta_correcao"] = doc.cartas_correcao;
  return json::serialize(body);
}

std::string CloseBody(const Document& doc) {
  json::object body;
  body["status"] = DocStatusName(DocStatus::kEncerrado);
  AddSefazResult(doc, body);
  body["caminho_xml"] = CloseXml(doc);
  return json::serialize(body);
}

}  // namespace gatilho::sim
