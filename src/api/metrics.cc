#include "api/metrics.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

namespace gatilho {

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// Shortest text that reads back as the same double; integers without a fraction.
std::string FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  std::array<char, 32> buffer{};
  auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc()) return "NaN";
  return std::string(buffer.data(), end);
}

class Exposition {
 public:
  // Starts a family: its # HELP and # TYPE lines.
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP gatilho_";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE gatilho_";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void Sample(std::string_view name, const Labels& labels, std::string value) {
    out_ += "gatilho_";
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        out_ += EscapeLabelValue(label_value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  void Sample(std::string_view name, const Labels& labels, uint64_t value) {
    Sample(name, labels, std::to_string(value));
  }
  void Sample(std::string_view name, const Labels& labels, int64_t value) {
    Sample(name, labels, std::to_string(value));
  }

  // A family with one unlabelled sample.
  void Single(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

void RenderTokens(const std::vector<TokenFigures>& tokens, Exposition& out) {
  struct Gauge {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    int64_t TokenFigures::*field;
  };
  const Gauge gauges[] = {
      {"token_limit", "gauge", "Rate-Limit-Limit last seen for the token (requests per minute).",
       &TokenFigures::limit},
      {"token_share_cap", "gauge", "Requests per window gatilho may spend of the token's limit.",
       &TokenFigures::share_cap},
      {"token_used_in_window", "gauge", "gatilho's own requests in the current window.",
       &TokenFigures::used_in_window},
      {"token_available", "gauge", "Credits gatilho may spend now.", &TokenFigures::available},
      {"token_erp_requests_total", "counter",
       "Requests of the ERP seen through the proxy since start.", &TokenFigures::erp_requests},
  };
  for (const Gauge& gauge : gauges) {
    out.Family(gauge.name, gauge.type, gauge.help);
    for (const TokenFigures& token : tokens) {
      out.Sample(gauge.name, {{"token", token.handle}, {"companies", token.companies}},
                 token.*gauge.field);
    }
  }
  out.Family("token_paused", "gauge", "1 while the token is paused (429, or refused 401/403).");
  for (const TokenFigures& token : tokens) {
    out.Sample("token_paused", {{"token", token.handle}, {"companies", token.companies}},
               uint64_t{token.paused ? 1u : 0u});
  }
}

void RenderLatency(const LatencyFigures& latency, Exposition& out) {
  constexpr std::string_view kName = "delivery_latency_seconds";
  out.Family(kName, "histogram",
             "Time from an event's creation to its delivery, of the events delivered since "
             "start.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < latency.bounds_seconds.size(); ++i) {
    if (i < latency.counts.size()) cumulative += latency.counts[i];
    std::string bound = FormatNumber(latency.bounds_seconds[i]);
    out.Sample("delivery_latency_seconds_bucket", {{"le", bound}}, cumulative);
  }
  out.Sample("delivery_latency_seconds_bucket", {{"le", "+Inf"}}, latency.count);
  out.Sample("delivery_latency_seconds_sum", {}, FormatNumber(latency.sum_seconds));
  out.Sample("delivery_latency_seconds_count", {}, latency.count);
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderMetrics(const RuntimeFigures& figures, const StoreCounts& counts) {
  Exposition out;
  out.Single("polls_total", "counter", "Status polls of the API since start.", figures.polls);
  out.Single("poll_failures_total", "counter",
             "Polls that got no usable answer (transport error, 5xx, 429) since start.",
             figures.poll_failures);
  out.Single("rate_limited_total", "counter", "429 answers to gatilho's own polls since start.",
             figures.rate_limited);
  out.Single("events_total", "counter", "Events the polls produced since start.", figures.events);
  out.Single("deliveries_total", "counter", "Events delivered since start.", figures.delivered);
  out.Single("delivery_failures_total", "counter", "Failed delivery attempts since start.",
             figures.delivery_failures);
  out.Single("dead_letters_total", "counter", "Events dead-lettered since start.", figures.dead);

  RenderTokens(figures.tokens, out);

  out.Family("watches", "gauge", "Watches in the store by state.");
  out.Sample("watches", {{"state", "pending"}}, counts.watches_pending);
  out.Sample("watches", {{"state", "following"}}, counts.watches_following);
  out.Sample("watches", {{"state", "done"}}, counts.watches_done);
  out.Sample("watches", {{"state", "paused"}}, counts.watches_paused);
  out.Single("watches_failing", "gauge", "Watches whose last poll got no usable answer.",
             counts.watches_failing);

  out.Family("events", "gauge", "Events in the outbox by state.");
  out.Sample("events", {{"state", "pending"}}, counts.events_pending);
  out.Sample("events", {{"state", "delivered"}}, counts.events_delivered);
  out.Sample("events", {{"state", "dead"}}, counts.events_dead);
  out.Sample("events", {{"state", "superseded"}}, counts.events_superseded);

  RenderLatency(figures.delivery_latency, out);

  constexpr std::string_view kStates[] = {"closed", "open", "half_open", "disabled"};
  out.Family("endpoint_breaker", "gauge",
             "1 for the state the endpoint's circuit breaker is in, 0 for the others.");
  for (const EndpointFigures& endpoint : figures.endpoints) {
    for (std::string_view state : kStates) {
      out.Sample("endpoint_breaker", {{"endpoint", endpoint.sink}, {"state", state}},
                 uint64_t{endpoint.breaker == state ? 1u : 0u});
    }
  }

  out.Family("figures_published_timestamp_seconds", "gauge",
             "When the daemon's loop last published these figures (Unix time).");
  out.Sample("figures_published_timestamp_seconds", {},
             FormatNumber(static_cast<double>(figures.published_ms) / 1000.0));
  return out.Take();
}

}  // namespace gatilho
