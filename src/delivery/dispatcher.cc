#include "delivery/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace gatilho {

namespace {

// An event for a company that is no longer configured is looked at again after this long, so
// it neither blocks the outbox nor is lost when the company comes back.
constexpr int64_t kOrphanRecheckMs = 10 * 60 * 1000;

std::string DescribeAnswer(const HttpResponse& response) {
  if (response.status == 0) return response.error;
  return "HTTP " + std::to_string(response.status);
}

}  // namespace

Result<std::unique_ptr<Dispatcher>> Dispatcher::Create(Store& store, HttpClient& http,
                                                       const Clock& clock,
                                                       std::map<std::string, WebhookTarget> targets,
                                                       Options options) {
  std::map<std::string, Endpoint> endpoints;
  for (auto& [company, target] : targets) {
    Result<Signer> signer = Signer::Create(target.secrets);
    if (!signer.ok()) return signer.status().WithContext("company " + company + " webhook");
    endpoints.emplace(company, Endpoint{std::move(target), std::move(*signer)});
  }
  return std::unique_ptr<Dispatcher>(
      new Dispatcher(store, http, clock, std::move(endpoints), options));
}

Dispatcher::Dispatcher(Store& store, HttpClient& http, const Clock& clock,
                       std::map<std::string, Endpoint> endpoints, Options options)
    : store_(store),
      http_(http),
      clock_(clock),
      endpoints_(std::move(endpoints)),
      options_(options),
      retry_(options.retry) {}

Status Dispatcher::Pump() {
  if (in_flight_.size() >= options_.max_in_flight) return Status::Ok();
  int64_t now = clock_.WallMs();
  Result<std::vector<EventRecord>> ready = store_.ReadyEvents(now, options_.batch);
  if (!ready.ok()) return ready.status();
  for (EventRecord& event : *ready) {
    if (in_flight_.size() >= options_.max_in_flight) break;
    if (in_flight_.count(event.seq) != 0) continue;
    auto endpoint = endpoints_.find(event.key.company);
    if (endpoint == endpoints_.end()) {
      if (warned_companies_.insert(event.key.company).second) {
        spdlog::warn(
            "events of company {} wait in the outbox: it has no config file any more; "
            "restore {}.conf to deliver them",
            event.key.company, event.key.company);
      }
      Status s = store_.Reschedule(event.seq, now + kOrphanRecheckMs);
      if (!s.ok()) return s;
      continue;
    }
    const Endpoint& target = endpoint->second;
    HttpRequest request = BuildWebhookRequest(event, target.target, &target.signer, now);
    in_flight_.insert(event.seq);
    std::string url = target.target.url;
    http_.Start(std::move(request), [this, event = std::move(event), url](HttpResponse response) {
      Finish(event, url, response);
    });
  }
  return Status::Ok();
}

void Dispatcher::Finish(const EventRecord& event, const std::string& url,
                        const HttpResponse& response) {
  in_flight_.erase(event.seq);
  int64_t now = clock_.WallMs();
  AttemptRecord attempt;
  attempt.event_seq = event.seq;
  attempt.number = event.attempts + 1;
  attempt.time_ms = now;
  attempt.sink = url;
  attempt.http_status = response.status;
  attempt.error = response.error;
  // The round trip is measured by the transport, not with clock_: the clock is for decisions,
  // and under a virtual clock (tests, replays) its difference says nothing about how long the
  // ERP took to answer (it was always 0, or the size of an unrelated jump).
  attempt.duration_ms = std::max<int64_t>(0, response.duration_ms);
  attempt.response_excerpt = ResponseExcerpt(response.body);

  EventState next_state = EventState::kDelivered;
  int64_t next_attempt = 0;
  if (IsDelivered(response.status)) {
    ++counters_.delivered;
    spdlog::info("delivered {} {} ({}) to {} in {} ms, attempt {}", event.key.ToString(),
                 event.type, event.id, url, attempt.duration_ms, attempt.number);
  } else {
    ++counters_.failed_attempts;
    // The horizon runs from the event's first attempt, as RetrySchedule expects, not from its
    // creation: an event that waited behind an earlier event of its document (or for its
    // company's config, or for the daemon to start) was otherwise dead-lettered at its first
    // failure, without ever being retried.
    int64_t first_attempt_ms = now;
    if (event.attempts > 0) {
      Result<std::vector<AttemptRecord>> past = store_.Attempts(event.seq);
      first_attempt_ms = past.ok() && !past->empty() ? past->front().time_ms : event.created_ms;
    }
    std::optional<int64_t> retry_at = retry_.Next(attempt.number, first_attempt_ms, now, event.seq);
    if (retry_at) {
      next_state = EventState::kPending;
      next_attempt = *retry_at;
      // The first failure and every tenth are worth a line; the rest would drown the log
      // while an ERP is down for hours.
      if (attempt.number == 1 || attempt.number % 10 == 0) {
        spdlog::warn(
            "delivery of {} {} to {} failed ({}), attempt {}; retrying in {} s. "
            "Check that the ERP's webhook URL is up",
            event.key.ToString(), event.type, url, DescribeAnswer(response), attempt.number,
            (next_attempt - now) / 1000);
      }
    } else {
      next_state = EventState::kDead;
      ++counters_.dead;
      spdlog::error(
          "gave up delivering {} {} ({}) to {} after {} attempts, last: {}; the event is "
          "dead-lettered and kept in the store",
          event.key.ToString(), event.type, event.id, url, attempt.number,
          DescribeAnswer(response));
    }
  }
  Status s = store_.RecordAttempt(event.seq, attempt, next_state, next_attempt);
  if (!s.ok()) {
    // The attempt is lost but the event is still pending in the store, so it will be sent
    // again with the same webhook-id: a duplicate, never a loss.
    spdlog::error("could not record delivery attempt of {}: {}", event.id, s.ToString());
  }
}

Result<std::optional<int64_t>> Dispatcher::NextWakeMs() {
  // Events in flight stay at the head of the store's ready list until their answer is
  // recorded, so look one past them.
  Result<std::vector<EventRecord>> ready =
      store_.ReadyEvents(std::numeric_limits<int64_t>::max(), in_flight_.size() + 1);
  if (!ready.ok()) return ready.status();
  for (const EventRecord& event : *ready) {
    if (in_flight_.count(event.seq) == 0) return std::optional<int64_t>(event.next_attempt_ms);
  }
  return std::optional<int64_t>();
}

}  // namespace gatilho
