#include "fiscal/received_feed.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "fiscal/api_paths.h"

namespace gatilho {
namespace {

// A page body of `count` NF-e items with versao first, first+1, ...
std::string NfePage(int first, int count) {
  std::string body = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) body += ",";
    body += R"({"chave_nfe":"3526)" + std::to_string(1000 + first + i) +
            R"(","situacao":"autorizada","versao":)" + std::to_string(first + i) + "}";
  }
  return body + "]";
}

TEST(ReceivedFeedUrl, NamesTheListOfEachFeedWithCnpjAndCursor) {
  EXPECT_EQ(ReceivedFeedUrl("https://api.focusnfe.com.br", ReceivedFeed::kNfe, "44555666000177", 0),
            "https://api.focusnfe.com.br/v2/nfes_recebidas?cnpj=44555666000177&versao=0");
  EXPECT_EQ(ReceivedFeedUrl("http://127.0.0.1:9/", ReceivedFeed::kCte, "1", 42),
            "http://127.0.0.1:9/v2/ctes_recebidas?cnpj=1&versao=42");
  EXPECT_EQ(ReceivedFeedUrl("http://h", ReceivedFeed::kNfse, "1&x=2", 7),
            "http://h/v2/nfses_recebidas?cnpj=1%26x%3D2&versao=7");
}

TEST(ReceivedFeed, NamesAndEventTypesRoundTrip) {
  for (ReceivedFeed feed : kAllReceivedFeeds) {
    EXPECT_EQ(ParseReceivedFeed(ReceivedFeedName(feed)), feed);
  }
  EXPECT_EQ(ReceivedEventType(ReceivedFeed::kNfe), "nfe_recebida");
  EXPECT_EQ(ReceivedEventType(ReceivedFeed::kCte), "cte_recebida");
  EXPECT_EQ(ReceivedEventType(ReceivedFeed::kNfse), "nfse_recebida");
  EXPECT_FALSE(ParseReceivedFeed("mdfe").has_value());
}

TEST(ParseReceivedPage, ReadsItemsAndMovesTheCursorToTheHighestVersao) {
  const std::string body =
      R"([{"chave_nfe":"K1","situacao":"autorizada","versao":11,"valor_total":"10.00"},)"
      R"({"chave_nfe":"K2","situacao":"cancelada","versao":12}])";
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kNfe, 10, body, "2", "12");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].chave, "K1");
  EXPECT_EQ(page->items[0].versao, 11);
  EXPECT_EQ(page->items[0].situacao, "autorizada");
  EXPECT_EQ(page->items[0].payload,
            R"({"chave_nfe":"K1","situacao":"autorizada","versao":11,"valor_total":"10.00"})");
  EXPECT_EQ(page->items[1].situacao, "cancelada");
  EXPECT_EQ(page->next_cursor, 12);
  EXPECT_EQ(page->total, 2);
  EXPECT_FALSE(page->more);
  EXPECT_FALSE(page->max_version_disagrees);
}

TEST(ParseReceivedPage, NfseUsesChaveAndStatus) {
  const std::string body = R"([{"chave":"S1","status":"cancelado","versao":3}])";
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kNfse, 0, body, {}, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.at(0).chave, "S1");
  EXPECT_EQ(page->items.at(0).situacao, "cancelado");
  // A CT-e item keyed chave_nfe has no usable key for its feed.
  EXPECT_FALSE(
      ParseReceivedPage(ReceivedFeed::kCte, 0, R"([{"chave_nfe":"S1","versao":3}])", {}, {}).ok());
}

TEST(ParseReceivedPage, AFullPageAsksForTheNextUnlessTheTotalSaysItWasTheLast) {
  Result<ReceivedPage> full = ParseReceivedPage(ReceivedFeed::kNfe, 0, NfePage(1, 100), "150", {});
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(full->more);
  EXPECT_EQ(full->next_cursor, 100);

  Result<ReceivedPage> last = ParseReceivedPage(ReceivedFeed::kNfe, 0, NfePage(1, 100), "100", {});
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->more);

  Result<ReceivedPage> no_total = ParseReceivedPage(ReceivedFeed::kNfe, 0, NfePage(1, 100), {}, {});
  ASSERT_TRUE(no_total.ok());
  EXPECT_TRUE(no_total->more);

  Result<ReceivedPage> short_page =
      ParseReceivedPage(ReceivedFeed::kNfe, 100, NfePage(101, 50), "50", "150");
  ASSERT_TRUE(short_page.ok());
  EXPECT_FALSE(short_page->more);
  EXPECT_EQ(short_page->next_cursor, 150);
}

TEST(ParseReceivedPage, AnEmptyPageKeepsTheCursor) {
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kCte, 77, "[]", "0", "77");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->next_cursor, 77);
  EXPECT_FALSE(page->more);
}

TEST(ParseReceivedPage, ItemsAlreadySeenAreLeftOutAndCannotLowerTheCursor) {
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kNfe, 101, NfePage(100, 3), {}, {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].versao, 102);
  EXPECT_EQ(page->next_cursor, 102);

  // A full page of old items would be fetched forever if it counted as "more".
  Result<ReceivedPage> stale = ParseReceivedPage(ReceivedFeed::kNfe, 500, NfePage(1, 100), {}, {});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->next_cursor, 500);
  EXPECT_FALSE(stale->more);
}

TEST(ParseReceivedPage, TheItemsWinOverADisagreeingMaxVersion) {
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kNfe, 0, NfePage(1, 2), "2", "9");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_cursor, 2);
  EXPECT_TRUE(page->max_version_disagrees);
}

TEST(ParseReceivedPage, MalformedAnswersAreRejected) {
  const ReceivedFeed nfe = ReceivedFeed::kNfe;
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([{"chave_nfe":"K1","versao":1)", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, "<html>erro</html>", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"({"chave_nfe":"K1","versao":1})", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([1,2])", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([{"chave_nfe":"K1","versao":"1"}])", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([{"chave_nfe":"","versao":1}])", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([{"chave_nfe":"a\nb","versao":1}])", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, R"([{"versao":1}])", {}, {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, "[]", "muitos", {}).ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, "[]", {}, "1.5").ok());
  EXPECT_FALSE(ParseReceivedPage(nfe, 0, NfePage(1, 101), {}, {}).ok());
  Result<ReceivedPage> bad =
      ParseReceivedPage(nfe, 0, R"([{"chave_nfe":"K","versao":1},3])", {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("item 2"), std::string::npos) << bad.status().ToString();
}

// Found by fuzz/received_feed_fuzz.cc: Boost.JSON reads 1e999 as infinity and serializes it as
// `Infinity`, so the ERP got a payload that is not JSON.
TEST(ParseReceivedPage, ANumberBeyondADoubleKeepsThePayloadJson) {
  const std::string body =
      R"([{"chave_nfe":"K1","versao":11,"valor_total":1e999,"itens":[-1e999,2.5,"Infinity"]}])";
  Result<ReceivedPage> page = ParseReceivedPage(ReceivedFeed::kNfe, 0, body, {}, {});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(page->items[0].payload, ec);
  ASSERT_FALSE(ec) << page->items[0].payload;
  EXPECT_EQ(payload.at("valor_total").as_double(), boost::json::parse("1e999").as_double());
  EXPECT_EQ(payload.at("itens").at(1).as_double(), 2.5);
  EXPECT_EQ(payload.at("itens").at(2).as_string(), "Infinity");
  EXPECT_EQ(payload.at("chave_nfe").as_string(), "K1");
}

TEST(ReceivedDocumentKey, CanNeverBeTheKeyOfAWatch) {
  const WatchKey key = ReceivedDocumentKey("acme", ReceivedFeed::kCte, "35261122");
  EXPECT_EQ(key.company, "acme");
  EXPECT_EQ(key.type, DocType::kCte);
  EXPECT_EQ(key.ref, "recebida:35261122");
  // Every ref a watch may have passes IsValidRef; this one cannot.
  EXPECT_FALSE(IsValidRef(key.ref));
}

TEST(ReceivedEvent, HasAStableIdPerVersaoAndCarriesTheItem) {
  ReceivedItem item{"K1", 5, "autorizada", R"({"chave_nfe":"K1","versao":5})"};
  const EventRecord event = ReceivedEvent("acme", ReceivedFeed::kNfe, item, 1000);
  EXPECT_EQ(event.type, "nfe_recebida");
  EXPECT_EQ(event.payload, item.payload);
  EXPECT_EQ(event.key.ref, "recebida:K1");
  EXPECT_EQ(event.created_ms, 1000);
  EXPECT_EQ(event.next_attempt_ms, 1000);
  EXPECT_EQ(event.state, EventState::kPending);
  EXPECT_EQ(ReceivedEvent("acme", ReceivedFeed::kNfe, item, 9999).id, event.id);

  ReceivedItem changed = item;
  changed.versao = 6;
  EXPECT_NE(ReceivedEvent("acme", ReceivedFeed::kNfe, changed, 1000).id, event.id);
  EXPECT_NE(ReceivedEvent("beta", ReceivedFeed::kNfe, item, 1000).id, event.id);
  EXPECT_NE(ReceivedEvent("acme", ReceivedFeed::kCte, item, 1000).id, event.id);
}

}  // namespace
}  // namespace gatilho
