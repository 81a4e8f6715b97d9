#include "delivery/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/url.h"

namespace gatilho {

struct Dispatcher::Endpoint {
  std::string key;
  std::string display;    // for logs and attempts: the URL without credentials, or the folder
  std::string companies;  // the companies delivering here, comma-separated, for messages
  EndpointGate gate;
  CircuitBreaker::State logged_state = CircuitBreaker::State::kClosed;
  bool alerted = false;  // an operator event went out for the current breaker episode

  Endpoint(std::string k, std::string d, const EndpointGate::Options& options)
      : key(std::move(k)), display(std::move(d)), gate(options) {}
};

struct Dispatcher::Company {
  std::string id;
  DeliverySink sink;
  Signer signer;                   // empty for a file sink, or a webhook without secrets
  std::unique_ptr<FileSink> file;  // kFile only
  Endpoint* endpoint = nullptr;
  size_t in_flight = 0;

  Company(std::string i, DeliverySink s, Signer g)
      : id(std::move(i)), sink(std::move(s)), signer(std::move(g)) {}
};

namespace {

// What follows a rejected certificate in the attempt's error: the one setting that can make the
// ERP's certificate trusted, since verification itself cannot be turned off.
std::string UntrustedCertificateAdvice(const WebhookTarget& webhook) {
  if (webhook.ca_bundle.empty()) {
    return "; if a private CA signs the ERP's certificate, set ca_bundle = <that CA's PEM file> "
           "in the company's [webhook] section (verification cannot be turned off)";
  }
  return "; check that ca_bundle " + webhook.ca_bundle +
         " holds the CA that signs the ERP's certificate and that the certificate names the "
         "URL's host (verification cannot be turned off)";
}

std::string DescribeAnswer(const AttemptRecord& attempt) {
  if (attempt.http_status == 0) return attempt.error;
  return "HTTP " + std::to_string(attempt.http_status);
}

int64_t SteadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::vector<Dispatcher::EndpointState> Dispatcher::EndpointStates(int64_t now_ms) const {
  std::vector<EndpointState> states;
  for (const auto& [key, endpoint] : endpoints_) {
    std::string breaker = "disabled";
    if (!endpoint->gate.disabled()) {
      switch (endpoint->gate.breaker().state(now_ms)) {
        case CircuitBreaker::State::kClosed:
          breaker = "closed";
          break;
        case CircuitBreaker::State::kOpen:
          breaker = "open";
          break;
        case CircuitBreaker::State::kHalfOpen:
          breaker = "half_open";
          break;
      }
    }
    states.push_back(EndpointState{endpoint->display, std::move(breaker)});
  }
  return states;
}

std::string Dispatcher::EndpointKey(const DeliverySink& sink) {
  if (sink.kind == DeliverySink::Kind::kFile) return "file:" + sink.file.dir;
  return sink.webhook.url;
}

std::string Dispatcher::EndpointDisplay(const DeliverySink& sink) {
  if (sink.kind == DeliverySink::Kind::kFile) return sink.file.dir;
  return UrlForDisplay(sink.webhook.url);
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::Create(Store& store, HttpClient& http,
                                                       const Clock& clock,
                                                       std::map<std::string, DeliverySink> sinks,
                                                       Options options,
                                                       OperatorNotifier* notifier) {
  std::unique_ptr<Dispatcher> dispatcher(new Dispatcher(store, http, clock, options, notifier));
  for (auto& [id, sink] : sinks) {
    Result<Signer> signer = Signer::Create(sink.webhook.secrets);
    if (!signer.ok()) return signer.status().WithContext("company " + id + " webhook");
    std::string display = EndpointDisplay(sink);
    std::string key = EndpointKey(sink);
    EndpointGate::Options gate = sink.gate;
    auto company = std::make_unique<Company>(id, std::move(sink), std::move(*signer));
    if (company->sink.kind == DeliverySink::Kind::kFile) {
      Result<std::unique_ptr<FileSink>> file = FileSink::Create(company->sink.file);
      if (!file.ok()) return file.status().WithContext("company " + id + " file sink");
      company->file = std::move(*file);
    }
    auto& endpoint = dispatcher->endpoints_[key];
    if (!endpoint) endpoint = std::make_unique<Endpoint>(key, display, gate);
    endpoint->companies += (endpoint->companies.empty() ? "" : ",") + id;
    company->endpoint = endpoint.get();
    dispatcher->companies_.push_back(std::move(company));
  }
  if (Status s = dispatcher->ReloadEndpoints(); !s.ok()) return s;
  dispatcher->WarnAboutOrphans();
  return dispatcher;
}

Dispatcher::Dispatcher(Store& store, HttpClient& http, const Clock& clock, Options options,
                       OperatorNotifier* notifier)
    : store_(store),
      http_(http),
      clock_(clock),
      options_(options),
      notifier_(notifier),
      retry_(options.retry),
      wall_step_(clock) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::WarnAboutOrphans() {
  Result<std::vector<std::string>> pending = store_.CompaniesWithPendingEvents();
  if (!pending.ok()) return;
  for (const std::string& id : *pending) {
    bool known = std::any_of(companies_.begin(), companies_.end(),
                             [&](const auto& company) { return company->id == id; });
    if (!known) {
      spdlog::warn(
          "events of company {} wait in the outbox: it has no config file any more; restore "
          "{}.conf to deliver them",
          id, id);
    }
  }
}

Status Dispatcher::ReloadEndpoints() {
  endpoints_read_ms_ = clock_.MonotonicMs();
  Result<std::vector<std::pair<std::string, EndpointRecord>>> records = store_.Endpoints();
  if (!records.ok()) return records.status();
  for (auto& [key, endpoint] : endpoints_) {
    auto found = std::find_if(records->begin(), records->end(),
                              [&](const auto& record) { return record.first == key; });
    bool disabled = found != records->end() && found->second.disabled;
    if (disabled == endpoint->gate.disabled()) continue;
    if (disabled) {
      endpoint->gate.Disable();
      spdlog::warn(
          "endpoint {} is disabled ({}): events of {} wait in the outbox; run `gatilho endpoint "
          "enable {}` once it is fixed",
          endpoint->display, found->second.reason, endpoint->companies, endpoint->display);
    } else {
      endpoint->gate.Enable();
      spdlog::info("endpoint {} is enabled again: delivering the events of {} that waited",
                   endpoint->display, endpoint->companies);
      if (notifier_ != nullptr) {
        notifier_->Notify("endpoint_enabled",
                          {{"endpoint", endpoint->display}, {"companies", endpoint->companies}});
      }
    }
  }
  return Status::Ok();
}

Status Dispatcher::FollowWallStep() {
  if (std::optional<int64_t> step = wall_step_.Take()) unshifted_step_ms_ += *step;
  if (unshifted_step_ms_ == 0) return Status::Ok();
  const int64_t step = unshifted_step_ms_;
  Result<uint64_t> moved = store_.ShiftRetries(step);
  if (!moved.ok()) return moved.status();
  unshifted_step_ms_ = 0;
  for (auto& [key, endpoint] : endpoints_)
    endpoint->gate.ShiftTimes(step);
  spdlog::warn(
      "the wall clock jumped {} by {} s: {} pending deliveries and the endpoints' pauses moved "
      "with it, so each keeps its wait",
      step > 0 ? "forward" : "back", (step > 0 ? step : -step) / 1000, *moved);
  return Status::Ok();
}

Status Dispatcher::Pump() {
  if (Status followed = FollowWallStep(); !followed.ok()) return followed;
  if (clock_.MonotonicMs() - endpoints_read_ms_ >= options_.endpoint_recheck_ms) {
    if (Status s = ReloadEndpoints(); !s.ok()) return s;
  }
  if (companies_.empty()) return Status::Ok();
  int64_t now = clock_.WallMs();
  for (auto& [key, endpoint] : endpoints_)
    WatchBreaker(*endpoint, now);
  size_t count = companies_.size();
  for (size_t i = 0; i < count && in_flight_.size() < options_.max_in_flight; ++i) {
    if (Status s = PumpCompany(*companies_[(next_company_ + i) % count], now); !s.ok()) return s;
  }
  next_company_ = (next_company_ + 1) % count;
  return Status::Ok();
}

Status Dispatcher::PumpCompany(Company& company, int64_t now) {
  Endpoint& endpoint = *company.endpoint;
  std::optional<int64_t> start = endpoint.gate.NextStartMs(now);
  if (!start || *start > now) return Status::Ok();
  size_t cap = std::max<size_t>(1, company.sink.gate.max_in_flight);
  size_t room = cap > endpoint.gate.in_flight() ? cap - endpoint.gate.in_flight() : 0;
  room = std::min(room, options_.max_in_flight - in_flight_.size());
  if (room == 0) return Status::Ok();
  // Events in flight are still pending in the store, at the head of the ready list: read past
  // them.
  Result<std::vector<EventRecord>> ready =
      store_.ReadyEvents(company.id, now, company.in_flight + room);
  if (!ready.ok()) return ready.status();
  for (const EventRecord& event : *ready) {
    if (in_flight_.count(event.seq) != 0) continue;
    if (company.sink.catch_up_latest &&
        (event.attempts > 0 || now - event.created_ms >= options_.catch_up_after_ms)) {
      Result<size_t> superseded = store_.SupersedeOlderEvents(event.key, now);
      if (!superseded.ok()) return superseded.status();
      if (*superseded > 0) {
        counters_.superseded += *superseded;
        spdlog::info(
            "catching up {}: {} older events superseded, only its latest state is delivered "
            "(catch_up = latest)",
            event.key.ToString(), *superseded);
        // This event may be one of them; the document's newest is now its head and is
        // picked up by the next Pump().
        continue;
      }
    }
    if (!endpoint.gate.TryStart(now)) break;
    if (company.sink.kind == DeliverySink::Kind::kFile) {
      WriteFile(company, endpoint, event, now);
    } else {
      StartWebhook(company, endpoint, event, now);
    }
    if (in_flight_.size() >= options_.max_in_flight) break;
  }
  return Status::Ok();
}

void Dispatcher::StartWebhook(Company& company, Endpoint& endpoint, const EventRecord& event,
                              int64_t now) {
  HttpRequest request = BuildWebhookRequest(event, company.sink.webhook, &company.signer, now);
  in_flight_.insert(event.seq);
  ++company.in_flight;
  http_.Start(std::move(request), [this, &company, &endpoint, event](HttpResponse response) {
    in_flight_.erase(event.seq);
    --company.in_flight;
    int64_t answered = clock_.WallMs();
    AttemptRecord attempt;
    attempt.time_ms = answered;
    attempt.sink = endpoint.display;
    attempt.http_status = response.status;
    attempt.error = response.error;
    if (response.certificate_rejected) {
      attempt.error += UntrustedCertificateAdvice(company.sink.webhook);
    }
    // The round trip is measured by the transport, not with clock_: the clock is for
    // decisions, and under a virtual clock its difference says nothing about how long the
    // ERP took to answer.
    attempt.duration_ms = std::max<int64_t>(0, response.duration_ms);
    attempt.response_excerpt = ResponseExcerpt(response.body);
    DeliveryAnswer answer =
        ClassifyAnswer(response.status, response.Header("retry-after"), answered);
    if (response.certificate_rejected) {
      Finish(endpoint, event, std::move(attempt), answer, "The error says what to change");
    } else {
      Finish(endpoint, event, std::move(attempt), answer);
    }
  });
}

void Dispatcher::WriteFile(Company& company, Endpoint& endpoint, const EventRecord& event,
                           int64_t now) {
  int64_t started = SteadyMs();
  Result<std::string> written = company.file->Write(event, event.payload);
  AttemptRecord attempt;
  attempt.time_ms = now;
  attempt.duration_ms = SteadyMs() - started;
  DeliveryAnswer answer;
  if (written.ok()) {
    attempt.sink = *written;
    answer.kind = DeliveryAnswer::Kind::kDelivered;
  } else {
    attempt.sink = endpoint.display;
    attempt.error = written.status().message();
    answer.kind = DeliveryAnswer::Kind::kFailed;
  }
  Finish(endpoint, event, std::move(attempt), answer);
}

int64_t Dispatcher::FirstAttemptMs(const EventRecord& event, int64_t now) {
  if (event.first_attempt_ms != 0) return event.first_attempt_ms;
  if (event.attempts == 0) return now;
  // Written by a version that did not keep first_attempt_ms: the attempt log has it.
  Result<std::vector<AttemptRecord>> past = store_.Attempts(event.seq);
  return past.ok() && !past->empty() ? past->front().time_ms : event.created_ms;
}

void Dispatcher::Finish(Endpoint& endpoint, const EventRecord& event, AttemptRecord attempt,
                        const DeliveryAnswer& answer, std::string_view advice) {
  int64_t now = clock_.WallMs();
  const bool was_disabled = endpoint.gate.disabled();
  endpoint.gate.OnAnswer(now, answer);
  attempt.event_seq = event.seq;
  attempt.number = event.attempts + 1;

  EventState next_state = EventState::kPending;
  int64_t next_attempt = now;
  switch (answer.kind) {
    case DeliveryAnswer::Kind::kDelivered:
      next_state = EventState::kDelivered;
      next_attempt = 0;
      ++counters_.delivered;
      latency_.Record(static_cast<double>(now - event.created_ms) / 1000.0);
      spdlog::info("delivered {} {} ({}) to {} in {} ms, attempt {}", event.key.ToString(),
                   event.type, event.id, endpoint.display, attempt.duration_ms, attempt.number);
      break;
    case DeliveryAnswer::Kind::kGone:
      // The event waits for the endpoint to be enabled again; it is not the event's failure.
      ++counters_.failed_attempts;
      // Several deliveries in flight may all come back 410; the first one tells.
      if (!was_disabled) DisableEndpoint(endpoint, "410 Gone", now);
      break;
    case DeliveryAnswer::Kind::kThrottled:
    case DeliveryAnswer::Kind::kFailed: {
      bool throttled = answer.kind == DeliveryAnswer::Kind::kThrottled;
      ++(throttled ? counters_.throttled : counters_.failed_attempts);
      // The horizon runs from the round's first attempt, not from the event's creation: an
      // event that waited behind an earlier event of its document, or for its endpoint, was
      // otherwise dead-lettered at its first failure without ever being retried.
      std::optional<int64_t> retry_at =
          retry_.Next(attempt.number, FirstAttemptMs(event, now), now, event.seq);
      if (!retry_at) {
        next_state = EventState::kDead;
        next_attempt = 0;
        ++counters_.dead;
        spdlog::error(
            "gave up delivering {} {} ({}) to {} after {} attempts, last: {}; the event is "
            "dead-lettered and kept: `gatilho redeliver` sends it again",
            event.key.ToString(), event.type, event.id, endpoint.display, attempt.number,
            DescribeAnswer(attempt));
        if (notifier_ != nullptr) {
          notifier_->Notify("event_dead", {{"company", event.key.company},
                                           {"document", event.key.ToString()},
                                           {"event", event.type},
                                           {"event_id", event.id},
                                           {"endpoint", endpoint.display},
                                           {"attempts", std::to_string(attempt.number)},
                                           {"last_answer", DescribeAnswer(attempt)}});
        }
        break;
      }
      // The endpoint said when to come back; it knows its load better than our backoff does.
      next_attempt = throttled ? answer.retry_at_ms : *retry_at;
      // The first failure and every tenth are worth a line; the rest would drown the log
      // while an ERP is down for hours.
      if (attempt.number == 1 || attempt.number % 10 == 0) {
        spdlog::warn(
            "delivery of {} {} to {} {} ({}), attempt {}; retrying in {} s. {}",
            event.key.ToString(), event.type, endpoint.display,
            throttled ? "was throttled" : "failed", DescribeAnswer(attempt), attempt.number,
            std::max<int64_t>(0, next_attempt - now) / 1000,
            throttled ? std::string_view("The endpoint asked to wait (Retry-After)") : advice);
      }
      break;
    }
  }
  WatchBreaker(endpoint, now);
  // TODO(throughput): one durable commit per attempt bounds delivery at about 2 000 events/s on
  // the benchmark's disk; grouping the answers of a turn into one commit, as the poller does,
  // would lift that, at the price of a wider window for duplicates after a crash.
  Status s = store_.RecordAttempt(event.seq, attempt, next_state, next_attempt);
  if (!s.ok()) {
    // The attempt is lost but the event is still pending in the store, so it will be sent
    // again with the same webhook-id: a duplicate, never a loss.
    spdlog::error("could not record delivery attempt of {}: {}", event.id, s.ToString());
  }
}

void Dispatcher::DisableEndpoint(Endpoint& endpoint, const std::string& reason, int64_t now) {
  endpoint.gate.Disable();
  spdlog::error(
      "endpoint {} answered {}: disabled it; events of {} wait in the outbox. Fix the URL in "
      "the company file, or run `gatilho endpoint enable {}`",
      endpoint.display, reason, endpoint.companies, endpoint.display);
  Status s = store_.PutEndpoint(endpoint.key, EndpointRecord{true, reason, now});
  if (!s.ok()) {
    spdlog::error("could not store that endpoint {} is disabled: {}; it is disabled until restart",
                  endpoint.display, s.ToString());
  }
  if (notifier_ != nullptr) {
    notifier_->Notify(
        "endpoint_disabled",
        {{"endpoint", endpoint.display}, {"companies", endpoint.companies}, {"reason", reason}});
  }
}

void Dispatcher::WatchBreaker(Endpoint& endpoint, int64_t now) {
  const CircuitBreaker& breaker = endpoint.gate.breaker();
  CircuitBreaker::State state = breaker.state(now);
  if (state != endpoint.logged_state) {
    CircuitBreaker::State before = endpoint.logged_state;
    endpoint.logged_state = state;
    if (state == CircuitBreaker::State::kOpen && before == CircuitBreaker::State::kClosed) {
      std::optional<int64_t> reopen = breaker.NextStartMs(now);
      spdlog::warn(
          "endpoint {} keeps failing: paused its deliveries for {} s (circuit breaker open); "
          "events of {} wait without using attempts",
          endpoint.display, reopen ? (*reopen - now) / 1000 : 0, endpoint.companies);
    } else if (state == CircuitBreaker::State::kClosed) {
      spdlog::info("endpoint {} answers again: circuit breaker closed, delivering normally",
                   endpoint.display);
      if (endpoint.alerted && notifier_ != nullptr) {
        notifier_->Notify("breaker_closed",
                          {{"endpoint", endpoint.display}, {"companies", endpoint.companies}});
      }
      endpoint.alerted = false;
    }
  }
  std::optional<int64_t> trouble = breaker.trouble_since_ms();
  if (trouble && !endpoint.alerted && now - *trouble >= options_.breaker_alert_ms) {
    endpoint.alerted = true;
    spdlog::error(
        "endpoint {} has failed for {} min (circuit breaker open since {}); events of {} are "
        "waiting. Check the ERP's endpoint",
        endpoint.display, (now - *trouble) / 60'000, FormatRfc3339(*trouble), endpoint.companies);
    if (notifier_ != nullptr) {
      notifier_->Notify("breaker_open", {{"endpoint", endpoint.display},
                                         {"companies", endpoint.companies},
                                         {"since", FormatRfc3339(*trouble)}});
    }
  }
}

Result<std::optional<int64_t>> Dispatcher::NextWakeMs() {
  if (in_flight_.size() >= options_.max_in_flight) return std::optional<int64_t>();
  int64_t now = clock_.WallMs();
  std::optional<int64_t> next;
  auto consider = [&](int64_t at) {
    if (!next || at < *next) next = at;
  };
  for (const auto& company : companies_) {
    std::optional<int64_t> start = company->endpoint->gate.NextStartMs(now);
    if (!start) continue;
    Result<std::vector<std::pair<int64_t, uint64_t>>> ready =
        store_.ReadyTimes(company->id, company->in_flight + 1);
    if (!ready.ok()) return ready.status();
    for (const auto& [at_ms, seq] : *ready) {
      if (in_flight_.count(seq) != 0) continue;
      consider(std::max(at_ms, *start));
      break;
    }
  }
  for (const auto& [key, endpoint] : endpoints_) {
    std::optional<int64_t> trouble = endpoint->gate.breaker().trouble_since_ms();
    if (trouble && !endpoint->alerted) consider(*trouble + options_.breaker_alert_ms);
  }
  return next;
}

Result<bool> Dispatcher::Prune(int64_t retention_ms) {
  int64_t now = clock_.WallMs();
  Result<PruneOutcome> pruned = store_.PruneFinished(now - retention_ms, 10'000);
  if (!pruned.ok()) return pruned.status();
  if (pruned->events > 0) {
    spdlog::info("retention: removed {} finished events and {} attempts older than {} days",
                 pruned->events, pruned->attempts, retention_ms / (24 * 3600 * 1000));
  }
  for (const auto& company : companies_) {
    if (!company->file) continue;
    Result<size_t> removed = company->file->Prune(now);
    if (!removed.ok()) {
      spdlog::warn("retention of file sink {}: {}", company->file->dir(),
                   removed.status().message());
    } else if (*removed > 0) {
      spdlog::info("retention: removed {} old files from {}", *removed, company->file->dir());
    }
  }
  return pruned->more;
}

}  // namespace gatilho
