#include "fiscal/erp_request.h"

#include <optional>
#include <vector>

#include "fiscal/api_paths.h"

namespace gatilho {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; a malformed escape is kept as it came, which IsValidRef then rejects.
std::string Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  size_t at = 0;
  while (at <= query.size()) {
    size_t amp = query.find('&', at);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(at, amp - at);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (Decode(key, true) == name) {
      return eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1), true);
    }
    at = amp + 1;
  }
  return std::nullopt;
}

std::string_view WithoutJsonSuffix(std::string_view segment) {
  constexpr std::string_view kJson = ".json";
  if (segment.size() > kJson.size() && segment.ends_with(kJson)) {
    segment.remove_suffix(kJson.size());
  }
  return segment;
}

}  // namespace

ErpRequest ClassifyErpRequest(std::string_view method, std::string_view target) {
  ErpRequest out;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);

  std::vector<std::string_view> segments = Segments(path);
  if (segments.size() < 2 || segments.size() > 4 || segments[0] != "v2") return out;
  std::optional<DocType> type = ParseDocType(WithoutJsonSuffix(segments[1]));
  if (!type) return out;

  ErpRequestKind kind = ErpRequestKind::kOther;
  std::string ref;
  if (segments.size() == 2 && method == "POST") {
    std::optional<std::string> param = QueryParam(query, "ref");
    if (!param) return out;
    kind = ErpRequestKind::kEmission;
    ref = std::move(*param);
  } else if (segments.size() == 3 && method == "DELETE") {
    kind = ErpRequestKind::kCancellation;
    ref = Decode(WithoutJsonSuffix(segments[2]), false);
  } else if (segments.size() == 4 && method == "POST" &&
             WithoutJsonSuffix(segments[3]) == "carta_correcao") {
    kind = ErpRequestKind::kCorrection;
    ref = Decode(segments[2], false);
  } else {
    return out;
  }
  if (!IsValidRef(ref)) return out;
  out.kind = kind;
  out.type = *type;
  out.ref = std::move(ref);
  return out;
}

}  // namespace gatilho
