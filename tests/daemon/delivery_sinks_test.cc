#include "daemon/delivery_sinks.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/clock.h"
#include "store/store.h"
#include "support/loopback_server.h"
#include "support/temp_dir.h"

namespace gatilho {
namespace {

DeliverySink Webhook(const std::string& url, size_t cap, const std::string& proxy = "") {
  DeliverySink sink;
  sink.webhook.url = url;
  sink.webhook.proxy = proxy;
  sink.gate.max_in_flight = cap;
  return sink;
}

TEST(ConnectionsFor, EndpointsOnOneHostAddUpTheirCaps) {
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace("a", Webhook("http://erp.local/acme", 8));
  sinks.emplace("b", Webhook("http://erp.local:80/beta", 16));
  sinks.emplace("c", Webhook("https://other.example/hook", 4));
  DeliveryConnections needs = ConnectionsFor(sinks);
  EXPECT_EQ(needs.per_host, 24u) << "acme and beta share erp.local:80";
  EXPECT_EQ(needs.total, 28u);
}

TEST(ConnectionsFor, SharedEndpointCountsOnceAndProxiesGroupTheirTraffic) {
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace("a", Webhook("https://one.example/hook", 8, "http://proxy:3128"));
  sinks.emplace("b", Webhook("https://two.example/hook", 8, "http://proxy:3128"));
  sinks.emplace("c", Webhook("https://one.example/hook", 8, "http://proxy:3128"));
  DeliverySink file;
  file.kind = DeliverySink::Kind::kFile;
  file.file.dir = "/var/spool/x";
  sinks.emplace("d", file);
  DeliveryConnections needs = ConnectionsFor(sinks);
  EXPECT_EQ(needs.total, 16u) << "a and c are one endpoint; a folder needs no connection";
  EXPECT_EQ(needs.per_host, 16u) << "both endpoints go through the proxy";
}

// The case sizing is for: a slow company and a fast one whose endpoints are two paths of one
// ERP host. With the client sized by ConnectionsFor, the slow one's held answers leave the fast
// one its connections, and the fast one's events all go out while the slow ones still hang.
TEST(ConnectionsFor, SizedClientKeepsASlowNeighbourOnTheSameHostFromStarvingOthers) {
  testing::LoopbackServer erp([](const testing::LoopbackServer::Request& request) {
    return testing::LoopbackServer::Reply{.status = 204,
                                          .delay_ms = request.target == "/slow" ? 3'000 : 0};
  });
  std::map<std::string, DeliverySink> sinks;
  sinks.emplace("fast", Webhook(erp.Url("/fast"), 8));
  sinks.emplace("slow", Webhook(erp.Url("/slow"), 8));
  DeliveryConnections needs = ConnectionsFor(sinks);
  HttpClient::Options http_options;
  http_options.max_connections_per_host = needs.per_host;
  http_options.max_total_connections = needs.total;
  Result<std::unique_ptr<HttpClient>> made_http = HttpClient::Create(http_options);
  ASSERT_TRUE(made_http.ok());
  std::unique_ptr<HttpClient> http = std::move(*made_http);

  testing::TempDir dir;
  Result<std::unique_ptr<Store>> opened = Store::Open(Store::Options{dir.Sub("data")});
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Store> store = std::move(*opened);
  SystemClock& clock = SystemClock::Instance();
  const int64_t now = clock.WallMs();
  std::vector<WatchUpdate> updates;
  for (const char* company : {"slow", "fast"}) {
    for (int i = 0; i < 20; ++i) {
      WatchKey key{company, DocType::kNfe, "R" + std::to_string(i)};
      ASSERT_TRUE(store->AddWatches({key}, now, now).ok());
      WatchUpdate update;
      update.key = key;
      update.record = *store->GetWatch(key);
      update.expected_cycle = update.record.cycle;
      EventRecord event;
      event.id = std::string(company) + std::to_string(i);
      event.type = "autorizado";
      event.payload = "{}";
      event.created_ms = now;
      event.next_attempt_ms = now;
      update.events = {event};
      updates.push_back(update);
    }
  }
  ASSERT_TRUE(store->Apply(updates).ok());
  Dispatcher::Options options;
  options.max_in_flight = needs.total + 1;
  Result<std::unique_ptr<Dispatcher>> made =
      Dispatcher::Create(*store, *http, clock, std::move(sinks), options, nullptr);
  ASSERT_TRUE(made.ok());
  std::unique_ptr<Dispatcher> dispatcher = std::move(*made);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1'500);
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(dispatcher->Pump().ok());
    ASSERT_TRUE(http->Poll(10, nullptr).ok());
  }
  EventQuery delivered;
  delivered.state = EventState::kDelivered;
  delivered.company = "fast";
  EXPECT_EQ(store->ListEvents(delivered)->size(), 20u);
  delivered.company = "slow";
  EXPECT_EQ(store->ListEvents(delivered)->size(), 0u) << "the slow answers are still held";
}

}  // namespace
}  // namespace gatilho
