#include "schedule/token_budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gatilho {

TokenBudget::TokenBudget() : TokenBudget(Options{}) {}

TokenBudget::TokenBudget(Options options) : options_(options), limit_(options.default_limit) {
  // A share above 1 would let gatilho alone exhaust the token; below 0 means nothing.
  options_.share = std::clamp(options_.share, 0.0, 1.0);
}

int64_t TokenBudget::ShareCap() const {
  // Flooring (never rounding up) keeps the ERP's part whole when share * limit is fractional.
  return static_cast<int64_t>(std::floor(options_.share * static_cast<double>(limit_)));
}

int64_t TokenBudget::Floor() const {
  return std::clamp<int64_t>(options_.floor_per_window, 0, ShareCap());
}

int64_t TokenBudget::used_in_window(int64_t now_ms) const {
  // A request sent at t counts until t + window_ms, exclusive.
  auto first_in_window =
      std::upper_bound(sent_ms_.begin(), sent_ms_.end(), now_ms - options_.window_ms);
  return sent_ms_.end() - first_in_window;
}

std::optional<int64_t> TokenBudget::RemainingAllows(int64_t now_ms) const {
  if (now_ms >= remaining_until_ms_) return std::nullopt;
  const int64_t reserve = limit_ - ShareCap();
  return remaining_ - reserve - spent_since_remaining_;
}

int64_t TokenBudget::Available(int64_t now_ms) const {
  if (Paused(now_ms)) return 0;
  const int64_t used = used_in_window(now_ms);
  int64_t available = ShareCap() - used;
  if (std::optional<int64_t> allowed = RemainingAllows(now_ms)) {
    // The floor is counted against gatilho's own sliding window, not against the server's
    // figure: an ERP that keeps overspending would otherwise hold it at zero forever.
    available = std::max(std::min(available, *allowed), Floor() - used);
  }
  if (probing_) {
    const bool probe_pending =
        probe_in_flight_ && now_ms < probe_sent_ms_ + options_.probe_patience_ms;
    available = std::min<int64_t>(available, probe_pending ? 0 : 1);
  }
  return std::max<int64_t>(available, 0);
}

bool TokenBudget::TryAcquire(int64_t now_ms) {
  if (Available(now_ms) <= 0) return false;
  // Only the last window matters; dropping older requests keeps the deque within one share.
  while (!sent_ms_.empty() && sent_ms_.front() <= now_ms - options_.window_ms) {
    sent_ms_.pop_front();
  }
  sent_ms_.push_back(now_ms);
  ++in_flight_;
  if (probing_) {
    probe_in_flight_ = true;
    probe_sent_ms_ = now_ms;
  }
  ++spent_since_remaining_;
  return true;
}

void TokenBudget::OnResponse(int64_t now_ms, int http_status, std::optional<int64_t> limit,
                             std::optional<int64_t> remaining,
                             std::optional<int64_t> reset_seconds) {
  // A request whose outcome never got fed would otherwise count as in flight forever; none can
  // be in flight longer than a window, so the window's count bounds the error.
  in_flight_ = std::min(std::max<int64_t>(in_flight_ - 1, 0), used_in_window(now_ms));
  probe_in_flight_ = false;
  Learn(now_ms, http_status, limit, remaining, reset_seconds);
}

void TokenBudget::OnNotSent(int64_t now_ms) {
  in_flight_ = std::min(std::max<int64_t>(in_flight_ - 1, 0), used_in_window(now_ms));
  probe_in_flight_ = false;
  // The newest entry stands in for this request: it was acquired a connect attempt ago at most,
  // so removing it refunds the credit for as long as the real one would have counted.
  if (used_in_window(now_ms) > 0) sent_ms_.pop_back();
  if (spent_since_remaining_ > 0) --spent_since_remaining_;
}

void TokenBudget::OnForeignResponse(int64_t now_ms, int http_status, std::optional<int64_t> limit,
                                    std::optional<int64_t> remaining,
                                    std::optional<int64_t> reset_seconds) {
  Learn(now_ms, http_status, limit, remaining, reset_seconds);
}

void TokenBudget::Learn(int64_t now_ms, int http_status, std::optional<int64_t> limit,
                        std::optional<int64_t> remaining, std::optional<int64_t> reset_seconds) {
  if (limit && *limit > 0) limit_ = *limit;
  const bool has_reset = reset_seconds.has_value() && *reset_seconds >= 0;

  if (http_status == 429) {
    const int64_t pause_ms = has_reset ? *reset_seconds * 1000 : options_.default_pause_ms;
    paused_until_ms_ = std::max(paused_until_ms_, now_ms + pause_ms);
    probing_ = true;
  } else if (http_status != 0) {
    probing_ = false;
    probe_in_flight_ = false;
  }

  if (!remaining) return;
  // The server counted `remaining` when it handled this answer's request, possibly before the
  // requests still in flight reached it, so all of those count as spent: conservative, since
  // some were probably counted already. Answers can also overtake each other, so a later
  // answer may reflect fewer requests than an earlier one; within one server window the count
  // only falls, so the tighter of the two figures is kept until that window resets.
  const int64_t allowed_now = *remaining - in_flight_;
  const bool known_is_tighter =
      now_ms < remaining_until_ms_ && remaining_ - spent_since_remaining_ < allowed_now;
  if (known_is_tighter) return;
  remaining_ = *remaining;
  spent_since_remaining_ = in_flight_;
  // Without Rate-Limit-Reset the server window may last a full window from now.
  remaining_until_ms_ = now_ms + (has_reset ? *reset_seconds * 1000 : options_.window_ms);
}

int64_t TokenBudget::NextCreditMs(int64_t now_ms) const {
  if (Available(now_ms) > 0) return now_ms;
  const int64_t cap = ShareCap();
  if (cap <= 0) return std::numeric_limits<int64_t>::max();

  // Each rule lifts at its own time and none tightens as time passes without new requests, so
  // a credit is available once the last of them has lifted. The probe's answer may free one
  // sooner; it wakes the caller by itself.
  int64_t at = std::max(now_ms, paused_until_ms_);
  if (probing_ && probe_in_flight_) at = std::max(at, probe_sent_ms_ + options_.probe_patience_ms);

  const int64_t used = used_in_window(now_ms);
  if (used >= cap) {
    // The window must shed used - cap + 1 requests, so the credit frees when the request at
    // position used - cap (0 = oldest) of those still in it leaves.
    const auto first_in_window = sent_ms_.end() - used;
    at = std::max(at, *(first_in_window + (used - cap)) + options_.window_ms);
  }

  if (std::optional<int64_t> allowed = RemainingAllows(now_ms); allowed && *allowed <= 0) {
    at = std::max(at, remaining_until_ms_);
    // The floor may free a credit before rule 2 lifts: when enough of gatilho's own requests
    // have left the window to bring it under the floor (rule 1 then holds too, floor <= cap).
    const int64_t floor = Floor();
    if (floor > 0) {
      int64_t floor_at = std::max(now_ms, paused_until_ms_);
      if (used >= floor) {
        const auto first_in_window = sent_ms_.end() - used;
        floor_at = std::max(floor_at, *(first_in_window + (used - floor)) + options_.window_ms);
      }
      at = std::min(at, floor_at);
    }
  }
  return at;
}

}  // namespace gatilho
