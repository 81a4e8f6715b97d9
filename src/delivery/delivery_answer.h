// DeliveryAnswer: how the ERP's answer to one webhook POST is read.
//
// The dispatcher calls ClassifyAnswer() with the HTTP status and the Retry-After header of each
// answer; the endpoint's gate (endpoint_gate.h) acts on the result. Times are wall-clock
// milliseconds since the Unix epoch, because an HTTP-date in Retry-After is a wall time.
//
// Pure: no I/O, no clock, no locale. Threads: free functions on values; call from anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gatilho {

struct DeliveryAnswer {
  enum class Kind {
    kDelivered,  // 2xx: the ERP has the event
    kFailed,     // anything else: retry on the event's retry schedule
    kThrottled,  // 429, or 503 with Retry-After: the endpoint asked us to wait
    kGone,       // 410: the endpoint is not there any more; stop delivering to it
  };
  Kind kind = Kind::kFailed;
  int64_t retry_at_ms = 0;  // kThrottled only: wall time the endpoint asked us to wait until

  bool operator==(const DeliveryAnswer&) const = default;
};

// "delivered", "failed", "throttled", "gone": for logs and test messages.
std::string_view KindName(DeliveryAnswer::Kind kind);

struct RetryAfterBounds {
  int64_t min_ms = 1'000;       // a throttled endpoint is never retried sooner than this...
  int64_t max_ms = 3'600'000;   // ...nor paused longer than this, whatever it asked
  int64_t default_ms = 30'000;  // the wait when Retry-After is absent or unreadable
};

// Reads one answer. http_status 0 = no HTTP answer (timeout, connection refused...).
//   2xx -> kDelivered. 410 -> kGone.
//   429 -> kThrottled, retry_at_ms = now_ms + the Retry-After delay, or default_ms when the
//          header is absent or unreadable; the delay (default_ms included) is clamped to
//          [min_ms, max_ms], so retry_at_ms always lies in [now_ms + min_ms, now_ms + max_ms].
//   503 with a readable Retry-After -> kThrottled, the same way; 503 without one -> kFailed.
//   Anything else (0, 1xx, 3xx, which are never followed, other 4xx and 5xx, out of range)
//   -> kFailed.
DeliveryAnswer ClassifyAnswer(int http_status, std::optional<std::string_view> retry_after,
                              int64_t now_ms, const RetryAfterBounds& bounds = {});

// The delay in milliseconds (>= 0) a Retry-After value asks for, relative to now_ms:
//   - delta-seconds: "120" (digits only; no sign, no fraction);
//   - an HTTP-date (RFC 9110 section 5.6.7) in any of its three forms:
//       IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//       RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"  (two-digit year: the one within 50 years
//                                                      of now_ms's year, as RFC 9110 asks;
//                                                      a four-digit year is accepted too)
//       asctime      "Sun Nov  6 08:49:37 1994"        (read as UTC)
//     A date in the past gives 0.
// Leading and trailing blanks (space, tab, CR, LF) are ignored. Within a date, names are
// matched case-insensitively, a weekday may be given short or long in any form, runs of spaces
// count as one, the day of the month may have one digit, and the weekday is not checked
// against the date (senders get it wrong; the date itself is what matters). The date must
// exist: "30 Feb" or "25:00:00" is garbage; a leap second (":60") is accepted.
// nullopt for anything else: empty, negative, fractional, garbage, or a number of seconds whose
// milliseconds do not fit in int64_t.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_ms);

}  // namespace gatilho
