#include "delivery/delivery_answer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace gatilho {

void PrintTo(const DeliveryAnswer& answer, std::ostream* os) {
  *os << KindName(answer.kind) << " retry_at_ms=" << answer.retry_at_ms;
}

namespace {

using Kind = DeliveryAnswer::Kind;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
constexpr int64_t kRfcDateMs = 784'111'777'000;
constexpr int64_t kNow = 1'700'000'000'123;  // Tue, 14 Nov 2023 22:13:20.123 GMT

// An independent reading of a UTC calendar time: glibc's timegm.
int64_t UtcMs(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * kSecond;
}

// strftime of a Unix time in UTC; the test binary runs in the "C" locale.
std::string Format(const char* format, int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[128];
  size_t n = std::strftime(buffer, sizeof buffer, format, &tm);
  return std::string(buffer, n);
}

// A deterministic spread of values (splitmix64).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------------------------------------
// ParseRetryAfter: delta-seconds.

TEST(ParseRetryAfter, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), 0);
  EXPECT_EQ(ParseRetryAfter("1", kNow), 1 * kSecond);
  EXPECT_EQ(ParseRetryAfter("120", kNow), 120 * kSecond);
  EXPECT_EQ(ParseRetryAfter("86400", kNow), kDay);
  EXPECT_EQ(ParseRetryAfter("0120", kNow), 120 * kSecond);
  EXPECT_EQ(ParseRetryAfter(std::string(200, '0') + "7", kNow), 7 * kSecond);
}

TEST(ParseRetryAfter, DeltaSecondsDoNotDependOnNow) {
  for (int64_t now : {int64_t{0}, kNow, int64_t{-5'000}, std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(ParseRetryAfter("30", now), 30 * kSecond) << now;
  }
}

TEST(ParseRetryAfter, BlanksAroundTheValueAreIgnored) {
  for (const char* value :
       {" 120", "120 ", "  120  ", "\t120", "120\t", "120\r\n", " \t120\r\n", "\r\n 120 \t"}) {
    EXPECT_EQ(ParseRetryAfter(value, kNow), 120 * kSecond) << '"' << value << '"';
  }
  EXPECT_EQ(ParseRetryAfter("  Sun, 06 Nov 1994 08:49:37 GMT\r\n", kRfcDateMs - kMinute), kMinute);
}

TEST(ParseRetryAfter, BlanksInsideANumberAreGarbage) {
  for (const char* value : {"1 20", "12\t0", "1\r\n20"}) {
    EXPECT_EQ(ParseRetryAfter(value, kNow), std::nullopt) << '"' << value << '"';
  }
}

TEST(ParseRetryAfter, GarbageIsUnreadable) {
  for (const char* value : {"",
                            " ",
                            "\t\r\n",
                            "-1",
                            "-0",
                            "+1",
                            "1.5",
                            "1,5",
                            "1e3",
                            "0x10",
                            "120s",
                            "12a",
                            "a12",
                            "abc",
                            "soon",
                            "never",
                            "Sun",
                            "Sun,",
                            "Sun, ",
                            "GMT",
                            "\xd9\xa1\xd9\xa2" /* Arabic 12 */,
                            "１２" /* fullwidth 12 */,
                            "2023-11-14T22:13:20Z",
                            "∞"}) {
    EXPECT_EQ(ParseRetryAfter(value, kNow), std::nullopt) << '"' << value << '"';
  }
  // Bytes after a NUL are part of the value, not an end.
  EXPECT_EQ(ParseRetryAfter(std::string_view("12\0", 3), kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(std::string_view("\0"
                                             "12",
                                             3),
                            kNow),
            std::nullopt);
  // A Unix timestamp is not a date: it reads as (many) seconds, which the bounds then cap.
  EXPECT_EQ(ParseRetryAfter("1700000000", kNow), int64_t{1'700'000'000} * kSecond);
}

TEST(ParseRetryAfter, HugeNumbers) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  // The largest number of seconds whose milliseconds fit in int64_t...
  EXPECT_EQ(ParseRetryAfter(std::to_string(kMax / 1000), kNow), kMax / 1000 * 1000);
  // ...and the next one does not.
  EXPECT_EQ(ParseRetryAfter(std::to_string(kMax / 1000 + 1), kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(std::to_string(kMax), kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("9223372036854775808", kNow), std::nullopt);   // > int64_t max
  EXPECT_EQ(ParseRetryAfter("18446744073709551616", kNow), std::nullopt);  // > uint64_t max
  EXPECT_EQ(ParseRetryAfter(std::string(400, '9'), kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("31536000", kNow), 365 * kDay);  // a year is a number like others
}

// ---------------------------------------------------------------------------------------------
// ParseRetryAfter: HTTP dates.

TEST(ParseRetryAfter, ImfFixdate) {
  const char* date = "Sun, 06 Nov 1994 08:49:37 GMT";
  ASSERT_EQ(UtcMs(1994, 11, 6, 8, 49, 37), kRfcDateMs);

  EXPECT_EQ(ParseRetryAfter(date, kRfcDateMs - 90 * kSecond), 90 * kSecond);
  EXPECT_EQ(ParseRetryAfter(date, kRfcDateMs - 1), 1);  // now has milliseconds, dates do not
  EXPECT_EQ(ParseRetryAfter(date, kRfcDateMs - 3 * kDay), 3 * kDay);
  EXPECT_EQ(ParseRetryAfter(date, 0), kRfcDateMs);
}

TEST(ParseRetryAfter, DateInThePastGivesZero) {
  const char* date = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_EQ(ParseRetryAfter(date, kRfcDateMs), 0);
  EXPECT_EQ(ParseRetryAfter(date, kRfcDateMs + 1), 0);
  EXPECT_EQ(ParseRetryAfter(date, kNow), 0);
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", kNow), 0);
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", kNow), 0);
}

TEST(ParseRetryAfter, Rfc850Date) {
  // Read in 1994, "94" is 1994.
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", kRfcDateMs - 5 * kSecond),
            5 * kSecond);
  // A four-digit year is accepted too.
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-1994 08:49:37 GMT", kRfcDateMs - 5 * kSecond),
            5 * kSecond);
  // Read now (2023), "94" is 1994: in the past.
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", kNow), 0);
  // Three digits is no year.
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-994 08:49:37 GMT", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-19940 08:49:37 GMT", kNow), std::nullopt);
}

TEST(ParseRetryAfter, Rfc850TwoDigitYearIsTheOneWithinFiftyYears) {
  // RFC 9110: a two-digit year that appears more than 50 years in the future is the most recent
  // past year with the same last two digits.
  const int64_t now_2024 = UtcMs(2024, 6, 1);
  EXPECT_EQ(ParseRetryAfter("Friday, 01-Jan-70 00:00:00 GMT", now_2024),
            UtcMs(2070, 1, 1) - now_2024);
  EXPECT_EQ(ParseRetryAfter("Tuesday, 01-Jan-74 00:00:00 GMT", now_2024),
            UtcMs(2074, 1, 1) - now_2024);  // 49.6 years ahead: still the future
  EXPECT_EQ(ParseRetryAfter("Friday, 01-Jun-74 00:00:00 GMT", now_2024),
            UtcMs(2074, 6, 1) - now_2024);  // exactly 50 years ahead: not "more than 50"
  EXPECT_EQ(ParseRetryAfter("Saturday, 01-Jun-75 00:00:00 GMT", now_2024), 0);  // 1975
  EXPECT_EQ(ParseRetryAfter("Saturday, 01-Jun-24 12:00:00 GMT", now_2024), 12 * kHour);

  // Near the end of a century, small years are in the next one.
  const int64_t now_2099 = UtcMs(2099, 6, 1);
  EXPECT_EQ(ParseRetryAfter("Monday, 01-Jan-01 00:00:00 GMT", now_2099),
            UtcMs(2101, 1, 1) - now_2099);
  EXPECT_EQ(ParseRetryAfter("Monday, 01-Jun-99 01:00:00 GMT", now_2099), kHour);
  EXPECT_EQ(ParseRetryAfter("Monday, 01-Jan-60 00:00:00 GMT", now_2099), 0);  // 2060

  // And early in one, large years are in the previous one.
  const int64_t now_2001 = UtcMs(2001, 1, 1);
  EXPECT_EQ(ParseRetryAfter("Sunday, 01-Jan-51 00:00:00 GMT", now_2001),
            UtcMs(2051, 1, 1) - now_2001);
  EXPECT_EQ(ParseRetryAfter("Sunday, 02-Jan-51 00:00:00 GMT", now_2001),
            UtcMs(2051, 1, 2) - now_2001);  // 2051 is 50 years ahead in year terms
  EXPECT_EQ(ParseRetryAfter("Sunday, 01-Jan-52 00:00:00 GMT", now_2001), 0);  // 1952
}

TEST(ParseRetryAfter, AsctimeDate) {
  const int64_t now = kRfcDateMs - 42 * kSecond;
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), 42 * kSecond);
  EXPECT_EQ(ParseRetryAfter("Sun Nov 06 08:49:37 1994", now), 42 * kSecond);
  EXPECT_EQ(ParseRetryAfter("Sun Nov 6 08:49:37 1994", now), 42 * kSecond);
  EXPECT_EQ(ParseRetryAfter("Wed Nov 15 08:49:37 1994", now), 9 * kDay + 42 * kSecond);
  // asctime has no zone; one written after the year is garbage.
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994 GMT", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 94", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sun Nov 106 08:49:37 1994", now), std::nullopt);
}

TEST(ParseRetryAfter, NamesAreCaseInsensitive) {
  const int64_t now = kRfcDateMs - kSecond;
  for (const char* value : {"sun, 06 nov 1994 08:49:37 gmt", "SUN, 06 NOV 1994 08:49:37 GMT",
                            "sUn, 06 NoV 1994 08:49:37 gMt", "SUNDAY, 06-NOV-94 08:49:37 GMT",
                            "sun nov  6 08:49:37 1994"}) {
    EXPECT_EQ(ParseRetryAfter(value, now), kSecond) << value;
  }
}

TEST(ParseRetryAfter, WeekdayMayBeShortOrLongAndIsNotChecked) {
  const int64_t now = kRfcDateMs - kSecond;
  for (const char* value :
       {"Sunday, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday Nov  6 08:49:37 1994", "Mon, 06 Nov 1994 08:49:37 GMT" /* really a Sunday */,
        "Friday, 06-Nov-94 08:49:37 GMT", "Wed Nov  6 08:49:37 1994"}) {
    EXPECT_EQ(ParseRetryAfter(value, now), kSecond) << value;
  }
  for (const char* value : {"Sux, 06 Nov 1994 08:49:37 GMT", "Su, 06 Nov 1994 08:49:37 GMT",
                            "Sundays, 06 Nov 1994 08:49:37 GMT", "Sund, 06 Nov 1994 08:49:37 GMT",
                            ", 06 Nov 1994 08:49:37 GMT", "06 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(ParseRetryAfter(value, now), std::nullopt) << value;
  }
}

TEST(ParseRetryAfter, SpacingInsideDates) {
  const int64_t now = kRfcDateMs - kSecond;
  // Runs of spaces count as one; a one-digit day is accepted.
  EXPECT_EQ(ParseRetryAfter("Sun,  06  Nov  1994  08:49:37  GMT", now), kSecond);
  EXPECT_EQ(ParseRetryAfter("Sun, 6 Nov 1994 08:49:37 GMT", now), kSecond);
  EXPECT_EQ(ParseRetryAfter("Sunday,   06-Nov-94   08:49:37   GMT", now), kSecond);
  // A missing space, a space where none goes, or a tab inside is garbage.
  for (const char* value :
       {"Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37GMT", "Sun , 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08 :49:37 GMT", "Sun, 06 Nov 1994 08: 49:37 GMT",
        "Sunday, 06 -Nov-94 08:49:37 GMT", "Sunday, 06-Nov- 94 08:49:37 GMT",
        "Sun,\t06 Nov 1994 08:49:37 GMT", "Sun Nov\t6 08:49:37 1994", "SunNov  6 08:49:37 1994"}) {
    EXPECT_EQ(ParseRetryAfter(value, now), std::nullopt) << value;
  }
}

TEST(ParseRetryAfter, MalformedDates) {
  for (const char* value : {
           "Sun, 06 Nov 1994 08:49:37",           // no zone
           "Sun, 06 Nov 1994 08:49:37 UTC",       // only GMT is allowed
           "Sun, 06 Nov 1994 08:49:37 +0000",     //
           "Sun, 06 Nov 1994 08:49:37 GMT+1",     //
           "Sun, 06 Nov 1994 08:49:37 GMTX",      //
           "Sun, 06 Nov 1994 08:49:37 GMT x",     // trailing garbage
           "Sun, 06 Nov 1994 08:49:37 GMT,",      //
           "Sun, 06 Nov 94 08:49:37 GMT",         // IMF-fixdate needs four digits
           "Sun, 06 Nov 01994 08:49:37 GMT",      //
           "Sun, 06 Foo 1994 08:49:37 GMT",       // no such month
           "Sun, 06 November 1994 08:49:37 GMT",  // months are three letters
           "Sun, 06 11 1994 08:49:37 GMT",        //
           "Sun, 006 Nov 1994 08:49:37 GMT",      // the day has one or two digits
           "Sun, Nov 06 1994 08:49:37 GMT",       //
           "Sun, 06 Nov 1994 8:49:37 GMT",        // hours have two digits
           "Sun, 06 Nov 1994 08:49 GMT",          // seconds are not optional
           "Sun, 06 Nov 1994 08:49:37.5 GMT",     // nor fractional
           "Sun, 06 Nov 1994 08-49-37 GMT",       //
           "Sunday, 06-Nov-94 08:49:37",          // RFC 850 needs GMT too
           "Sunday, 06/Nov/94 08:49:37 GMT",      //
           "Sunday, 06-Nov 94 08:49:37 GMT",      //
           "Sun Nov  6 08:49:37",                 // asctime needs the year
           "Sun 06 Nov 1994 08:49:37 GMT",        // the comma decides the form
           "Sun, Nov  6 08:49:37 1994",           //
       }) {
    EXPECT_EQ(ParseRetryAfter(value, kRfcDateMs - kSecond), std::nullopt) << value;
  }
}

TEST(ParseRetryAfter, DatesThatDoNotExist) {
  const int64_t now = 0;
  for (const char* value : {
           "Sun, 00 Nov 1994 08:49:37 GMT",
           "Sun, 31 Nov 1994 08:49:37 GMT",  // November has 30 days
           "Sun, 32 Jan 1994 08:49:37 GMT",
           "Sun, 31 Apr 1994 08:49:37 GMT",
           "Sun, 29 Feb 2023 12:00:00 GMT",  // not a leap year
           "Sun, 29 Feb 2100 12:00:00 GMT",  // divisible by 100
           "Sun, 30 Feb 2024 12:00:00 GMT",
           "Sun, 06 Nov 1994 24:00:00 GMT",
           "Sun, 06 Nov 1994 08:60:00 GMT",
           "Sun, 06 Nov 1994 08:49:61 GMT",
           "Sun, 06 Nov 1994 99:99:99 GMT",
           "Sunday, 31-Jun-94 08:49:37 GMT",
           "Sun Feb 29 00:00:00 1900",
       }) {
    EXPECT_EQ(ParseRetryAfter(value, now), std::nullopt) << value;
  }
}

TEST(ParseRetryAfter, LeapDaysAndLeapSeconds) {
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 00:00:00 GMT", 0), UtcMs(2024, 2, 29));
  EXPECT_EQ(ParseRetryAfter("Tue, 29 Feb 2000 00:00:00 GMT", 0), UtcMs(2000, 2, 29));
  EXPECT_EQ(ParseRetryAfter("Mon, 29 Feb 2400 00:00:00 GMT", 0), UtcMs(2400, 2, 29));
  EXPECT_EQ(ParseRetryAfter("Sun, 01 Mar 2024 00:00:00 GMT", 0), UtcMs(2024, 3, 1));
  // A leap second reads as the first second of the next minute (Unix time has none).
  EXPECT_EQ(ParseRetryAfter("Sat, 31 Dec 2016 23:59:60 GMT", 0), UtcMs(2017, 1, 1));
}

TEST(ParseRetryAfter, ExtremeYears) {
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", 0), int64_t{253'402'300'799'000});
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", -kSecond), kSecond);
  EXPECT_EQ(ParseRetryAfter("Wed, 31 Dec 1969 23:59:59 GMT", -2 * kSecond), kSecond);
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", UtcMs(1, 1, 1) - kSecond), kSecond);
  // No overflow however far now is from the date.
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", std::numeric_limits<int64_t>::min()),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", std::numeric_limits<int64_t>::max()),
            0);
}

// Every form, for dates spread over 1970..2200, against strftime and the C library's calendar.
TEST(ParseRetryAfter, AgreesWithTheCLibraryOnManyDates) {
  constexpr int64_t kSpan = int64_t{7'258'118'400};  // seconds from 1970 to 2200
  for (uint64_t i = 0; i < 20'000; ++i) {
    auto t = static_cast<int64_t>(Mix(i) % static_cast<uint64_t>(kSpan));
    std::string imf = Format("%a, %d %b %Y %H:%M:%S GMT", t);
    std::string rfc850 = Format("%A, %d-%b-%y %H:%M:%S GMT", t);
    std::string asctime = Format("%a %b %e %H:%M:%S %Y", t);
    ASSERT_EQ(ParseRetryAfter(imf, 0), t * kSecond) << imf;
    ASSERT_EQ(ParseRetryAfter(asctime, 0), t * kSecond) << asctime;
    // Two-digit years are read near now: a year before and after.
    ASSERT_EQ(ParseRetryAfter(rfc850, t * kSecond - 365 * kDay), 365 * kDay) << rfc850;
    ASSERT_EQ(ParseRetryAfter(rfc850, t * kSecond + kSecond), 0) << rfc850;
    ASSERT_EQ(ParseRetryAfter(rfc850, t * kSecond - 30 * (365 * kDay)), 30 * (365 * kDay))
        << rfc850;
  }
}

// Every day of a few centuries, around month ends: no day is lost or invented.
TEST(ParseRetryAfter, EveryDayOfFourCenturies) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int year = 1900; year < 2300; ++year) {
    for (int month = 1; month <= 12; ++month) {
      for (int day = 1; day <= 31; ++day) {
        std::string value = "Mon, " + std::to_string(day) + " " + kMonths[month - 1] + " " +
                            std::to_string(year) + " 12:34:56 GMT";
        std::tm tm{};
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        timegm(&tm);  // normalises an impossible day into the next month
        bool exists = tm.tm_mday == day;
        std::optional<int64_t> parsed =
            ParseRetryAfter(value, std::numeric_limits<int64_t>::min() / 2);
        if (!exists) {
          ASSERT_EQ(parsed, std::nullopt) << value;
        } else {
          ASSERT_TRUE(parsed.has_value()) << value;
          ASSERT_EQ(ParseRetryAfter(value, UtcMs(year, month, day)),
                    (12 * 3600 + 34 * 60 + 56) * kSecond)
              << value;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ClassifyAnswer.

TEST(ClassifyAnswer, TwoHundredsAreDelivered) {
  for (int status : {200, 201, 202, 204, 206, 250, 299}) {
    EXPECT_EQ(ClassifyAnswer(status, std::nullopt, kNow), DeliveryAnswer{.kind = Kind::kDelivered})
        << status;
    // Even with a Retry-After.
    EXPECT_EQ(ClassifyAnswer(status, "120", kNow), DeliveryAnswer{.kind = Kind::kDelivered})
        << status;
  }
}

TEST(ClassifyAnswer, GoneIsGone) {
  EXPECT_EQ(ClassifyAnswer(410, std::nullopt, kNow), DeliveryAnswer{.kind = Kind::kGone});
  EXPECT_EQ(ClassifyAnswer(410, "120", kNow), DeliveryAnswer{.kind = Kind::kGone});
}

TEST(ClassifyAnswer, EverythingElseFailed) {
  std::vector<int> statuses = {0,   100, 101, 103, 199, 300, 301, 302, 303, 304, 307,  308, 399,
                               400, 401, 403, 404, 405, 408, 409, 411, 413, 422, 428,  430, 451,
                               499, 500, 501, 502, 504, 507, 599, 600, 999, -1,  1000, 2000};
  for (int status : statuses) {
    EXPECT_EQ(ClassifyAnswer(status, std::nullopt, kNow), DeliveryAnswer{.kind = Kind::kFailed})
        << status;
    // A Retry-After does not make them throttled: only 429 and 503 are read that way.
    EXPECT_EQ(ClassifyAnswer(status, "120", kNow), DeliveryAnswer{.kind = Kind::kFailed}) << status;
  }
}

TEST(ClassifyAnswer, TooManyRequestsIsThrottled) {
  EXPECT_EQ(ClassifyAnswer(429, "120", kNow),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kNow + 120 * kSecond}));
  EXPECT_EQ(ClassifyAnswer(429, " 45 ", kNow),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kNow + 45 * kSecond}));
  int64_t date_now = kRfcDateMs - 10 * kMinute;
  EXPECT_EQ(ClassifyAnswer(429, "Sun, 06 Nov 1994 08:49:37 GMT", date_now),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kRfcDateMs}));
  EXPECT_EQ(ClassifyAnswer(429, "Sunday, 06-Nov-94 08:49:37 GMT", date_now),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kRfcDateMs}));
  EXPECT_EQ(ClassifyAnswer(429, "Sun Nov  6 08:49:37 1994", date_now),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kRfcDateMs}));
}

TEST(ClassifyAnswer, TooManyRequestsWithoutAReadableRetryAfterWaitsTheDefault) {
  DeliveryAnswer expected{.kind = Kind::kThrottled, .retry_at_ms = kNow + 30 * kSecond};
  EXPECT_EQ(ClassifyAnswer(429, std::nullopt, kNow), expected);
  for (const char* value : {"", "  ", "soon", "-5", "1.5", "99999999999999999999999",
                            "Sun, 31 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(ClassifyAnswer(429, value, kNow), expected) << value;
  }
}

TEST(ClassifyAnswer, ServiceUnavailableIsThrottledOnlyWithAReadableRetryAfter) {
  EXPECT_EQ(ClassifyAnswer(503, std::nullopt, kNow), DeliveryAnswer{.kind = Kind::kFailed});
  for (const char* value : {"", " ", "later", "-1", "99999999999999999999999"}) {
    EXPECT_EQ(ClassifyAnswer(503, value, kNow), DeliveryAnswer{.kind = Kind::kFailed}) << value;
  }
  EXPECT_EQ(ClassifyAnswer(503, "120", kNow),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kNow + 120 * kSecond}));
  EXPECT_EQ(ClassifyAnswer(503, "Sun, 06 Nov 1994 08:49:37 GMT", kRfcDateMs - kMinute),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kRfcDateMs}));
  // "0" and a past date are readable: throttled, at the minimum wait.
  EXPECT_EQ(ClassifyAnswer(503, "0", kNow),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kNow + kSecond}));
  EXPECT_EQ(ClassifyAnswer(503, "Sun, 06 Nov 1994 08:49:37 GMT", kNow),
            (DeliveryAnswer{.kind = Kind::kThrottled, .retry_at_ms = kNow + kSecond}));
}

TEST(ClassifyAnswer, WaitsAreClampedToTheBounds) {
  for (int status : {429, 503}) {
    // Below the minimum: the minimum.
    EXPECT_EQ(ClassifyAnswer(status, "0", kNow).retry_at_ms, kNow + kSecond);
    EXPECT_EQ(ClassifyAnswer(status, "Thu, 01 Jan 1970 00:00:00 GMT", kNow).retry_at_ms,
              kNow + kSecond);
    EXPECT_EQ(ClassifyAnswer(status, "Sun, 06 Nov 1994 08:49:37 GMT", kRfcDateMs - 1).retry_at_ms,
              kRfcDateMs - 1 + kSecond);
    // At the bounds: as asked.
    EXPECT_EQ(ClassifyAnswer(status, "1", kNow).retry_at_ms, kNow + kSecond);
    EXPECT_EQ(ClassifyAnswer(status, "3600", kNow).retry_at_ms, kNow + kHour);
    // Above the maximum: the maximum.
    EXPECT_EQ(ClassifyAnswer(status, "3601", kNow).retry_at_ms, kNow + kHour);
    EXPECT_EQ(ClassifyAnswer(status, "31536000", kNow).retry_at_ms, kNow + kHour);
    EXPECT_EQ(ClassifyAnswer(status, "9223372036854775", kNow).retry_at_ms, kNow + kHour);
    EXPECT_EQ(ClassifyAnswer(status, "Fri, 31 Dec 9999 23:59:59 GMT", kNow).retry_at_ms,
              kNow + kHour);
  }
}

TEST(ClassifyAnswer, CustomBounds) {
  RetryAfterBounds bounds{.min_ms = 0, .max_ms = 10 * kSecond, .default_ms = 5 * kSecond};
  EXPECT_EQ(ClassifyAnswer(429, std::nullopt, kNow, bounds).retry_at_ms, kNow + 5 * kSecond);
  EXPECT_EQ(ClassifyAnswer(429, "0", kNow, bounds).retry_at_ms, kNow);
  EXPECT_EQ(ClassifyAnswer(429, "7", kNow, bounds).retry_at_ms, kNow + 7 * kSecond);
  EXPECT_EQ(ClassifyAnswer(429, "60", kNow, bounds).retry_at_ms, kNow + 10 * kSecond);
  EXPECT_EQ(ClassifyAnswer(503, "3", kNow, bounds).retry_at_ms, kNow + 3 * kSecond);

  // The default is held to the bounds as well.
  RetryAfterBounds narrow{.min_ms = kSecond, .max_ms = 2 * kSecond, .default_ms = 30 * kSecond};
  EXPECT_EQ(ClassifyAnswer(429, std::nullopt, kNow, narrow).retry_at_ms, kNow + 2 * kSecond);
  RetryAfterBounds high{.min_ms = kMinute, .max_ms = kHour, .default_ms = kSecond};
  EXPECT_EQ(ClassifyAnswer(429, "garbage", kNow, high).retry_at_ms, kNow + kMinute);

  // Inverted bounds are not undefined behaviour: the minimum wins.
  RetryAfterBounds inverted{.min_ms = 5 * kSecond, .max_ms = kSecond, .default_ms = 0};
  EXPECT_EQ(ClassifyAnswer(429, "3", kNow, inverted).retry_at_ms, kNow + 5 * kSecond);
  EXPECT_EQ(ClassifyAnswer(429, std::nullopt, kNow, inverted).retry_at_ms, kNow + 5 * kSecond);
}

TEST(ClassifyAnswer, RetryAtDoesNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ClassifyAnswer(429, "60", kMax - 10).retry_at_ms, kMax);
  EXPECT_EQ(ClassifyAnswer(429, std::nullopt, kMax).retry_at_ms, kMax);
}

TEST(ClassifyAnswer, KindNames) {
  EXPECT_EQ(KindName(Kind::kDelivered), "delivered");
  EXPECT_EQ(KindName(Kind::kFailed), "failed");
  EXPECT_EQ(KindName(Kind::kThrottled), "throttled");
  EXPECT_EQ(KindName(Kind::kGone), "gone");
}

}  // namespace
}  // namespace gatilho
