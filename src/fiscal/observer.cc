#include "fiscal/observer.h"

#include <boost/json.hpp>
#include <utility>

#include "fiscal/event_id.h"
#include "fiscal/transition.h"

namespace gatilho {
namespace {

constexpr int64_t kUnauthorizedRetryMs = 5 * 60 * 1000;

// "1h2m3s" style, short enough for a history note.
std::string FormatDuration(int64_t ms) {
  if (ms < 1000) return std::to_string(ms < 0 ? 0 : ms) + "ms";
  int64_t seconds = ms / 1000;
  std::string out;
  if (seconds >= 3600) out += std::to_string(seconds / 3600) + "h";
  if (seconds % 3600 >= 60) out += std::to_string(seconds % 3600 / 60) + "m";
  if (seconds % 60 != 0) out += std::to_string(seconds % 60) + "s";
  return out;
}

// Errors form one kind because the record keeps only their count, not which error came last.
std::string_view OutcomeKind(Outcome outcome) {
  switch (outcome) {
    case Outcome::kServerError:
    case Outcome::kTransportError:
    case Outcome::kUnexpected:
      return "error";
    default:
      return OutcomeName(outcome);
  }
}

// The kind of answer the previous poll got, as far as the record tells. Refused tokens and
// 429s leave no trace in the record, so a poll after one of them compares with the poll before.
std::string_view PreviousKind(const WatchRecord& record) {
  if (record.error_streak > 0) return "error";
  if (record.not_found_since_ms > 0) return "not_found";
  if (!record.last_status.empty()) return "document";
  return "";
}

// One call of Observe(): the inputs, and the decision being built.
class PollStep {
 public:
  PollStep(const PollPolicy& policy, const WatchKey& key, const WatchRecord& current,
           const Observation& observation, int64_t now_ms, const EventFilter& filter)
      : policy_(policy),
        key_(key),
        observation_(observation),
        now_ms_(now_ms),
        filter_(filter),
        record_(decision_.record) {
    record_ = current;
  }
  // record_ refers into decision_, so a copy would write into the wrong decision.
  PollStep(const PollStep&) = delete;
  PollStep& operator=(const PollStep&) = delete;

  ObserverDecision Run() && {
    const std::string_view previous_kind = PreviousKind(record_);
    const std::string previous_status = record_.last_status;
    record_.last_polled_ms = now_ms_;
    // A 429 was refused before the API looked at the document, so the processing schedule
    // must not move on as if the document had been checked.
    if (observation_.outcome != Outcome::kRateLimited) ++record_.poll_count;

    std::string note;
    switch (observation_.outcome) {
      case Outcome::kDocument:
        note = Document();
        break;
      case Outcome::kNotFound:
        note = record_.cycle_ended_ms == 0 ? NotFound() : Failure();
        break;
      case Outcome::kServerError:
      case Outcome::kTransportError:
      case Outcome::kUnexpected:
        note = Failure();
        break;
      case Outcome::kRateLimited:
        note = RateLimited();
        break;
      case Outcome::kUnauthorized:
        note = Unauthorized();
        break;
    }

    const bool is_document = observation_.outcome == Outcome::kDocument;
    if (OutcomeKind(observation_.outcome) != previous_kind ||
        (is_document && observation_.facts.status != previous_status) || !fired_.empty()) {
      HistoryEntry entry;
      entry.time_ms = now_ms_;
      entry.cycle = record_.cycle;
      entry.http_status = observation_.http_status;
      entry.outcome = std::string(OutcomeName(observation_.outcome));
      if (is_document) entry.status = observation_.facts.status;
      entry.note = EventsNote() + note;
      decision_.history = std::move(entry);
    }
    return std::move(decision_);
  }

 private:
  std::string Document() {
    record_.error_streak = 0;
    record_.not_found_since_ms = 0;
    const DocumentFacts& facts = observation_.facts;
    std::optional<DocumentFacts> previous =
        record_.detail.empty() ? std::nullopt : DocumentFacts::Decode(record_.detail);
    Transition transition = Classify(previous, facts);
    std::string note;
    if (transition.ignored) {
      note = "status " + facts.status + " ignored after " + record_.last_status + "; ";
    } else {
      record_.last_status = facts.status;
      record_.fingerprint = facts.Fingerprint();
      record_.detail = facts.Encode();
    }
    for (const std::string& type : transition.events) {
      // Each carta de correção is a distinct event of the same type.
      Emit(type, type == "carta_correcao" ? std::to_string(facts.carta_correcao) : "",
           observation_.body);
    }

    if (!transition.cycle_ended) {
      if (TimedOut()) return note + "done";
      record_.state = WatchState::kPending;
      record_.next_poll_ms = NextProcessingPoll();
      return note + "processing; next poll in " + FormatDuration(record_.next_poll_ms - now_ms_);
    }
    if (record_.cycle_ended_ms == 0) {
      record_.cycle_ended_ms = now_ms_;
      decision_.completed = !transition.ignored;
    }
    std::optional<int64_t> next =
        transition.follow ? policy_.NextFollowPoll(key_.type, record_.cycle_ended_ms, now_ms_)
                          : std::nullopt;
    if (next) {
      record_.state = WatchState::kFollowing;
      record_.next_poll_ms = *next;
      return note + "following; next poll in " + FormatDuration(*next - now_ms_);
    }
    record_.state = WatchState::kDone;
    record_.next_poll_ms = 0;
    return note + (transition.follow ? "follow window over; done" : "done");
  }

  std::string NotFound() {
    record_.error_streak = 0;
    if (record_.not_found_since_ms == 0) record_.not_found_since_ms = now_ms_;
    const int64_t missing_ms = now_ms_ - record_.not_found_since_ms;
    if (missing_ms >= policy_.not_found_grace_ms()) {
      Emit("nao_encontrado", "", BridgePayload("nao_encontrado"));
      EndCycle();
      return "not found for " + FormatDuration(missing_ms) + "; done";
    }
    if (TimedOut()) return "done";
    record_.next_poll_ms = NextProcessingPoll();
    return "not found for " + FormatDuration(missing_ms) + "; next poll in " +
           FormatDuration(record_.next_poll_ms - now_ms_);
  }

  std::string Failure() {
    ++record_.error_streak;
    const std::string what =
        std::string(OutcomeName(observation_.outcome)) + ": " + observation_.problem;
    // A document that can never be read must still end, or it would be polled forever.
    if (record_.cycle_ended_ms == 0 && TimedOut()) return what + "; done";
    const int64_t delay = policy_.ErrorBackoff(record_.error_streak);
    record_.next_poll_ms = now_ms_ + delay;
    return what + "; retry in " + FormatDuration(delay);
  }

  std::string RateLimited() {
    decision_.rate_limited = true;
    const int64_t delay = policy_.ErrorBackoff(1);
    record_.next_poll_ms = now_ms_ + delay;
    return "rate limited; retry in " + FormatDuration(delay);
  }

  std::string Unauthorized() {
    decision_.unauthorized = true;
    record_.next_poll_ms = now_ms_ + kUnauthorizedRetryMs;
    return "token refused; company paused, retry in " + FormatDuration(kUnauthorizedRetryMs);
  }

  // Ends a still-processing cycle that reached the type's maximum age with a "timeout" event.
  // Returns whether it did.
  bool TimedOut() {
    if (now_ms_ < record_.cycle_started_ms + policy_.For(key_.type).max_age_ms) return false;
    Emit("timeout", "", BridgePayload("timeout"));
    EndCycle();
    return true;
  }

  void EndCycle() {
    record_.state = WatchState::kDone;
    record_.next_poll_ms = 0;
    record_.cycle_ended_ms = now_ms_;
  }

  int64_t NextProcessingPoll() const {
    return policy_.NextProcessingPoll(key_.company, key_.type, record_.cycle_started_ms,
                                      record_.poll_count, now_ms_);
  }

  // The payload of an event the bridge makes up: there is no API body to forward.
  std::string BridgePayload(std::string_view event_type) const {
    boost::json::object payload;
    payload["ref"] = key_.ref;
    payload["tipo"] = DocTypeName(key_.type);
    payload["evento"] = event_type;
    if (record_.last_status.empty()) {
      payload["status"] = nullptr;
    } else {
      payload["status"] = record_.last_status;
    }
    payload["idade_segundos"] = (now_ms_ - record_.cycle_started_ms) / 1000;
    return boost::json::serialize(payload);
  }

  void Emit(std::string_view type, std::string_view discriminator, std::string payload) {
    fired_.emplace_back(type);
    if (!filter_.Allows(type)) return;
    EventRecord event;
    event.id = EventId(key_, record_.cycle, type, discriminator);
    event.key = key_;
    event.cycle = record_.cycle;
    event.type = std::string(type);
    event.payload = std::move(payload);
    event.created_ms = now_ms_;
    event.next_attempt_ms = now_ms_;
    event.state = EventState::kPending;
    decision_.events.push_back(std::move(event));
  }

  // "event autorizado; " or "events carta_correcao, tentativa_anterior (disabled); ".
  std::string EventsNote() const {
    if (fired_.empty()) return "";
    std::string note = fired_.size() == 1 ? "event " : "events ";
    for (size_t i = 0; i < fired_.size(); ++i) {
      if (i > 0) note += ", ";
      note += fired_[i];
      if (!filter_.Allows(fired_[i])) note += " (disabled)";
    }
    return note + "; ";
  }

  const PollPolicy& policy_;
  const WatchKey& key_;
  const Observation& observation_;
  const int64_t now_ms_;
  const EventFilter& filter_;
  ObserverDecision decision_;
  WatchRecord& record_;
  std::vector<std::string> fired_;  // every event that happened, delivered or suppressed
};

}  // namespace

bool EventFilter::Allows(std::string_view type) const {
  return enabled.empty() || enabled.contains(type);
}

Observer::Observer(const PollPolicy& policy) : policy_(policy) {}

ObserverDecision Observer::Observe(const WatchKey& key, const WatchRecord& current,
                                   const Observation& observation, int64_t now_ms,
                                   const EventFilter& filter) const {
  return PollStep(policy_, key, current, observation, now_ms, filter).Run();
}

}  // namespace gatilho
