#include "api/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gatilho {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, EscapeLabelValueEscapesBackslashQuoteAndLineFeed) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("plain,text"), "plain,text");
}

TEST(Metrics, RendersTheExactExposition) {
  RuntimeFigures figures;
  figures.published_ms = 1'700'000'000'500;
  figures.polls = 12;
  figures.poll_failures = 2;
  figures.rate_limited = 1;
  figures.events = 3;
  figures.delivered = 2;
  figures.delivery_failures = 4;
  figures.dead = 0;
  TokenFigures token;
  token.handle = "0123456789abcdef";
  token.companies = "acme,beta";
  token.limit = 100;
  token.share_cap = 80;
  token.used_in_window = 7;
  token.available = 73;
  token.paused = true;
  figures.tokens = {token};
  figures.endpoints = {{"http://erp.local/hook", "open"}};
  figures.delivery_latency.bounds_seconds = {0.5, 1};
  figures.delivery_latency.counts = {1, 0, 1};
  figures.delivery_latency.sum_seconds = 40.25;
  figures.delivery_latency.count = 2;
  StoreCounts counts;
  counts.watches_pending = 5;
  counts.watches_following = 1;
  counts.watches_done = 9;
  counts.watches_failing = 2;
  counts.events_pending = 1;
  counts.events_delivered = 2;

  EXPECT_EQ(RenderMetrics(figures, counts),
            "# HELP gatilho_polls_total Status polls of the API since start.\n"
            "# TYPE gatilho_polls_total counter\n"
            "gatilho_polls_total 12\n"
            "# HELP gatilho_poll_failures_total Polls that got no usable answer (transport "
            "error, 5xx, 429) since start.\n"
            "# TYPE gatilho_poll_failures_total counter\n"
            "gatilho_poll_failures_total 2\n"
            "# HELP gatilho_rate_limited_total 429 answers to gatilho's own polls since start.\n"
            "# TYPE gatilho_rate_limited_total counter\n"
            "gatilho_rate_limited_total 1\n"
            "# HELP gatilho_events_total Events the polls produced since start.\n"
            "# TYPE gatilho_events_total counter\n"
            "gatilho_events_total 3\n"
            "# HELP gatilho_deliveries_total Events delivered since start.\n"
            "# TYPE gatilho_deliveries_total counter\n"
            "gatilho_deliveries_total 2\n"
            "# HELP gatilho_delivery_failures_total Failed delivery attempts since start.\n"
            "# TYPE gatilho_delivery_failures_total counter\n"
            "gatilho_delivery_failures_total 4\n"
            "# HELP gatilho_dead_letters_total Events dead-lettered since start.\n"
            "# TYPE gatilho_dead_letters_total counter\n"
            "gatilho_dead_letters_total 0\n"
            "# HELP gatilho_token_limit Rate-Limit-Limit last seen for the token (requests per "
            "minute).\n"
            "# TYPE gatilho_token_limit gauge\n"
            "gatilho_token_limit{token=\"0123456789abcdef\",companies=\"acme,beta\"} 100\n"
            "# HELP gatilho_token_share_cap Requests per window gatilho may spend of the "
            "token's limit.\n"
            "# TYPE gatilho_token_share_cap gauge\n"
            "gatilho_token_share_cap{token=\"0123456789abcdef\",companies=\"acme,beta\"} 80\n"
            "# HELP gatilho_token_used_in_window gatilho's own requests in the current window.\n"
            "# TYPE gatilho_token_used_in_window gauge\n"
            "gatilho_token_used_in_window{token=\"0123456789abcdef\",companies=\"acme,beta\"} 7\n"
            "# HELP gatilho_token_available Credits gatilho may spend now.\n"
            "# TYPE gatilho_token_available gauge\n"
            "gatilho_token_available{token=\"0123456789abcdef\",companies=\"acme,beta\"} 73\n"
            "# HELP gatilho_token_erp_requests_total Requests of the ERP seen through the proxy "
            "since start.\n"
            "# TYPE gatilho_token_erp_requests_total counter\n"
            "gatilho_token_erp_requests_total{token=\"0123456789abcdef\",companies=\"acme,beta\"} "
            "0\n"
            "# HELP gatilho_token_paused 1 while the token is paused (429, or refused 401/403).\n"
            "# TYPE gatilho_token_paused gauge\n"
            "gatilho_token_paused{token=\"0123456789abcdef\",companies=\"acme,beta\"} 1\n"
            "# HELP gatilho_watches Watches in the store by state.\n"
            "# TYPE gatilho_watches gauge\n"
            "gatilho_watches{state=\"pending\"} 5\n"
            "gatilho_watches{state=\"following\"} 1\n"
            "gatilho_watches{state=\"done\"} 9\n"
            "gatilho_watches{state=\"paused\"} 0\n"
            "# HELP gatilho_watches_failing Watches whose last poll got no usable answer.\n"
            "# TYPE gatilho_watches_failing gauge\n"
            "gatilho_watches_failing 2\n"
            "# HELP gatilho_events Events in the outbox by state.\n"
            "# TYPE gatilho_events gauge\n"
            "gatilho_events{state=\"pending\"} 1\n"
            "gatilho_events{state=\"delivered\"} 2\n"
            "gatilho_events{state=\"dead\"} 0\n"
            "gatilho_events{state=\"superseded\"} 0\n"
            "# HELP gatilho_delivery_latency_seconds Time from an event's creation to its "
            "delivery, of the events delivered since start.\n"
            "# TYPE gatilho_delivery_latency_seconds histogram\n"
            "gatilho_delivery_latency_seconds_bucket{le=\"0.5\"} 1\n"
            "gatilho_delivery_latency_seconds_bucket{le=\"1\"} 1\n"
            "gatilho_delivery_latency_seconds_bucket{le=\"+Inf\"} 2\n"
            "gatilho_delivery_latency_seconds_sum 40.25\n"
            "gatilho_delivery_latency_seconds_count 2\n"
            "# HELP gatilho_endpoint_breaker 1 for the state the endpoint's circuit breaker is "
            "in, 0 for the others.\n"
            "# TYPE gatilho_endpoint_breaker gauge\n"
            "gatilho_endpoint_breaker{endpoint=\"http://erp.local/hook\",state=\"closed\"} 0\n"
            "gatilho_endpoint_breaker{endpoint=\"http://erp.local/hook\",state=\"open\"} 1\n"
            "gatilho_endpoint_breaker{endpoint=\"http://erp.local/hook\",state=\"half_open\"} 0\n"
            "gatilho_endpoint_breaker{endpoint=\"http://erp.local/hook\",state=\"disabled\"} 0\n"
            "# HELP gatilho_figures_published_timestamp_seconds When the daemon's loop last "
            "published these figures (Unix time).\n"
            "# TYPE gatilho_figures_published_timestamp_seconds gauge\n"
            "gatilho_figures_published_timestamp_seconds 1700000000.5\n");
}

TEST(Metrics, LabelValuesAreEscapedInSamples) {
  RuntimeFigures figures;
  figures.endpoints = {{"/var/spool/\"erp\"\\in\nbox", "disabled"}};
  std::string text = RenderMetrics(figures, StoreCounts{});
  EXPECT_THAT(text, HasSubstr("gatilho_endpoint_breaker{endpoint=\"/var/spool/\\\"erp\\\"\\\\in"
                              "\\nbox\",state=\"disabled\"} 1\n"));
}

TEST(Metrics, EmptyHistogramStillHasItsInfBucketSumAndCount) {
  RuntimeFigures figures;
  std::string text = RenderMetrics(figures, StoreCounts{});
  EXPECT_THAT(text, HasSubstr("gatilho_delivery_latency_seconds_bucket{le=\"+Inf\"} 0\n"
                              "gatilho_delivery_latency_seconds_sum 0\n"
                              "gatilho_delivery_latency_seconds_count 0\n"));
}

}  // namespace
}  // namespace gatilho
