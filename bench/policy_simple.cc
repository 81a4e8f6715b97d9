#include "policy_simple.h"

#include <algorithm>

namespace gatilho::bench {

SimpleStrategy::Options SimpleStrategy::Fixed(int64_t interval_ms) {
  Options options;
  options.name = "fixed-" + std::to_string(interval_ms / 1000) + "s";
  options.first_ms = interval_ms;
  options.interval_ms = interval_ms;
  return options;
}

SimpleStrategy::Options SimpleStrategy::Backoff(int64_t first_ms, int64_t max_interval_ms) {
  Options options;
  options.name = "backoff";
  options.first_ms = first_ms;
  options.interval_ms = first_ms * 2;
  options.growth = 2.0;
  options.max_interval_ms = max_interval_ms;
  return options;
}

SimpleStrategy::SimpleStrategy(const PolicyWorld& world, const PollPolicy& limits, Options options)
    : world_(world),
      limits_(limits),
      options_(std::move(options)),
      interval_ms_(world.documents().size(), 0),
      tokens_(world.token_count()) {}

void SimpleStrategy::Schedule(size_t doc, int64_t at_ms) {
  const Document& document = world_.documents()[doc];
  // The last poll lands on the maximum age, as gatilho's does.
  const int64_t deadline = document.submit_ms + limits_.For(document.type).max_age_ms;
  timers_.emplace(std::min(at_ms, deadline), doc);
}

void SimpleStrategy::OnSubmit(size_t doc, int64_t now_ms) {
  interval_ms_[doc] = options_.interval_ms;
  Schedule(doc, now_ms + options_.first_ms);
}

void SimpleStrategy::OnAnswer(size_t doc, int64_t now_ms, const PollAnswer& answer) {
  const Document& document = world_.documents()[doc];
  if (answer.api.accepted && answer.done) return;
  // The poll at the maximum age saw it processing (or was refused): the strategy gives up.
  if (answer.sent_ms >= document.submit_ms + limits_.For(document.type).max_age_ms) return;
  // The timer runs from the poll's sending; a slow answer does not push the next poll later
  // than that, but it never goes out before the answer is in.
  Schedule(doc, std::max(now_ms, answer.sent_ms + interval_ms_[doc]));
  int64_t next = static_cast<int64_t>(static_cast<double>(interval_ms_[doc]) * options_.growth);
  if (options_.max_interval_ms > 0) next = std::min(next, options_.max_interval_ms);
  interval_ms_[doc] = next;
}

int64_t SimpleStrategy::FreeAt(Token& token, int64_t now_ms) {
  while (!token.sent_ms.empty() && token.sent_ms.front() <= now_ms - options_.window_ms)
    token.sent_ms.pop_front();
  if (static_cast<int64_t>(token.sent_ms.size()) < options_.cap_per_window) return now_ms;
  return token.sent_ms[token.sent_ms.size() - options_.cap_per_window] + options_.window_ms;
}

void SimpleStrategy::Pump(int64_t now_ms, PollSender& sender) {
  while (!timers_.empty() && timers_.top().first <= now_ms) {
    const size_t doc = timers_.top().second;
    timers_.pop();
    tokens_[world_.documents()[doc].token].waiting.push_back(doc);
  }
  for (Token& token : tokens_) {
    while (!token.waiting.empty() && FreeAt(token, now_ms) <= now_ms) {
      token.sent_ms.push_back(now_ms);
      sender.Poll(token.waiting.front(), now_ms);
      token.waiting.pop_front();
    }
  }
}

int64_t SimpleStrategy::NextWakeMs(int64_t now_ms) {
  int64_t wake = timers_.empty() ? kNever : timers_.top().first;
  for (Token& token : tokens_) {
    if (!token.waiting.empty()) wake = std::min(wake, FreeAt(token, now_ms));
  }
  return wake;
}

}  // namespace gatilho::bench
