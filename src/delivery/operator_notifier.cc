#include "delivery/operator_notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "delivery/webhook_request.h"

namespace gatilho {

Result<std::unique_ptr<OperatorNotifier>> OperatorNotifier::Create(HttpClient& http,
                                                                   const Clock& clock,
                                                                   Options options) {
  Result<Signer> signer = Signer::Create(options.secrets);
  if (!signer.ok()) return signer.status().WithContext("operator_secret");
  return std::unique_ptr<OperatorNotifier>(
      new OperatorNotifier(http, clock, std::move(options), std::move(*signer)));
}

void OperatorNotifier::Notify(std::string_view kind, Fields fields) {
  if (!enabled()) return;
  int64_t now = clock_.WallMs();
  Pending pending;
  // Unique within a run and unlikely to repeat across runs; an operator event is not replayed
  // after a restart, so the id need not be derived from stored state.
  pending.id = "op_" + std::to_string(now) + "_" + std::to_string(next_id_++);
  try {
    boost::json::object data;
    for (auto& [name, value] : fields)
      data[name] = value;
    boost::json::object envelope;
    envelope["type"] = "gatilho." + std::string(kind);
    envelope["timestamp"] = FormatRfc3339(now);
    envelope["data"] = std::move(data);
    pending.body = boost::json::serialize(envelope);
  } catch (const std::exception& e) {
    spdlog::error("operator event {} could not be encoded ({}); it is only logged", kind, e.what());
    return;
  }
  pending.next_try_ms = now;
  if (queue_.size() >= options_.max_queued) {
    // The oldest is dropped, not the newest: the latest state is the one worth knowing.
    ++dropped_;
    queue_.pop_front();
    if (dropped_ == 1 || dropped_ % 100 == 0) {
      spdlog::warn(
          "operator events are piling up ({} dropped so far): the operator URL does not take "
          "them; check operator_url",
          dropped_);
    }
  }
  queue_.push_back(std::move(pending));
}

void OperatorNotifier::Pump() {
  if (std::optional<int64_t> step = wall_step_.Take()) {
    // A queued notice keeps the wait it had left, whichever way the wall clock jumped.
    for (Pending& pending : queue_)
      pending.next_try_ms += *step;
  }
  if (in_flight_ || queue_.empty()) return;
  Pending& next = queue_.front();
  int64_t now = clock_.WallMs();
  if (next.next_try_ms > now) return;
  HttpRequest request;
  request.method = "POST";
  request.url = options_.url;
  request.body = next.body;
  request.total_timeout_ms = options_.timeout_ms;
  request.connect_timeout_ms = std::min<int64_t>(options_.timeout_ms, 5'000);
  request.max_response_bytes = 64 * 1024;
  int64_t seconds = now / 1000;
  request.headers = {{"content-type", "application/json"},
                     {"webhook-id", next.id},
                     {"webhook-timestamp", std::to_string(seconds)}};
  if (!signer_.empty()) {
    request.headers.emplace_back("webhook-signature", signer_.Sign(next.id, seconds, next.body));
  }
  in_flight_ = true;
  http_.Start(std::move(request), [this](HttpResponse response) { Finish(response); });
}

void OperatorNotifier::Finish(const HttpResponse& response) {
  in_flight_ = false;
  if (queue_.empty()) return;
  Pending& front = queue_.front();
  if (IsDelivered(response.status)) {
    ++sent_;
    queue_.pop_front();
    return;
  }
  ++front.tries;
  std::string answer =
      response.status == 0 ? response.error : "HTTP " + std::to_string(response.status);
  if (front.tries >= options_.max_tries) {
    spdlog::warn(
        "gave up sending operator event {} after {} tries, last: {}; it stays in the log. "
        "Check operator_url",
        front.id, front.tries, answer);
    ++dropped_;
    queue_.pop_front();
    return;
  }
  int64_t delay = options_.first_retry_ms << std::min<uint32_t>(front.tries - 1, 10);
  front.next_try_ms = clock_.WallMs() + delay;
  if (front.tries == 1) {
    spdlog::warn("operator URL refused event {} ({}); retrying in {} s", front.id, answer,
                 delay / 1000);
  }
}

std::optional<int64_t> OperatorNotifier::NextWakeMs() const {
  if (in_flight_ || queue_.empty()) return std::nullopt;
  return queue_.front().next_try_ms;
}

}  // namespace gatilho
