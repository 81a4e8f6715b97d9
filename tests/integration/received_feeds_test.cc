// Received-document feeds, black-box: the real daemon follows the simulator's three feeds and
// delivers one event per new or changed document.
#include <signal.h>

#include <map>

#include "integration/bridge_fixture.h"

namespace gatilho::testing {
namespace {

const std::vector<std::string> kFastApi = {"--time-scale", "20", "--reject-rate", "0",
                                           "--deny-rate",  "0",  "--seed",        "5"};

class ReceivedFeedsTest : public BridgeFixture {
 protected:
  // Adds `count` documents to `feed` of acme's CNPJ in the simulator; returns their items.
  boost::json::array AddReceived(const std::string& feed, int count) {
    HttpResult result = HttpCall("POST", api_url_ + "/__sim/received",
                                 R"({"feed":")" + feed + R"(","cnpj":")" + kAcme.cnpj +
                                     R"(","count":)" + std::to_string(count) + "}");
    EXPECT_EQ(result.status, 201) << result.body;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(result.body, ec);
    if (ec) return {};
    if (parsed.is_object()) return boost::json::array{parsed};
    return parsed.as_array();
  }

  // Waits until the receiver holds `count` deliveries of received documents, or timeout_s.
  std::vector<Delivery> WaitForReceived(size_t count, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::vector<Delivery> received;
    for (;;) {
      received.clear();
      for (Delivery& d : Deliveries()) {
        if (d.event.ends_with("_recebida")) received.push_back(std::move(d));
      }
      if (received.size() >= count || std::chrono::steady_clock::now() > deadline) {
        return received;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // The deliveries of watched (emitted) documents among `deliveries`.
  static std::vector<Delivery> OfWatches(std::vector<Delivery> deliveries) {
    std::erase_if(deliveries, [](const Delivery& d) { return d.event.ends_with("_recebida"); });
    return deliveries;
  }

  // The item the simulator serves for each delivered document, by "type/recebida:chave".
  static std::map<std::string, boost::json::object> ByDocument(const boost::json::array& items,
                                                               const std::string& type) {
    std::map<std::string, boost::json::object> out;
    for (const boost::json::value& item : items) {
      const boost::json::object& object = item.as_object();
      const char* key = type == "nfe" ? "chave_nfe" : "chave";
      out[type + "/recebida:" + std::string(object.at(key).as_string())] = object;
    }
    return out;
  }
};

TEST_F(ReceivedFeedsTest, EveryDocumentIsDeliveredOnceAndAChangeIsASecondEvent) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  dir_.WriteFile("companies/acme.conf", ReadFile(dir_.Sub("companies/acme.conf")) +
                                            "\n[received]\nfeeds = nfe, cte, nfse\n"
                                            "interval_minutes = 5\n");
  CliRun check = Cli({"check"});
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_NE(check.out.find("  received  cte, nfe, nfse every 5 min\n"), std::string::npos)
      << check.out;
  std::map<std::string, boost::json::object> items = ByDocument(AddReceived("nfe", 150), "nfe");
  items.merge(ByDocument(AddReceived("cte", 2), "cte"));
  items.merge(ByDocument(AddReceived("nfse", 2), "nfse"));
  ASSERT_EQ(items.size(), 154u);

  // No cursor yet: the feeds are fetched at start, the NF-e one in two pages.
  StartDaemon();
  std::vector<Delivery> first = WaitForReceived(154, 60);
  ASSERT_EQ(first.size(), 154u);
  std::map<std::string, int> per_type;
  std::set<std::string> ids;
  for (const Delivery& d : first) {
    ++per_type[d.event];
    ids.insert(d.webhook_id);
    EXPECT_TRUE(d.signature_ok);
    EXPECT_EQ(d.company, "acme");
    auto item = items.find(d.document);
    ASSERT_NE(item, items.end()) << "a delivery for an unknown document " << d.document;
    EXPECT_EQ(boost::json::parse(d.body), boost::json::value(item->second)) << d.document;
  }
  EXPECT_EQ(per_type, (std::map<std::string, int>{
                          {"nfe_recebida", 150}, {"cte_recebida", 2}, {"nfse_recebida", 2}}));
  EXPECT_EQ(ids.size(), 154u);
  EXPECT_EQ(SimStat("feed_requests"), 4);
  EXPECT_EQ(StopDaemon(), 0);

  // A cancellation gives the document a new versao; a restart resumes from the stored cursors
  // and does not fetch at once (interval 5 min).
  const std::string chave(items.lower_bound("nfe/")->second.at("chave_nfe").as_string());
  HttpResult cancelled = HttpCall("POST", api_url_ + "/__sim/received",
                                  R"({"feed":"nfe","cnpj":")" + kAcme.cnpj + R"(","chave":")" +
                                      chave + R"(","situacao":"cancelada"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  StartDaemon();
  // A watched document delivered shows the daemon's loop is running (and its signals blocked).
  Submit(kAcme, "nfe", "PED-1");
  Watch(kAcme, "nfe", {"PED-1"});
  WaitForSimulatorToFinish(60);
  const std::set<EventKey> polled = ExpectedEvents({kAcme});
  ASSERT_EQ(polled.size(), 1u);
  ExpectEveryEventOnceWithStableIds(polled, OfWatches(WaitForEvents(polled, 60)));
  EXPECT_EQ(SimStat("feed_requests"), 4) << "the restart fetched the feeds again at once";

  // SIGHUP fetches every feed now: only the cancellation is new.
  daemon_->Signal(SIGHUP);
  std::vector<Delivery> second = WaitForReceived(155, 60);
  ASSERT_EQ(second.size(), 155u);
  const Delivery& last = second.back();
  EXPECT_EQ(last.event, "nfe_recebida");
  EXPECT_EQ(last.document, "nfe/recebida:" + chave);
  EXPECT_EQ(boost::json::parse(last.body).at("situacao").as_string(), "cancelada");
  EXPECT_EQ(ids.count(last.webhook_id), 0u) << "the change reused the first event's id";
  EXPECT_EQ(SimStat("feed_requests"), 7);

  // Feeds and polls shared the token's budget: the API never had to refuse a request.
  EXPECT_EQ(SimStat("rate_limited"), 0);
  EXPECT_EQ(StopDaemon(), 0);
}

TEST_F(ReceivedFeedsTest, ACompanyWithoutTheSectionFetchesNoFeed) {
  StartApi(kFastApi);
  StartReceiver();
  WriteConfig({kAcme});
  AddReceived("nfe", 3);
  StartDaemon();
  Submit(kAcme, "nfe", "PED-1");
  Watch(kAcme, "nfe", {"PED-1"});
  WaitForSimulatorToFinish(60);
  const std::set<EventKey> polled = ExpectedEvents({kAcme});
  ExpectEveryEventOnceWithStableIds(polled, OfWatches(WaitForEvents(polled, 60)));

  EXPECT_EQ(SimStat("feed_requests"), 0);
  EXPECT_TRUE(WaitForReceived(0, 0).empty());
  EXPECT_EQ(StopDaemon(), 0);
}

}  // namespace
}  // namespace gatilho::testing
