#include "policy_simulation.h"

#include <algorithm>
#include <queue>
#include <tuple>

namespace gatilho::bench {
namespace {

struct InFlight {
  int64_t arrive_ms;
  uint64_t seq;  // ties answer in the order the polls were sent
  size_t doc;
  PollAnswer answer;

  bool operator>(const InFlight& other) const {
    return std::tie(arrive_ms, seq) > std::tie(other.arrive_ms, other.seq);
  }
};

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}

// Sends polls into the world: the server's verdict is taken at the moment of sending.
class Sender final : public PollSender {
 public:
  Sender(const PolicyWorld& world, const PolicySimulation::Options& options, ApiRateLimit& api,
         RunRecord& record,
         std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>>& in_flight)
      : world_(world), options_(options), api_(api), record_(record), in_flight_(in_flight) {}

  void Poll(size_t doc, int64_t now_ms) override {
    const Document& document = world_.documents()[doc];
    PollAnswer answer;
    answer.sent_ms = now_ms;
    answer.api = api_.Poll(document.token, now_ms);
    answer.done = now_ms >= document.done_ms;
    ++record_.polls[doc];
    ++sent_;
    if (now_ms < world_.scenario().intake_ms) ++record_.polls_in_intake;
    if (answer.api.accepted && answer.done && record_.detected_ms[doc] < 0) {
      record_.detected_ms[doc] = now_ms;
    }
    // The latency depends only on which poll of which document this is, so it is the same
    // whatever else the strategy does.
    const uint64_t h = Mix(doc * 1'000'003ull + static_cast<uint64_t>(record_.polls[doc]));
    const int64_t latency =
        options_.min_latency_ms + static_cast<int64_t>(h % static_cast<uint64_t>(std::max<int64_t>(
                                                               1, options_.latency_spread_ms)));
    in_flight_.push(InFlight{now_ms + latency, seq_++, doc, answer});
  }

  uint64_t sent() const { return sent_; }

 private:
  const PolicyWorld& world_;
  const PolicySimulation::Options& options_;
  ApiRateLimit& api_;
  RunRecord& record_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>>& in_flight_;
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace

PolicySimulation::PolicySimulation(const PolicyWorld& world, Options options)
    : world_(world), options_(options) {}

RunRecord PolicySimulation::Run(PolicyStrategy& strategy) {
  const std::vector<Document>& docs = world_.documents();
  RunRecord record;
  record.polls.assign(docs.size(), 0);
  record.detected_ms.assign(docs.size(), -1);
  record.split_ms = options_.split_ms;

  ApiRateLimit api(world_.token_count(), options_.limit, options_.window_ms, options_.erp_reserve);
  api.set_split_ms(options_.split_ms);
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> in_flight;
  Sender sender(world_, options_, api, record, in_flight);
  std::vector<size_t> erp_cursor(world_.token_count(), 0);

  size_t next_doc = 0;
  int64_t now = 0;
  int64_t wake = kNever;
  while (true) {
    const int64_t submit_at = next_doc < docs.size() ? docs[next_doc].submit_ms : kNever;
    const int64_t answer_at = in_flight.empty() ? kNever : in_flight.top().arrive_ms;
    const int64_t at = std::min({submit_at, answer_at, wake});
    if (at == kNever) break;

    // The ERP's requests up to this moment reach the server first (at a tie, before the poll).
    for (int token = 0; token < world_.token_count(); ++token) {
      const std::vector<int64_t>& erp = world_.erp_requests(token);
      size_t& cursor = erp_cursor[token];
      while (cursor < erp.size() && erp[cursor] <= at)
        api.ErpRequest(token, erp[cursor++]);
    }
    now = at;

    if (submit_at == at) {
      while (next_doc < docs.size() && docs[next_doc].submit_ms == at)
        strategy.OnSubmit(next_doc++, at);
    } else if (answer_at == at) {
      InFlight done = in_flight.top();
      in_flight.pop();
      strategy.OnAnswer(done.doc, at, done.answer);
    }
    const uint64_t sent_before = sender.sent();
    strategy.Pump(now, sender);
    wake = strategy.NextWakeMs(now);
    // A strategy that sent nothing yet wants to run again at once would spin forever: move it
    // on by a millisecond and count it, since it says the strategy's NextWakeMs is off.
    if (wake <= now && sender.sent() == sent_before && at == now) {
      ++record.spins;
      wake = now + 1;
    }
  }
  record.end_ms = now;
  record.api[0] = api.counters(0);
  record.api[1] = api.counters(1);
  return record;
}

}  // namespace gatilho::bench
