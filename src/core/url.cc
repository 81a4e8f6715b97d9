#include "core/url.h"

namespace gatilho {

std::string UrlForDisplay(std::string_view url) {
  std::string_view scheme;
  if (size_t end = url.find("://"); end != std::string_view::npos) {
    scheme = url.substr(0, end + 3);
    url.remove_prefix(end + 3);
  }
  size_t query = url.find_first_of("?#");
  bool hidden = query != std::string_view::npos;
  url = url.substr(0, query);
  std::string_view authority = url.substr(0, url.find('/'));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  return std::string(scheme) + std::string(url) + (hidden ? "?..." : "");
}

std::string UrlHost(std::string_view url) {
  std::string lower;
  for (char c : url)
    lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  size_t scheme_end = lower.find("://");
  if (scheme_end == std::string::npos) return lower;
  std::string scheme = lower.substr(0, scheme_end);
  size_t start = scheme_end + 3;
  size_t end = lower.find_first_of("/?#", start);
  std::string authority = lower.substr(start, end == std::string::npos ? end : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  // A port is what follows the last ':' unless that ':' is inside an IPv6 literal's brackets.
  size_t colon = authority.rfind(':');
  bool has_port = colon != std::string::npos && authority.find(']', colon) == std::string::npos;
  if (!has_port) {
    authority += scheme == "https"                           ? ":443"
                 : scheme == "http"                          ? ":80"
                 : scheme == "socks5" || scheme == "socks5h" ? ":1080"
                                                             : "";
  }
  return scheme + "://" + authority;
}

}  // namespace gatilho
