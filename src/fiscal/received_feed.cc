#include "fiscal/received_feed.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "fiscal/event_id.h"

namespace gatilho {

namespace {

namespace json = boost::json;

constexpr size_t kMaxChaveBytes = 200;

std::string_view ListPath(ReceivedFeed feed) {
  switch (feed) {
    case ReceivedFeed::kNfe:
      return "/v2/nfes_recebidas";
    case ReceivedFeed::kCte:
      return "/v2/ctes_recebidas";
    case ReceivedFeed::kNfse:
      return "/v2/nfses_recebidas";
  }
  return "/v2/nfes_recebidas";
}

std::string_view KeyField(ReceivedFeed feed) {
  return feed == ReceivedFeed::kNfe ? "chave_nfe" : "chave";
}

std::string_view StateField(ReceivedFeed feed) {
  return feed == ReceivedFeed::kNfse ? "status" : "situacao";
}

DocType DocTypeOf(ReceivedFeed feed) {
  switch (feed) {
    case ReceivedFeed::kNfe:
      return DocType::kNfe;
    case ReceivedFeed::kCte:
      return DocType::kCte;
    case ReceivedFeed::kNfse:
      return DocType::kNfse;
  }
  return DocType::kNfe;
}

std::optional<int64_t> WholeNumber(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Appends the compact JSON text of `value`, as json::serialize writes it except for numbers
// beyond a double's range: the parser reads 1e999 as infinity, which json::serialize writes as
// `Infinity`, not JSON, so the ERP would get a payload it cannot parse. 1e99999 reads back as
// the same value. The parser's depth limit bounds the recursion.
void AppendCompactJson(const json::value& value, std::string& out) {
  if (const json::object* object = value.if_object()) {
    out += '{';
    for (auto it = object->begin(); it != object->end(); ++it) {
      if (it != object->begin()) out += ',';
      out += json::serialize(it->key());
      out += ':';
      AppendCompactJson(it->value(), out);
    }
    out += '}';
  } else if (const json::array* array = value.if_array()) {
    out += '[';
    for (size_t i = 0; i < array->size(); ++i) {
      if (i > 0) out += ',';
      AppendCompactJson((*array)[i], out);
    }
    out += ']';
  } else if (const double* number = value.if_double(); number != nullptr && std::isinf(*number)) {
    out += *number > 0 ? "1e99999" : "-1e99999";
  } else {
    out += json::serialize(value);
  }
}

bool UsableKey(std::string_view chave) {
  if (chave.empty() || chave.size() > kMaxChaveBytes) return false;
  for (char c : chave) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status Malformed(ReceivedFeed feed, const std::string& what) {
  return Status::InvalidArgument("the " + std::string(ReceivedFeedName(feed)) +
                                 " received-document feed answered with " + what);
}

}  // namespace

std::string_view ReceivedFeedName(ReceivedFeed feed) {
  switch (feed) {
    case ReceivedFeed::kNfe:
      return "nfe";
    case ReceivedFeed::kCte:
      return "cte";
    case ReceivedFeed::kNfse:
      return "nfse";
  }
  return "nfe";
}

std::optional<ReceivedFeed> ParseReceivedFeed(std::string_view name) {
  for (ReceivedFeed feed : kAllReceivedFeeds) {
    if (ReceivedFeedName(feed) == name) return feed;
  }
  return std::nullopt;
}

std::string_view ReceivedEventType(ReceivedFeed feed) {
  switch (feed) {
    case ReceivedFeed::kNfe:
      return "nfe_recebida";
    case ReceivedFeed::kCte:
      return "cte_recebida";
    case ReceivedFeed::kNfse:
      return "nfse_recebida";
  }
  return "nfe_recebida";
}

std::string ReceivedFeedUrl(std::string_view base_url, ReceivedFeed feed, std::string_view cnpj,
                            int64_t versao) {
  if (base_url.ends_with('/')) base_url.remove_suffix(1);
  std::string url = std::string(base_url) + std::string(ListPath(feed)) + "?cnpj=";
  constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : cnpj) {
    auto byte = static_cast<unsigned char>(c);
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      url += c;
    } else {
      url += '%';
      url += kHex[byte >> 4];
      url += kHex[byte & 0xF];
    }
  }
  return url + "&versao=" + std::to_string(versao);
}

Result<ReceivedPage> ParseReceivedPage(ReceivedFeed feed, int64_t cursor, std::string_view body,
                                       std::optional<std::string_view> total_count,
                                       std::optional<std::string_view> max_version) {
  ReceivedPage page;
  page.next_cursor = cursor;
  std::optional<int64_t> header_max;
  if (total_count.has_value()) {
    std::optional<int64_t> total = WholeNumber(*total_count);
    if (!total || *total < 0) return Malformed(feed, "an X-Total-Count that is not a count");
    page.total = *total;
  }
  if (max_version.has_value()) {
    header_max = WholeNumber(*max_version);
    if (!header_max) return Malformed(feed, "an X-Max-Version that is not a whole number");
  }

  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec) return Malformed(feed, "a body that is not JSON (" + ec.message() + ")");
  if (!parsed.is_array()) return Malformed(feed, "a JSON body that is not a list");
  const json::array& items = parsed.as_array();
  if (items.size() > kReceivedPageSize) {
    return Malformed(feed, std::to_string(items.size()) + " items, more than a page holds");
  }
  int64_t highest = cursor;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = "item " + std::to_string(i + 1);
    if (!items[i].is_object()) return Malformed(feed, where + " that is not an object");
    const json::object& object = items[i].as_object();
    const json::value* key = object.if_contains(KeyField(feed));
    if (key == nullptr || !key->is_string() || !UsableKey(key->as_string())) {
      return Malformed(feed, where + " without a usable " + std::string(KeyField(feed)));
    }
    const json::value* versao = object.if_contains("versao");
    if (versao == nullptr || !versao->is_int64()) {
      return Malformed(feed, where + " without an integer versao");
    }
    if (versao->as_int64() <= cursor) continue;
    ReceivedItem item;
    item.chave = std::string(key->as_string());
    item.versao = versao->as_int64();
    if (const json::value* state = object.if_contains(StateField(feed));
        state != nullptr && state->is_string()) {
      item.situacao = std::string(state->as_string());
    }
    AppendCompactJson(object, item.payload);
    highest = std::max(highest, item.versao);
    page.items.push_back(std::move(item));
  }
  page.next_cursor = highest;
  page.max_version_disagrees = header_max.has_value() && !items.empty() && *header_max != highest;
  const bool full = items.size() >= kReceivedPageSize;
  // A full page that brought nothing new would be asked for again and again: stop there.
  page.more = full && highest > cursor &&
              (page.total < 0 || page.total > static_cast<int64_t>(items.size()));
  return page;
}

WatchKey ReceivedDocumentKey(std::string_view company, ReceivedFeed feed, std::string_view chave) {
  return WatchKey{std::string(company), DocTypeOf(feed), "recebida:" + std::string(chave)};
}

EventRecord ReceivedEvent(std::string_view company, ReceivedFeed feed, const ReceivedItem& item,
                          int64_t now_ms) {
  EventRecord event;
  event.key = ReceivedDocumentKey(company, feed, item.chave);
  event.cycle = 1;
  event.type = std::string(ReceivedEventType(feed));
  event.id = EventId(event.key, event.cycle, event.type, std::to_string(item.versao));
  event.payload = item.payload;
  event.created_ms = now_ms;
  event.next_attempt_ms = now_ms;
  event.state = EventState::kPending;
  return event;
}

}  // namespace gatilho
