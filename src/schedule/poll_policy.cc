#include "schedule/poll_policy.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace gatilho {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

constexpr int64_t kErrorBackoffBaseMs = 5 * kSecond;
constexpr int64_t kErrorBackoffCapMs = 5 * kMinute;

size_t Slot(DocType type) {
  return static_cast<size_t>(type);
}

}  // namespace

// These numbers are priors taken from what the API documents (focus-api.md sections 2 and 7);
// the adaptive learner is meant to refine them from observed completion times.
//
// - SEFAZ types (NF-e, CT-e, MDF-e, NFCom) usually authorise within seconds but "several
//   minutes" is normal, so polls are dense in the first minute and thin out to every 5 minutes.
// - NFC-e is synchronous: the ERP already holds the result when it asks us to watch, so the
//   first poll comes at once and finds it final; the rest only matter if something odd happens.
// - Municipal NFS-e depends on the city hall and can take hours, hence the slow start, the
//   10-minute tail and three days before giving up. NFS-e Nacional is a single national
//   service that the docs describe as "a few minutes".
// - Follow windows are the legal windows for later changes: cancellation (24 h for NF-e and
//   NFCom, 7 days for CT-e), NFC-e contingency effectivation (24 h), MDF-e encerramento (no
//   fixed deadline; 30 days covers a long trip) and city-dependent NFS-e cancellations. The
//   follow rate trades a later webhook for a cancellation against credits taken from pending
//   documents, which matter more.
PollPolicy PollPolicy::Defaults() {
  const std::vector<int64_t> sefaz_offsets = {
      2 * kSecond,  4 * kSecond,  7 * kSecond,  12 * kSecond, 20 * kSecond, 30 * kSecond,
      45 * kSecond, 60 * kSecond, 90 * kSecond, 2 * kMinute,  3 * kMinute,  5 * kMinute};
  auto sefaz = [&](int64_t follow_window_ms, int64_t follow_every_ms) {
    return TypeSchedule{sefaz_offsets, 5 * kMinute, kDay, follow_every_ms, follow_window_ms};
  };

  PollPolicy policy;
  policy.Set(DocType::kNfe, sefaz(kDay, 30 * kMinute));
  policy.Set(DocType::kCte, sefaz(7 * kDay, 2 * kHour));
  policy.Set(DocType::kMdfe, sefaz(30 * kDay, 6 * kHour));
  policy.Set(DocType::kNfcom, sefaz(kDay, 30 * kMinute));
  policy.Set(DocType::kNfce,
             TypeSchedule{{1 * kSecond, 3 * kSecond, 10 * kSecond, 30 * kSecond, 60 * kSecond},
                          5 * kMinute,
                          kDay,
                          30 * kMinute,
                          kDay});
  policy.Set(DocType::kNfse, TypeSchedule{{10 * kSecond, 30 * kSecond, 60 * kSecond, 2 * kMinute,
                                           5 * kMinute, 10 * kMinute},
                                          10 * kMinute,
                                          3 * kDay,
                                          2 * kHour,
                                          7 * kDay});
  policy.Set(DocType::kNfsen, TypeSchedule{{5 * kSecond, 15 * kSecond, 30 * kSecond, 60 * kSecond,
                                            2 * kMinute, 5 * kMinute},
                                           5 * kMinute,
                                           2 * kDay,
                                           2 * kHour,
                                           7 * kDay});
  return policy;
}

const TypeSchedule& PollPolicy::For(DocType type) const {
  return schedules_.at(Slot(type));
}

void PollPolicy::Set(DocType type, TypeSchedule schedule) {
  schedules_.at(Slot(type)) = std::move(schedule);
}

int64_t PollPolicy::FirstPoll(DocType type, int64_t cycle_started_ms) const {
  return NextProcessingPoll(type, cycle_started_ms, 0, cycle_started_ms);
}

int64_t PollPolicy::NextProcessingPoll(DocType type, int64_t cycle_started_ms, uint32_t poll_count,
                                       int64_t now_ms) const {
  const TypeSchedule& schedule = For(type);
  const int64_t deadline = cycle_started_ms + schedule.max_age_ms;
  if (now_ms >= deadline) return now_ms;

  // Slots are walked from `poll_count` on and the ones already behind now are skipped: when
  // polls ran late (a short budget, a restart), catching up on missed slots would spend credits
  // on back-to-back polls of the same document that almost surely return the same answer.
  const size_t offset_count = schedule.offsets_ms.size();
  for (size_t i = poll_count; i < offset_count; ++i) {
    int64_t at = cycle_started_ms + schedule.offsets_ms[i];
    if (at > now_ms) return std::min(at, deadline);
  }
  if (schedule.then_every_ms <= 0) return deadline;

  // The tail is a regular grid after the last offset; the first grid point after now is also
  // the one the count would give had the polls been on time.
  const int64_t tail_start =
      cycle_started_ms + (offset_count == 0 ? 0 : schedule.offsets_ms.back());
  const int64_t polls_into_tail = poll_count > offset_count ? poll_count - offset_count : 0;
  int64_t at = tail_start + (polls_into_tail + 1) * schedule.then_every_ms;
  if (at <= now_ms) {
    at = tail_start + ((now_ms - tail_start) / schedule.then_every_ms + 1) * schedule.then_every_ms;
  }
  return std::min(at, deadline);
}

void PollPolicy::SetCompanyOffsets(const std::string& company, DocType type,
                                   std::vector<int64_t> offsets_ms) {
  std::sort(offsets_ms.begin(), offsets_ms.end());
  offsets_ms.erase(std::unique(offsets_ms.begin(), offsets_ms.end()), offsets_ms.end());
  offsets_ms.erase(offsets_ms.begin(),
                   std::upper_bound(offsets_ms.begin(), offsets_ms.end(), int64_t{0}));
  if (offsets_ms.empty()) {
    auto it = company_offsets_.find(company);
    if (it == company_offsets_.end()) return;
    it->second.at(Slot(type)).clear();
    // Dropping a company with nothing learned keeps the map as small as what was learned.
    if (std::all_of(it->second.begin(), it->second.end(),
                    [](const std::vector<int64_t>& offsets) { return offsets.empty(); })) {
      company_offsets_.erase(it);
    }
    return;
  }
  company_offsets_[company].at(Slot(type)) = std::move(offsets_ms);
}

const std::vector<int64_t>& PollPolicy::OffsetsFor(std::string_view company, DocType type) const {
  auto it = company_offsets_.find(company);
  if (it != company_offsets_.end() && !it->second.at(Slot(type)).empty()) {
    return it->second.at(Slot(type));
  }
  return For(type).offsets_ms;
}

int64_t PollPolicy::FirstPoll(std::string_view company, DocType type,
                              int64_t cycle_started_ms) const {
  return NextProcessingPoll(company, type, cycle_started_ms, 0, cycle_started_ms);
}

int64_t PollPolicy::NextProcessingPoll(std::string_view company, DocType type,
                                       int64_t cycle_started_ms, uint32_t /*poll_count*/,
                                       int64_t now_ms) const {
  const TypeSchedule& schedule = For(type);
  const std::vector<int64_t>& offsets = OffsetsFor(company, type);
  const int64_t deadline = cycle_started_ms + schedule.max_age_ms;
  if (now_ms >= deadline) return now_ms;

  // Counting polls would index a schedule that the learner may have replaced since the cycle
  // began (a poll count of 3 means something else in a denser schedule); the age of the last
  // poll means the same in any schedule, so the next slot is simply the first one after it.
  auto next = std::upper_bound(offsets.begin(), offsets.end(), now_ms - cycle_started_ms);
  if (next != offsets.end()) return std::min(cycle_started_ms + *next, deadline);
  if (schedule.then_every_ms <= 0) return deadline;

  const int64_t tail_start = cycle_started_ms + (offsets.empty() ? 0 : offsets.back());
  const int64_t at =
      tail_start + ((now_ms - tail_start) / schedule.then_every_ms + 1) * schedule.then_every_ms;
  return std::min(at, deadline);
}

std::optional<int64_t> PollPolicy::NextFollowPoll(DocType type, int64_t cycle_ended_ms,
                                                  int64_t now_ms) const {
  const TypeSchedule& schedule = For(type);
  if (schedule.follow_window_ms <= 0 || schedule.follow_every_ms <= 0) return std::nullopt;
  const int64_t window_end = cycle_ended_ms + schedule.follow_window_ms;
  if (now_ms >= window_end) return std::nullopt;
  // The last poll lands on the window's end rather than up to one interval before it, so a
  // change made just before the legal deadline (a last-minute cancellation) is still seen.
  return std::min(now_ms + schedule.follow_every_ms, window_end);
}

int64_t PollPolicy::ErrorBackoff(uint32_t error_streak) const {
  int64_t delay = kErrorBackoffBaseMs;
  // Doubling stops at the cap, which also keeps a very long streak from overflowing.
  for (uint32_t i = 1; i < error_streak && delay < kErrorBackoffCapMs; ++i)
    delay *= 2;
  return std::min(delay, kErrorBackoffCapMs);
}

}  // namespace gatilho
