#include "schedule/schedule_optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace gatilho {
namespace {

constexpr int64_t kDenseStepMs = 100;
constexpr int64_t kDenseUntilMs = 2'000;
constexpr int kMinGridPoints = 4;

// Sub-steps per grid cell when integrating s dF: a completion mass narrower than a cell (a
// company whose documents all finish at 1.5 s) would otherwise be placed at the cell's middle.
constexpr int kSubSteps = 4;

// Ages to consider polling at, ascending, distinct, the last = max_age_ms: fixed steps while
// most fast completions happen, then geometric, so the grid's resolution is a constant
// fraction of the age, like the uncertainty about when a document finishes.
std::vector<int64_t> Grid(int64_t max_age_ms, int grid_points) {
  grid_points = std::max(grid_points, kMinGridPoints);
  std::vector<int64_t> grid;
  grid.reserve(static_cast<size_t>(grid_points));
  const int dense_cap = grid_points / 2;
  for (int64_t at = kDenseStepMs;
       at < max_age_ms && at <= kDenseUntilMs && static_cast<int>(grid.size()) < dense_cap;
       at += kDenseStepMs) {
    grid.push_back(at);
  }
  const int64_t from = grid.empty() ? 0 : grid.back();
  const int remaining = grid_points - static_cast<int>(grid.size());
  if (from > 0 && max_age_ms > from) {
    const double ratio =
        std::pow(static_cast<double>(max_age_ms) / static_cast<double>(from), 1.0 / remaining);
    for (int k = 1; k <= remaining; ++k) {
      const auto at =
          static_cast<int64_t>(std::llround(static_cast<double>(from) * std::pow(ratio, k)));
      if (at > grid.back() && at < max_age_ms) grid.push_back(at);
    }
  } else if (from == 0) {
    // A maximum age within the first step: evenly spaced is all that can be done.
    for (int k = 1; k < remaining; ++k) {
      const int64_t at = max_age_ms * k / remaining;
      if (at > 0 && (grid.empty() || at > grid.back())) grid.push_back(at);
    }
  }
  if (grid.empty() || grid.back() < max_age_ms) grid.push_back(max_age_ms);
  return grid;
}

}  // namespace

ScheduleOptimizer::Result ScheduleOptimizer::Optimize(const Cdf& cdf, double poll_cost_ms,
                                                      int64_t max_age_ms, int grid_points,
                                                      int64_t tail_every_ms) {
  Result result;
  if (max_age_ms <= 0) {
    result.offsets_ms = {std::max<int64_t>(max_age_ms, 0)};
    result.expected_polls = 1;
    return result;
  }
  poll_cost_ms = std::max(poll_cost_ms, 0.0);

  // Point 0 is the cycle's start (no poll there); points 1..n are candidate poll ages.
  std::vector<int64_t> ages = Grid(max_age_ms, grid_points);
  ages.insert(ages.begin(), 0);
  const size_t n = ages.size();

  // f[k] = P(done by ages[k]); s[k] = the integral of age dF over (0, ages[k]]. With both as
  // prefix sums, the expected delay of the documents caught by a poll at ages[j] after one at
  // ages[i] is ages[j] * (f[j] - f[i]) - (s[j] - s[i]), so each transition costs O(1).
  std::vector<double> f(n, 0.0);
  std::vector<double> s(n, 0.0);
  for (size_t k = 1; k < n; ++k) {
    double previous_f = f[k - 1];
    double integral = 0;
    for (int step = 1; step <= kSubSteps; ++step) {
      const int64_t lo = ages[k - 1] + (ages[k] - ages[k - 1]) * (step - 1) / kSubSteps;
      const int64_t hi = ages[k - 1] + (ages[k] - ages[k - 1]) * step / kSubSteps;
      const double at_hi = step == kSubSteps ? std::clamp(cdf(ages[k]), previous_f, 1.0)
                                             : std::clamp(cdf(hi), previous_f, 1.0);
      integral += (at_hi - previous_f) * 0.5 * static_cast<double>(lo + hi);
      previous_f = at_hi;
    }
    f[k] = previous_f;
    s[k] = s[k - 1] + integral;
  }

  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> best(n, infinity);
  std::vector<size_t> previous(n, 0);
  best[0] = 0;
  for (size_t j = 1; j < n; ++j) {
    const auto t_j = static_cast<double>(ages[j]);
    for (size_t i = 0; i < j; ++i) {
      if (best[i] == infinity) continue;
      const double delay = t_j * (f[j] - f[i]) - (s[j] - s[i]);
      const double cost = best[i] + poll_cost_ms * (1.0 - f[i]) + delay;
      if (cost < best[j]) {
        best[j] = cost;
        previous[j] = i;
      }
    }
  }

  // With a tail, stopping after any point k is an option: g[k] = the integral of (1 - F) over
  // (0, ages[k]], so g[n-1] - g[k] is how long, in expectation, a document keeps processing
  // after ages[k] (within the maximum age): the tail polls it every tail_every_ms meanwhile.
  size_t end = n - 1;
  double tail_polls = 0;
  double tail_delay = 0;
  if (tail_every_ms > 0) {
    const auto tail = static_cast<double>(tail_every_ms);
    std::vector<double> g(n, 0.0);
    for (size_t k = 1; k < n; ++k) {
      g[k] =
          g[k - 1] + static_cast<double>(ages[k] - ages[k - 1]) * (1.0 - 0.5 * (f[k - 1] + f[k]));
    }
    // On a tie, stopping early wins: the policy polls at the maximum age in any case.
    double best_total = best[n - 1] + 1e-6;
    for (size_t k = 0; k < n - 1; ++k) {
      if (best[k] == infinity) continue;
      const double polls = (g[n - 1] - g[k]) / tail + 0.5 * (1.0 - f[k]);
      const double delay = (f[n - 1] - f[k]) * 0.5 * tail;
      const double total = best[k] + poll_cost_ms * polls + delay;
      if (total < best_total) {
        best_total = total;
        end = k;
        tail_polls = polls;
        tail_delay = delay;
      }
    }
  }

  std::vector<size_t> chosen;
  for (size_t k = end; k != 0; k = previous[k])
    chosen.push_back(k);
  std::reverse(chosen.begin(), chosen.end());

  double delay_total = 0;
  size_t last = 0;
  for (size_t k : chosen) {
    result.offsets_ms.push_back(ages[k]);
    result.expected_polls += 1.0 - f[last];
    delay_total += static_cast<double>(ages[k]) * (f[k] - f[last]) - (s[k] - s[last]);
    last = k;
  }
  result.expected_polls += tail_polls;
  delay_total += tail_delay;
  result.expected_delay_ms = f[n - 1] > 0 ? delay_total / f[n - 1] : 0;
  return result;
}

double ScheduleOptimizer::CostForPolls(const Cdf& cdf, double target_polls, int64_t max_age_ms) {
  // Expected polls fall as the cost rises, over many orders of magnitude, so the bisection runs
  // on log(cost) between a cost so low that every grid point is worth a poll and one so high
  // that only the final poll at the maximum age is.
  double lo = std::log(1e-3);
  double hi = std::log(std::max(1e3, 1e3 * static_cast<double>(max_age_ms)));
  for (int iteration = 0; iteration < 50; ++iteration) {
    const double mid = 0.5 * (lo + hi);
    if (Optimize(cdf, std::exp(mid), max_age_ms).expected_polls > target_polls) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return std::exp(0.5 * (lo + hi));
}

}  // namespace gatilho
