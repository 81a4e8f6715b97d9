// Fuzz target: the reading of one received-document feed page. The input is
// "<cursor>\n<X-Total-Count>\n<X-Max-Version>\n<body>" ("-" for a header the answer did not
// send); an input with fewer lines is all body, asked with cursor 0 and no headers. Every feed
// reads the page; what a page yields must keep the promises of received_feed.h, and its items
// must make events, keys and URLs without trouble.
#include <boost/json.hpp>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "fiscal/received_feed.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

std::string_view NextLine(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

std::optional<std::string_view> Header(std::string_view line) {
  if (line == "-") return std::nullopt;
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  int64_t cursor = 0;
  std::optional<std::string_view> total;
  std::optional<std::string_view> max_version;
  std::string_view body = input;
  size_t newlines = 0;
  for (char c : input.substr(0, 256))
    newlines += c == '\n' ? 1 : 0;
  if (newlines >= 3) {
    std::string_view rest = input;
    std::string_view cursor_line = NextLine(rest);
    std::from_chars(cursor_line.data(), cursor_line.data() + cursor_line.size(), cursor);
    total = Header(NextLine(rest));
    max_version = Header(NextLine(rest));
    body = rest;
  }

  for (gatilho::ReceivedFeed feed : gatilho::kAllReceivedFeeds) {
    gatilho::Result<gatilho::ReceivedPage> page =
        gatilho::ParseReceivedPage(feed, cursor, body, total, max_version);
    if (!page.ok()) {
      Check(!page.status().message().empty());
      continue;
    }
    Check(page->next_cursor >= cursor);
    for (const gatilho::ReceivedItem& item : page->items) {
      Check(item.versao > cursor && item.versao <= page->next_cursor);
      Check(!item.chave.empty() && item.chave.size() <= 200);
      for (char c : item.chave)
        Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      boost::system::error_code ec;
      boost::json::value payload = boost::json::parse(item.payload, ec);
      Check(!ec && payload.is_object());
      gatilho::EventRecord event = gatilho::ReceivedEvent("acme", feed, item, 1'700'000'000'000);
      Check(!event.id.empty());
      gatilho::ReceivedDocumentKey("acme", feed, item.chave);
      gatilho::ReceivedFeedUrl("http://127.0.0.1:1/", feed, item.chave, item.versao);
    }
  }
  return 0;
}
