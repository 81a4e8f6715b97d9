#include "delivery/delivery_answer.h"

#include <algorithm>
#include <array>
#include <limits>

namespace gatilho {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerDay = 86'400'000;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back()))
    s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kInt64Max : kInt64Min;
  return sum;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t difference = 0;
  if (__builtin_sub_overflow(a, b, &difference)) return b < 0 ? kInt64Max : kInt64Min;
  return difference;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

// The proleptic Gregorian year of a day count since 1970-01-01 (from H. Hinnant's
// civil_from_days).
int64_t YearFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int DaysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[static_cast<size_t>(m - 1)];
}

// A left-to-right reader over an HTTP-date; every Read*/Expect* returns false on a mismatch.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  bool Expect(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  // One or more spaces, where the grammar has one SP.
  bool Spaces() {
    if (Peek() != ' ') return false;
    while (Peek() == ' ')
      ++pos_;
    return true;
  }

  std::string_view Letters() {
    size_t start = pos_;
    while (IsAlpha(Peek()))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // Between min_digits and max_digits decimal digits (no more may follow).
  bool Number(size_t min_digits, size_t max_digits, int* value, size_t* digits = nullptr) {
    size_t start = pos_;
    int v = 0;
    while (IsDigit(Peek())) {
      if (pos_ - start == max_digits) return false;
      v = v * 10 + (Peek() - '0');
      ++pos_;
    }
    if (pos_ - start < min_digits) return false;
    *value = v;
    if (digits != nullptr) *digits = pos_ - start;
    return true;
  }

  // "HH:MM:SS", validated (a leap second 60 is allowed).
  bool TimeOfDay(int* seconds_of_day) {
    int h = 0, m = 0, s = 0;
    if (!Number(2, 2, &h) || !Expect(':') || !Number(2, 2, &m) || !Expect(':') ||
        !Number(2, 2, &s)) {
      return false;
    }
    if (h > 23 || m > 59 || s > 60) return false;
    *seconds_of_day = h * 3600 + m * 60 + s;
    return true;
  }

  // A three-letter month name, 1..12.
  bool Month(int* month) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
    std::string_view name = Letters();
    for (size_t i = 0; i < kMonths.size(); ++i) {
      if (EqualsIgnoreCase(name, kMonths[i])) {
        *month = static_cast<int>(i) + 1;
        return true;
      }
    }
    return false;
  }

  // A weekday, short ("Sun") or long ("Sunday"); which day it names is not used.
  bool Weekday() {
    static constexpr std::array<std::string_view, 7> kDays = {
        "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
    std::string_view name = Letters();
    for (std::string_view day : kDays) {
      if (EqualsIgnoreCase(name, day) || EqualsIgnoreCase(name, day.substr(0, 3))) return true;
    }
    return false;
  }

  bool Word(std::string_view word) { return EqualsIgnoreCase(Letters(), word); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// The year a two-digit RFC 850 year stands for: the one in (now_year - 50, now_year + 50].
// RFC 9110 asks that a year "more than 50 years in the future" be read a century earlier.
int64_t ExpandTwoDigitYear(int yy, int64_t now_ms) {
  int64_t now_year = YearFromDays(FloorDiv(now_ms, kMsPerDay));
  int64_t year = now_year - ((now_year % 100) + 100) % 100 + yy;
  if (year > now_year + 50) {
    year -= 100;
  } else if (year <= now_year - 50) {
    year += 100;
  }
  return year;
}

// Milliseconds since the epoch of an HTTP-date, or nullopt when `text` is not one.
std::optional<int64_t> ParseHttpDate(std::string_view text, int64_t now_ms) {
  DateReader in(text);
  if (!in.Weekday()) return std::nullopt;

  int64_t year = 0;
  int month = 0, day = 0, seconds_of_day = 0;
  if (in.Expect(',')) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    if (!in.Spaces() || !in.Number(1, 2, &day)) return std::nullopt;
    int y = 0;
    if (in.Expect('-')) {
      size_t digits = 0;
      if (!in.Month(&month) || !in.Expect('-') || !in.Number(2, 4, &y, &digits) || digits == 3) {
        return std::nullopt;
      }
      year = digits == 2 ? ExpandTwoDigitYear(y, now_ms) : y;
    } else {
      if (!in.Spaces() || !in.Month(&month) || !in.Spaces() || !in.Number(4, 4, &y)) {
        return std::nullopt;
      }
      year = y;
    }
    if (!in.Spaces() || !in.TimeOfDay(&seconds_of_day) || !in.Spaces() || !in.Word("GMT")) {
      return std::nullopt;
    }
  } else {
    // asctime "Sun Nov  6 08:49:37 1994".
    int y = 0;
    if (!in.Spaces() || !in.Month(&month) || !in.Spaces() || !in.Number(1, 2, &day) ||
        !in.Spaces() || !in.TimeOfDay(&seconds_of_day) || !in.Spaces() || !in.Number(4, 4, &y)) {
      return std::nullopt;
    }
    year = y;
  }
  if (!in.AtEnd()) return std::nullopt;
  if (day < 1 || day > DaysInMonth(year, month)) return std::nullopt;

  // At most year 9999: a few 1e14 ms, far from overflowing.
  return DaysFromCivil(year, month, day) * kMsPerDay + seconds_of_day * kMsPerSecond;
}

// Milliseconds of a delta-seconds value (digits only), nullopt when it overflows int64_t.
std::optional<int64_t> ParseDeltaSeconds(std::string_view digits) {
  int64_t seconds = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    if (__builtin_mul_overflow(seconds, 10, &seconds) ||
        __builtin_add_overflow(seconds, c - '0', &seconds)) {
      return std::nullopt;
    }
  }
  int64_t ms = 0;
  if (__builtin_mul_overflow(seconds, kMsPerSecond, &ms)) return std::nullopt;
  return ms;
}

int64_t Clamp(int64_t value, const RetryAfterBounds& bounds) {
  // Not std::clamp: bounds with min_ms > max_ms must not be undefined behaviour (min wins).
  return std::max(bounds.min_ms, std::min(value, bounds.max_ms));
}

DeliveryAnswer Throttled(int64_t delay_ms, int64_t now_ms, const RetryAfterBounds& bounds) {
  return DeliveryAnswer{.kind = DeliveryAnswer::Kind::kThrottled,
                        .retry_at_ms = SaturatingAdd(now_ms, Clamp(delay_ms, bounds))};
}

}  // namespace

std::string_view KindName(DeliveryAnswer::Kind kind) {
  switch (kind) {
    case DeliveryAnswer::Kind::kDelivered:
      return "delivered";
    case DeliveryAnswer::Kind::kFailed:
      return "failed";
    case DeliveryAnswer::Kind::kThrottled:
      return "throttled";
    case DeliveryAnswer::Kind::kGone:
      return "gone";
  }
  return "unknown";
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_ms) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (IsDigit(value.front())) return ParseDeltaSeconds(value);

  std::optional<int64_t> date_ms = ParseHttpDate(value, now_ms);
  if (!date_ms.has_value()) return std::nullopt;
  return std::max<int64_t>(SaturatingSub(*date_ms, now_ms), 0);
}

DeliveryAnswer ClassifyAnswer(int http_status, std::optional<std::string_view> retry_after,
                              int64_t now_ms, const RetryAfterBounds& bounds) {
  if (http_status >= 200 && http_status <= 299) {
    return DeliveryAnswer{.kind = DeliveryAnswer::Kind::kDelivered};
  }
  if (http_status == 410) return DeliveryAnswer{.kind = DeliveryAnswer::Kind::kGone};
  if (http_status == 429 || http_status == 503) {
    std::optional<int64_t> delay_ms;
    if (retry_after.has_value()) delay_ms = ParseRetryAfter(*retry_after, now_ms);
    if (delay_ms.has_value()) return Throttled(*delay_ms, now_ms, bounds);
    // 429 means "too many requests" even without a hint; a bare 503 is an ordinary failure.
    if (http_status == 429) return Throttled(bounds.default_ms, now_ms, bounds);
  }
  return DeliveryAnswer{.kind = DeliveryAnswer::Kind::kFailed};
}

}  // namespace gatilho
