#include "daemon/feed_follower.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/url.h"

namespace gatilho {

namespace {

std::string Describe(const CompanyConfig& company, ReceivedFeed feed) {
  return "the " + std::string(ReceivedFeedName(feed)) + " received-document feed of company " +
         company.id;
}

}  // namespace

FeedFollower::FeedFollower(Store& store, HttpClient& http, const Clock& clock,
                           const std::map<std::string, CompanyConfig>& companies, Poller& poller,
                           Options options)
    : store_(store),
      http_(http),
      clock_(clock),
      poller_(poller),
      options_(options),
      wall_step_(clock) {
  std::map<std::string, std::string> follower_of;  // CursorKey parts -> the company following
  for (const auto& [id, company] : companies) {
    for (const std::string& name : company.received.feeds) {
      std::optional<ReceivedFeed> feed = ParseReceivedFeed(name);
      // Config accepts only the feeds fiscal knows; a name it does not is a bug, not input.
      if (!feed) continue;
      Feed followed;
      followed.company = &company;
      followed.feed = *feed;
      // Without an environment the API is told apart by its URL, shown without credentials.
      followed.key = FeedCursorKey{
          company.cnpj, name,
          company.environment.empty() ? UrlForDisplay(company.base_url) : company.environment};
      // The API keeps one cursor per CNPJ and feed, so two companies following it would each
      // advance the other's cursor and each miss what the other fetched.
      const std::string shared = followed.key.cnpj + '\0' + name + '\0' + followed.key.environment;
      auto [first, inserted] = follower_of.emplace(shared, id);
      if (!inserted) {
        spdlog::error(
            "companies {} and {} both follow the {} received-document feed of CNPJ {}; only {} "
            "follows it. Remove {} from received.feeds in {}",
            first->second, id, name, company.cnpj, first->second, name, company.source_file);
        continue;
      }
      feeds_.push_back(std::move(followed));
    }
  }
}

int64_t FeedFollower::IntervalMs(const Feed& feed) const {
  return int64_t{feed.company->received.interval_minutes} * 60 * 1000;
}

Status FeedFollower::Load() {
  int64_t now = clock_.WallMs();
  for (Feed& feed : feeds_) {
    Result<std::optional<FeedCursor>> cursor = store_.GetCursor(feed.key);
    if (!cursor.ok()) return cursor.status();
    if (cursor->has_value()) {
      feed.cursor = (*cursor)->versao;
      if (fetch_all_now_) {
        feed.next_due_ms = now;
        continue;
      }
      // A fetch time in the future (the clock was set back) must not silence the feed.
      feed.next_due_ms = std::min((*cursor)->fetched_ms, now) + IntervalMs(feed);
    } else {
      feed.next_due_ms = now;
    }
  }
  loaded_ = true;
  return Status::Ok();
}

Status FeedFollower::Pump() {
  if (!store_error_.ok()) {
    Status error = store_error_;
    store_error_ = Status::Ok();
    return error;
  }
  if (feeds_.empty()) return Status::Ok();
  if (!loaded_) {
    if (Status s = Load(); !s.ok()) return s;
  }
  if (std::optional<int64_t> step = wall_step_.Take()) {
    // Each feed keeps the wait it had left, whichever way the wall clock jumped.
    for (Feed& feed : feeds_)
      feed.next_due_ms += *step;
  }
  int64_t now = clock_.WallMs();
  for (Feed& feed : feeds_) {
    if (feed.in_flight || feed.next_due_ms > now) continue;
    // A credit refused now is asked for again at the next turn; the wake time accounts for it.
    if (!poller_.TryAcquireCredit(feed.company->id)) continue;
    Start(feed);
  }
  return Status::Ok();
}

void FeedFollower::Start(Feed& feed) {
  const CompanyConfig& company = *feed.company;
  HttpRequest request;
  request.url = ReceivedFeedUrl(company.base_url, feed.feed, company.cnpj, feed.cursor);
  request.basic_user = company.token;
  request.total_timeout_ms = options_.request_timeout_ms;
  request.headers.emplace_back("Accept", "application/json");
  request.keep_headers = {"rate-limit-limit", "rate-limit-remaining", "rate-limit-reset",
                          "x-total-count", "x-max-version"};
  feed.in_flight = true;
  ++in_flight_;
  ++counters_.fetches;
  Feed* target = &feed;
  http_.Start(std::move(request), [this, target](HttpResponse response) {
    target->in_flight = false;
    --in_flight_;
    OnAnswer(*target, response);
  });
}

void FeedFollower::Fail(Feed& feed, Health health, int64_t wait_ms, const std::string& why) {
  ++counters_.failed;
  ++feed.failures;
  feed.next_due_ms = clock_.WallMs() + wait_ms;
  if (feed.health == health) return;
  feed.health = health;
  const std::string what = Describe(*feed.company, feed.feed);
  switch (health) {
    case Health::kRefused:
      spdlog::error(
          "{}: the API refused the token ({}); the feed is paused for {} min. Fix token or "
          "token_file in {}",
          what, why, wait_ms / 60000, feed.company->source_file);
      break;
    case Health::kRateLimited:
      spdlog::warn(
          "{}: the API answered 429 (rate limit); the feed waits with the token's polls. If the "
          "ERP needs more of the limit, lower budget_share or raise received.interval_minutes",
          what);
      break;
    default:
      spdlog::warn("{} failed: {}; its cursor stays at {} and it is fetched again in {} s", what,
                   why, feed.cursor, wait_ms / 1000);
      break;
  }
}

void FeedFollower::OnAnswer(Feed& feed, const HttpResponse& response) {
  poller_.OnCreditResponse(feed.company->id, response);
  int64_t now = clock_.WallMs();
  int64_t backoff =
      std::min(IntervalMs(feed), options_.retry_ms << std::min<uint32_t>(feed.failures, 10));
  if (response.status == 401 || response.status == 403) {
    Fail(feed, Health::kRefused, options_.refused_pause_ms,
         "HTTP " + std::to_string(response.status));
    return;
  }
  if (response.status == 429) {
    // The token's budget is paused until the API's reset; the feed asks for credit again then.
    Fail(feed, Health::kRateLimited, 0, "HTTP 429");
    return;
  }
  if (response.status != 200) {
    std::string why =
        response.status == 0 ? response.error : "HTTP " + std::to_string(response.status);
    Fail(feed, Health::kFailing, backoff, why);
    return;
  }
  std::optional<std::string> total = response.Header("x-total-count");
  std::optional<std::string> max_version = response.Header("x-max-version");
  Result<ReceivedPage> page =
      ParseReceivedPage(feed.feed, feed.cursor, response.body,
                        total ? std::optional<std::string_view>(*total) : std::nullopt,
                        max_version ? std::optional<std::string_view>(*max_version) : std::nullopt);
  if (!page.ok()) {
    Fail(feed, Health::kFailing, backoff, page.status().message());
    return;
  }
  if (page->max_version_disagrees && feed.health == Health::kOk) {
    spdlog::debug(
        "{}: X-Max-Version {} differs from the highest versao {} of the items; the "
        "items' is kept",
        Describe(*feed.company, feed.feed), max_version.value_or(""), page->next_cursor);
  }

  std::vector<EventRecord> events;
  events.reserve(page->items.size());
  for (const ReceivedItem& item : page->items)
    events.push_back(ReceivedEvent(feed.company->id, feed.feed, item, now));
  Result<size_t> appended =
      store_.ApplyFeedPage(feed.key, FeedCursor{page->next_cursor, now}, events);
  if (!appended.ok()) {
    // Nothing was committed: the same page is asked for again after the store recovers.
    store_error_ = appended.status();
    feed.next_due_ms = now + options_.retry_ms;
    ++counters_.failed;
    return;
  }
  counters_.events += *appended;
  if (feed.health != Health::kOk) {
    spdlog::info("{} works again after {} failed fetches", Describe(*feed.company, feed.feed),
                 feed.failures);
  }
  feed.health = Health::kOk;
  feed.failures = 0;
  if (*appended > 0) {
    spdlog::info("{}: {} new or changed documents up to versao {}; their events are queued",
                 Describe(*feed.company, feed.feed), *appended, page->next_cursor);
  }
  feed.cursor = page->next_cursor;
  feed.next_due_ms = page->more ? now : now + IntervalMs(feed);
}

std::optional<int64_t> FeedFollower::NextWakeMs() const {
  std::optional<int64_t> next;
  if (!loaded_) return feeds_.empty() ? next : std::optional<int64_t>(clock_.WallMs());
  for (const Feed& feed : feeds_) {
    if (feed.in_flight) continue;
    int64_t at = std::max(feed.next_due_ms, poller_.NextCreditWallMs(feed.company->id));
    next = next ? std::min(*next, at) : at;
  }
  return next;
}

void FeedFollower::FetchAllNow() {
  fetch_all_now_ = true;  // for Load(), when the cursors are not read yet
  int64_t now = clock_.WallMs();
  for (Feed& feed : feeds_) {
    if (!feed.in_flight) feed.next_due_ms = now;
  }
}

}  // namespace gatilho
