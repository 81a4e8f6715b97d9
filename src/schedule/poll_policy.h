// PollPolicy: when to poll a document, as a pure function of its type, its age and time.
//
// Each document type has a schedule measured from the start of its cycle: dense early, where
// most documents finish, sparse later, and a maximum age after which the bridge gives up with a
// `timeout` event. After a cycle ends in a state that can still change (autorizado), the
// document is followed at a low rate for the type's legal window (cancellation, CC-e...).
//
// A company may have learned processing offsets for a type (SetCompanyOffsets, written by the
// Learner); the company-aware overloads use them in place of the type's offsets. The type's
// then_every_ms, max_age_ms and follow rules apply to every company alike.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/document_type.h"

namespace gatilho {

struct TypeSchedule {
  std::vector<int64_t> offsets_ms;  // polls at cycle start + each offset; ascending
  int64_t then_every_ms = 0;        // after the last offset, one poll every this long
  int64_t max_age_ms = 0;           // still processing at this age: the cycle ends in `timeout`
  int64_t follow_every_ms = 0;      // poll interval while following
  int64_t follow_window_ms = 0;     // how long after the cycle's end to follow; 0 = not at all
};

class PollPolicy {
 public:
  // Schedules derived from the API's documented timings (see README, "Polling policy").
  static PollPolicy Defaults();

  const TypeSchedule& For(DocType type) const;
  void Set(DocType type, TypeSchedule schedule);

  // How long a ref may keep answering 404 before the cycle ends in `nao_encontrado`.
  int64_t not_found_grace_ms() const { return not_found_grace_ms_; }
  void set_not_found_grace_ms(int64_t ms) { not_found_grace_ms_ = ms; }

  // The first poll of a cycle that started at `cycle_started_ms`: start + offsets_ms[0].
  int64_t FirstPoll(DocType type, int64_t cycle_started_ms) const;

  // The poll after `poll_count` polls of a still-processing document: start +
  // offsets_ms[poll_count], then one every then_every_ms after the last offset. Slots that are
  // not after now_ms (the polls ran late) are skipped, so the result is after now_ms; it is
  // never after start + max_age_ms, so the last poll lands at the maximum age. Once that age is
  // reached it returns now_ms: the caller polls once more and ends the cycle in `timeout`.
  int64_t NextProcessingPoll(DocType type, int64_t cycle_started_ms, uint32_t poll_count,
                             int64_t now_ms) const;

  // Replaces the processing offsets of (company, type) with `offsets_ms` (sorted, duplicates
  // and non-positive values dropped); an empty list (or one left empty) reverts the company to
  // the type's offsets.
  void SetCompanyOffsets(const std::string& company, DocType type, std::vector<int64_t> offsets_ms);

  // The processing offsets the company-aware overloads use for (company, type): the learned
  // ones when set, otherwise For(type).offsets_ms.
  const std::vector<int64_t>& OffsetsFor(std::string_view company, DocType type) const;

  // FirstPoll for a document of `company`: start + OffsetsFor(company, type)[0], never after
  // start + max_age_ms.
  int64_t FirstPoll(std::string_view company, DocType type, int64_t cycle_started_ms) const;

  // NextProcessingPoll for a document of `company`, on OffsetsFor(company, type). The slot is
  // chosen by age, not by count: the first offset whose time is strictly after now_ms (now_ms
  // being when the last poll was answered), then the then_every_ms grid after the last offset,
  // never after start + max_age_ms; once that age is reached it returns now_ms. So a schedule
  // replaced mid-cycle neither repeats nor skips ages. `poll_count` is accepted for symmetry
  // with the type-only overload and does not affect the result. With on-time polls and no
  // learned offsets it returns what the type-only overload returns.
  int64_t NextProcessingPoll(std::string_view company, DocType type, int64_t cycle_started_ms,
                             uint32_t poll_count, int64_t now_ms) const;

  // The next poll of a followed document whose cycle ended at `cycle_ended_ms`: now_ms +
  // follow_every_ms, but no later than the window's end, so the last poll lands on it. Nullopt
  // when the window is over (now_ms at or past its end) or is 0, and the watch is done.
  std::optional<int64_t> NextFollowPoll(DocType type, int64_t cycle_ended_ms, int64_t now_ms) const;

  // The delay after the `error_streak`-th consecutive poll without a usable answer (5xx,
  // timeout, garbage): grows with the streak, capped, never zero.
  int64_t ErrorBackoff(uint32_t error_streak) const;

 private:
  std::array<TypeSchedule, 8> schedules_{};  // indexed by DocType's value
  // Learned offsets per company, indexed by DocType's value; an empty vector means "the type's".
  std::map<std::string, std::array<std::vector<int64_t>, 8>, std::less<>> company_offsets_;
  int64_t not_found_grace_ms_ = 10 * 60 * 1000;
};

}  // namespace gatilho
