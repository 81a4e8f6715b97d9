// PolicyStrategy: what the policy benchmark asks of a polling strategy, and how it polls.
//
// The simulation calls OnSubmit when the ERP hands a document over, Pump whenever something
// happened or the time the strategy asked for (NextWakeMs) has come, and OnAnswer when a poll's
// answer arrives. A strategy polls through the PollSender; it never sees the truth about a
// document except through answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "policy_api.h"

namespace gatilho::bench {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct PollAnswer {
  int64_t sent_ms = 0;
  bool done = false;  // the document had finished when the server handled the poll
  ApiAnswer api;      // api.accepted false: a 429, and `done` means nothing
};

class PollSender {
 public:
  virtual ~PollSender() = default;
  // Sends a poll of document `doc` at now_ms; its answer arrives later through OnAnswer.
  virtual void Poll(size_t doc, int64_t now_ms) = 0;
};

class PolicyStrategy {
 public:
  virtual ~PolicyStrategy() = default;
  virtual std::string Name() const = 0;
  virtual void OnSubmit(size_t doc, int64_t now_ms) = 0;
  virtual void OnAnswer(size_t doc, int64_t now_ms, const PollAnswer& answer) = 0;
  virtual void Pump(int64_t now_ms, PollSender& sender) = 0;
  // When Pump should run next without anything else happening; kNever when idle.
  virtual int64_t NextWakeMs(int64_t now_ms) = 0;
};

}  // namespace gatilho::bench
