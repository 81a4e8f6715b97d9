// SimpleStrategy: the polling an integrator writes without a scheduler, for comparison.
//
// Every document is polled on its own timer: a fixed interval, or an exponential backoff (1 s,
// doubling, capped). The polls go through a naive limiter per token: at most `cap` requests in
// any window (the bridge's share, 80 of 100), the excess waiting in FIFO order. It does not read
// Rate-Limit-Remaining nor pause on a 429 (a refused poll just waits for its next turn), so when
// the ERP spends more than its part the strategy causes 429s and the ERP gets refused. It stops
// at the type's maximum age, like gatilho.
#pragma once

#include <cstdint>
#include <deque>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "policy_strategy.h"
#include "policy_world.h"
#include "schedule/poll_policy.h"

namespace gatilho::bench {

class SimpleStrategy final : public PolicyStrategy {
 public:
  struct Options {
    std::string name;
    int64_t first_ms = 2'000;     // first poll this long after submission
    int64_t interval_ms = 2'000;  // then every interval_ms...
    double growth = 1.0;          // ...multiplied by this after each poll (1 = fixed)
    int64_t max_interval_ms = 0;  // cap of the growing interval; 0 = none
    int64_t cap_per_window = 80;
    int64_t window_ms = 60'000;
  };

  static Options Fixed(int64_t interval_ms);
  static Options Backoff(int64_t first_ms, int64_t max_interval_ms);

  SimpleStrategy(const PolicyWorld& world, const PollPolicy& limits, Options options);

  std::string Name() const override { return options_.name; }
  void OnSubmit(size_t doc, int64_t now_ms) override;
  void OnAnswer(size_t doc, int64_t now_ms, const PollAnswer& answer) override;
  void Pump(int64_t now_ms, PollSender& sender) override;
  int64_t NextWakeMs(int64_t now_ms) override;

 private:
  struct Token {
    std::deque<size_t> waiting;   // due polls, oldest first
    std::deque<int64_t> sent_ms;  // sends of the last window
  };
  using Timer = std::pair<int64_t, size_t>;  // (due, document)

  void Schedule(size_t doc, int64_t at_ms);
  // When `token` may send again (now_ms if it may now).
  int64_t FreeAt(Token& token, int64_t now_ms);

  const PolicyWorld& world_;
  const PollPolicy& limits_;
  Options options_;
  std::vector<int64_t> interval_ms_;  // per document: the current interval
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<Token> tokens_;
};

}  // namespace gatilho::bench
