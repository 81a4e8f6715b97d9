#include "daemon/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <thread>

#include "daemon/delivery_sinks.h"
#include "schedule/learner.h"
#include "schedule/poll_policy.h"

namespace gatilho {

namespace {

// After a store error the loop waits this long before trying again, so a full disk is not
// hammered, and an operator has time to read the error line.
constexpr int64_t kStoreRetryMs = 5'000;
// How long the store must keep working after a failure before the daemon says it is back.
constexpr int64_t kStoreSteadyMs = 10'000;

void LogServerTrouble(bool trouble, const std::string& message) {
  if (trouble) {
    spdlog::error("{}", message);
  } else {
    spdlog::info("{}", message);
  }
}

SpoolCompanies SpoolCompaniesOf(const Config& config) {
  SpoolCompanies companies;
  for (const auto& [id, company] : config.companies)
    companies[id] = company.types;
  return companies;
}

}  // namespace

void Daemon::BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A webhook receiver closing its socket mid-write must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
}

Result<std::unique_ptr<Daemon>> Daemon::Create(const Config& config, Store& store, HttpClient& http,
                                               const Clock& clock, Options options) {
  Result<std::unique_ptr<ChangeNotifier>> notifier = ChangeNotifier::Listen(store.dir());
  if (!notifier.ok()) return notifier.status();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  int signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    return Status::IoError("signalfd: " + std::system_category().message(errno));
  }
  std::unique_ptr<Daemon> daemon(
      new Daemon(config, store, http, clock, options, std::move(*notifier), signal_fd));
  if (Status s = daemon->BuildWorkers(); !s.ok()) return s;
  if (Status s = daemon->StartSpool(); !s.ok()) return s;
  for (const std::string& warning : config.Warnings())
    spdlog::warn("{}", warning);
  if (!options.once) {
    if (Status s = daemon->StartApi(); !s.ok()) return s;
  }
  if (Status s = daemon->StartProxy(); !s.ok()) return s;
  return daemon;
}

Status Daemon::StartSpool() {
  if (config_.global.spool_dir.empty()) return Status::Ok();
  SpoolFolder::Options options;
  options.dir = config_.global.spool_dir;
  options.companies = SpoolCompaniesOf(config_);
  // The first poll goes where the learned models say documents usually finish, as for
  // `gatilho watch`; a file's watches share one time, the earliest of its types'.
  auto policy = std::make_shared<PollPolicy>(PollPolicy::Defaults());
  Learner learner(policy.get(), Learner::Options{});
  if (Result<std::vector<ModelRecord>> models = store_.Models(); models.ok()) {
    for (const ModelRecord& model : *models)
      learner.Load(model.company, model.type, model.bytes);
  }
  options.first_poll = [policy](const std::vector<WatchKey>& keys, int64_t now) {
    int64_t first = INT64_MAX;
    for (const WatchKey& key : keys)
      first = std::min(first, policy->FirstPoll(key.company, key.type, now));
    return keys.empty() ? now : first;
  };
  Result<std::unique_ptr<SpoolFolder>> spool =
      SpoolFolder::Create(std::move(options), store_, clock_, &inbox_);
  if (!spool.ok()) return spool.status();
  spool_ = std::move(*spool);
  if (options_.once) {
    spool_->TakeAll();
    return Status::Ok();
  }
  return spool_->Start();
}

Status Daemon::BuildWorkers() {
  const Config& config = config_;
  OperatorNotifier::Options operator_options;
  operator_options.url = config.global.operator_url;
  if (!config.global.operator_secret.empty()) {
    operator_options.secrets = {config.global.operator_secret};
  }
  Result<std::unique_ptr<OperatorNotifier>> operator_notifier =
      OperatorNotifier::Create(http_, clock_, operator_options);
  if (!operator_notifier.ok()) return operator_notifier.status();
  OperatorNotifier* notify = operator_notifier->get();

  Poller::Options poller_options;
  poller_options.max_in_flight = static_cast<size_t>(std::max(1, config.global.poll_concurrency));
  poller_options.budget_share = config.global.budget_share;
  poller_options.budget_floor = config.global.budget_floor;
  poller_options.on_token_blocked = [this, notify](const std::string& company, int http_status) {
    summary_.refused_companies.insert(company);
    notify->Notify("token_blocked",
                   {{"company", company}, {"http_status", std::to_string(http_status)}});
  };
  auto poller = std::make_unique<Poller>(store_, http_, clock_, config.companies,
                                         PollPolicy::Defaults(), poller_options);

  Dispatcher::Options dispatch_options;
  dispatch_options.retry.horizon_ms = int64_t{config.global.retry_horizon_hours} * 3600 * 1000;
  dispatch_options.breaker_alert_ms = int64_t{config.global.breaker_alert_minutes} * 60 * 1000;
  std::map<std::string, DeliverySink> sinks = DeliverySinks(config);
  dispatch_options.max_in_flight = DispatcherSlotsFor(sinks);
  Result<std::unique_ptr<Dispatcher>> dispatcher =
      Dispatcher::Create(store_, http_, clock_, std::move(sinks), dispatch_options, notify);
  if (!dispatcher.ok()) return dispatcher.status();

  auto feeds = std::make_unique<FeedFollower>(store_, http_, clock_, config.companies, *poller,
                                              FeedFollower::Options{});

  operator_notifier_ = std::move(*operator_notifier);
  poller_ = std::move(poller);
  feeds_ = std::move(feeds);
  dispatcher_ = std::move(*dispatcher);
  return Status::Ok();
}

Status Daemon::StartApi() {
  const GlobalConfig& global = config_.global;
  if (global.api_token.empty()) return Status::Ok();
  api_ =
      std::make_unique<LocalApi>(store_, std::make_shared<const Config>(config_), inbox_, clock_);
  HttpServer::Options server_options;
  server_options.address = global.api_address;
  server_options.port = global.api_port;
  server_options.max_body_bytes = static_cast<size_t>(global.api_max_body_kib) * 1024;
  server_options.name = "local API";
  server_options.on_trouble = LogServerTrouble;
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(server_options, api_->Handler());
  const std::string where = global.api_address.find(':') == std::string::npos
                                ? global.api_address + ":" + std::to_string(global.api_port)
                                : "[" + global.api_address + "]:" + std::to_string(global.api_port);
  if (!server.ok()) {
    api_.reset();
    // The server's message names the address and what to do; this adds which key sets it.
    return Status::IoError("the local API cannot start (api_listen in " + global.config_file +
                           "): " + server.status().message());
  }
  api_server_ = std::move(*server);
  const bool loopback = global.api_address.starts_with("127.") || global.api_address == "::1";
  if (!loopback) {
    spdlog::warn(
        "the local API listens on {}, which is not a loopback address: anything that reaches it "
        "can try the token. Set api_listen = 127.0.0.1:{} unless other hosts must call it",
        where, global.api_port);
  }
  spdlog::info("local API listening on {}; status page at http://{}/status", where, where);
  return Status::Ok();
}

void Daemon::MaybePublishFigures() {
  const int64_t now_mono = clock_.MonotonicMs();
  if (now_mono - published_mono_ms_ < kPublishEveryMs) return;
  published_mono_ms_ = now_mono;
  RuntimeFigures figures;
  figures.published_ms = clock_.WallMs();
  const Poller::Counters& polls = poller_->counters();
  figures.polls = summary_.polls.polls + polls.polls;
  figures.poll_failures = summary_.polls.failed + polls.failed;
  figures.rate_limited = summary_.polls.rate_limited + polls.rate_limited;
  figures.events = summary_.polls.events + polls.events;
  const Dispatcher::Counters& deliveries = dispatcher_->counters();
  figures.delivered = summary_.deliveries.delivered + deliveries.delivered;
  figures.delivery_failures = summary_.deliveries.failed_attempts + deliveries.failed_attempts;
  figures.dead = summary_.deliveries.dead + deliveries.dead;
  figures.tokens = poller_->Tokens();
  for (const Dispatcher::EndpointState& endpoint :
       dispatcher_->EndpointStates(figures.published_ms))
    figures.endpoints.push_back(EndpointFigures{endpoint.display, endpoint.breaker});
  LatencyHistogram latency = latency_;
  latency.Merge(dispatcher_->latency());
  figures.delivery_latency.bounds_seconds = latency.bounds_seconds();
  figures.delivery_latency.counts = latency.counts();
  figures.delivery_latency.sum_seconds = latency.sum_seconds();
  figures.delivery_latency.count = latency.count();
  inbox_.Publish(std::move(figures));
}

Daemon::Daemon(const Config& config, Store& store, HttpClient& http, const Clock& clock,
               Options options, std::unique_ptr<ChangeNotifier> notifier, int signal_fd)
    : config_(config),
      store_(store),
      http_(http),
      clock_(clock),
      options_(options),
      notifier_(std::move(notifier)),
      inbox_(http),
      signal_fd_(signal_fd) {}

Daemon::~Daemon() {
  StopProxy();
  close(signal_fd_);
}

Status Daemon::StartProxy() {
  const GlobalConfig& global = config_.global;
  if (global.proxy_port == 0 || options_.once) return Status::Ok();
  HttpForwarder::Options forward_options;
  forward_options.total_timeout_ms = int64_t{global.proxy_timeout_seconds} * 1000;
  Result<std::unique_ptr<HttpForwarder>> forwarder = HttpForwarder::Create(forward_options);
  if (!forwarder.ok()) return forwarder.status();
  forwarder_ = std::move(*forwarder);
  Proxy::Options proxy_options;
  proxy_options.upstream = global.proxy_upstream;
  proxy_ = std::make_unique<Proxy>(store_, inbox_, *forwarder_, clock_, proxy_options);
  proxy_->SetCompanies(config_.companies);

  HttpServer::Options server_options;
  server_options.address = global.proxy_address;
  server_options.port = global.proxy_port;
  server_options.max_body_bytes = size_t{static_cast<unsigned>(global.proxy_max_body_kib)} * 1024;
  // An upstream answer may take as long as the proxy lets it; the connection must wait too.
  server_options.idle_timeout_ms = std::max(30'000, global.proxy_timeout_seconds * 1000 + 5'000);
  server_options.name = "proxy";
  server_options.on_trouble = LogServerTrouble;
  Proxy* proxy = proxy_.get();
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      server_options, [proxy](const ServerRequest& request, ResponseWriter& writer) {
        proxy->Handle(request, writer);
      });
  if (!server.ok()) {
    return Status::IoError("the proxy cannot listen on " + global.proxy_address + ":" +
                           std::to_string(global.proxy_port) + " (" + server.status().message() +
                           "); free the port or change proxy_listen in " + global.config_file);
  }
  proxy_server_ = std::move(*server);
  const std::string shown = global.proxy_address.find(':') != std::string::npos
                                ? "[" + global.proxy_address + "]"
                                : global.proxy_address;
  spdlog::info(
      "proxy listening on {}:{}: an ERP whose API base URL is http://{}:{} reaches the API through "
      "gatilho; requests with no company's token go to {}",
      shown, global.proxy_port, shown, global.proxy_port,
      HttpForwarder::HostOf(global.proxy_upstream));
  if (!IsLoopbackAddress(global.proxy_address)) {
    spdlog::warn(
        "the proxy listens on {}, which is not loopback: the ERP's API token crosses the network "
        "in clear (plain HTTP) to reach it. Prefer proxy_listen = 127.0.0.1:{} with the ERP on "
        "this host",
        shown, global.proxy_port);
  }
  return Status::Ok();
}

void Daemon::StopProxy() {
  if (proxy_server_) {
    proxy_server_->Stop();
    proxy_server_.reset();
    spdlog::info("proxy stopped");
  }
}

Status Daemon::TakeProxyNews() {
  for (const ErpRequestSeen& seen : inbox_.TakeErpRequests())
    poller_->OnErpRequest(seen);
  for (const SyncAnswer& answer : inbox_.TakeSyncAnswers()) {
    if (Status s = poller_->OnSyncAnswer(answer); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<int64_t> Daemon::Turn(bool start_new_work) {
  if (inbox_.TakeStoreChanged()) OnStoreChanged();
  // Before the polls start, so a document the proxy just learned about is not polled for it.
  if (Status news = TakeProxyNews(); !news.ok()) return news;
  Status s = start_new_work ? poller_->MaybeFlush() : poller_->Flush();
  if (!s.ok()) return s;
  int64_t now = clock_.WallMs();
  int64_t wake_at = now + options_.max_sleep_ms;
  if (!start_new_work) return wake_at;

  s = poller_->Pump();
  if (!s.ok()) return s;
  s = feeds_->Pump();
  if (!s.ok()) return s;
  s = dispatcher_->Pump();
  if (!s.ok()) return s;
  operator_notifier_->Pump();
  wake_at = std::min(wake_at, MaybePrune());
  if (std::optional<int64_t> next_notice = operator_notifier_->NextWakeMs()) {
    wake_at = std::min(wake_at, *next_notice);
  }

  Result<std::optional<int64_t>> next_poll = poller_->NextWakeMs();
  if (!next_poll.ok()) return next_poll.status();
  if (next_poll->has_value()) wake_at = std::min(wake_at, **next_poll);
  if (std::optional<int64_t> next_feed = feeds_->NextWakeMs()) {
    wake_at = std::min(wake_at, *next_feed);
  }
  Result<std::optional<int64_t>> next_delivery = dispatcher_->NextWakeMs();
  if (!next_delivery.ok()) return next_delivery.status();
  if (next_delivery->has_value()) wake_at = std::min(wake_at, **next_delivery);
  if (api_server_) {
    MaybePublishFigures();
    wake_at = std::min(wake_at, now + 5 * kPublishEveryMs);
  }
  return wake_at;
}

int64_t Daemon::MaybePrune() {
  int64_t now_mono = clock_.MonotonicMs();
  int64_t now = clock_.WallMs();
  if (now_mono < next_prune_mono_ms_) return now + (next_prune_mono_ms_ - now_mono);
  const int64_t retention_ms = int64_t{config_.global.attempt_retention_days} * 24 * 3600 * 1000;
  Result<bool> more = dispatcher_->Prune(retention_ms);
  if (!more.ok()) {
    spdlog::warn("retention could not prune the store: {}; trying again later",
                 more.status().ToString());
  }
  // A large backlog of old events is removed in slices, a second apart, so that a first run
  // after an upgrade does not hold the loop for long.
  int64_t wait = more.ok() && *more ? 1'000 : options_.prune_every_ms;
  next_prune_mono_ms_ = now_mono + wait;
  return now + wait;
}

Status Daemon::Wait(int64_t wake_at_ms, bool* stop_requested, bool* reload_requested) {
  int64_t timeout = std::clamp<int64_t>(wake_at_ms - clock_.WallMs(), 0, options_.max_sleep_ms);
  std::vector<HttpClient::WaitFd> fds = {{signal_fd_, false}, {notifier_->fd(), false}};
  Status s = http_.Poll(static_cast<int>(timeout), &fds);
  if (!s.ok()) return s;
  if (fds[0].ready) {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGHUP) {
        *reload_requested = true;
        continue;
      }
      spdlog::info("signal {} received: finishing requests in flight, then stopping",
                   static_cast<int>(info.ssi_signo));
      *stop_requested = true;
    }
  }
  if (fds[1].ready && notifier_->Drain()) OnStoreChanged();
  return Status::Ok();
}

void Daemon::OnStoreChanged() {
  spdlog::debug("the store changed; re-reading");
  poller_->ForgetDueBatch();
  if (Status reloaded = dispatcher_->ReloadEndpoints(); !reloaded.ok()) {
    spdlog::warn("could not re-read the endpoint records: {}", reloaded.ToString());
  }
}

std::optional<Config> Daemon::ReloadedConfig() const {
  Result<Config> loaded = LoadConfig(config_.global.config_file);
  if (loaded.ok()) return std::move(*loaded);
  spdlog::error(
      "SIGHUP: the configuration has problems, so the running one stays in use; fix these and "
      "send SIGHUP again:\n{}",
      loaded.status().message());
  return std::nullopt;
}

Status Daemon::Reload() {
  std::optional<Config> loaded = ReloadedConfig();
  if (!loaded.has_value()) return Status::Ok();
  if (loaded->global.data_dir != config_.global.data_dir) {
    spdlog::error(
        "SIGHUP: data_dir changed from {} to {}; a running daemon keeps its store, so the "
        "running configuration stays in use. Restart gatilho to move the store",
        config_.global.data_dir, loaded->global.data_dir);
    return Status::Ok();
  }
  // Before anything is committed: a higher cap may be what lets the commits below succeed.
  store_.SetMaxMapBytes(StoreMaxBytes(loaded->global));
  // The poller and the dispatcher are rebuilt from the new files, so none of their transfers
  // may outlive them: everything in flight is finished first. Request timeouts bound the wait.
  while (http_.InFlight() > 0) {
    if (Status s = http_.Poll(100, nullptr); !s.ok()) return s;
  }
  if (Status s = poller_->Flush(); !s.ok()) return s;
  if (Status s = poller_->Checkpoint(); !s.ok()) return s;
  AddToSummary();

  std::vector<std::string> added, removed;
  for (const auto& [id, company] : loaded->companies) {
    if (config_.companies.count(id) == 0) added.push_back(id);
  }
  for (const auto& [id, company] : config_.companies) {
    if (loaded->companies.count(id) == 0) removed.push_back(id);
  }
  // A warning already shown at start or at an earlier reload is not repeated at every SIGHUP.
  std::vector<std::string> shown = config_.Warnings();
  for (const std::string& warning : loaded->Warnings()) {
    if (std::find(shown.begin(), shown.end(), warning) == shown.end()) {
      spdlog::warn("SIGHUP: {}", warning);
    }
  }
  Config previous = std::move(config_);
  config_ = std::move(*loaded);
  if (api_) {
    // TODO(reload): api_listen and api_max_body_kib are read at start; a reload changes the
    // companies and the token only. A reload that removes api_token_file keeps the old token
    // rather than leave a running API with none.
    if (config_.global.api_token.empty()) {
      spdlog::warn(
          "SIGHUP: api_token_file is gone from {}, but the local API keeps running "
          "with its token until gatilho restarts",
          config_.global.config_file);
      config_.global.api_token = previous.global.api_token;
    }
    api_->SetConfig(std::make_shared<const Config>(config_));
  }
  // The workers hold references into config_; the old ones go before they could dangle.
  dispatcher_.reset();
  feeds_.reset();
  poller_.reset();
  operator_notifier_.reset();
  if (Status s = BuildWorkers(); !s.ok()) {
    spdlog::error("SIGHUP: the new configuration cannot be used ({}); going on with the old one",
                  s.ToString());
    config_ = std::move(previous);
    if (api_) api_->SetConfig(std::make_shared<const Config>(config_));
    return BuildWorkers();
  }
  // Whoever sends SIGHUP after editing [received] wants to see the feeds at work now.
  feeds_->FetchAllNow();
  if (spool_) spool_->SetCompanies(SpoolCompaniesOf(config_));
  if (config_.global.spool_dir != previous.global.spool_dir) {
    // TODO(reload): the spool intake keeps its folder until a restart.
    spdlog::warn(
        "SIGHUP: spool_dir changed from '{}' to '{}'; the spool folder changes only when gatilho "
        "restarts",
        previous.global.spool_dir, config_.global.spool_dir);
  }
  if (proxy_) proxy_->SetCompanies(config_.companies);
  auto join = [](const std::vector<std::string>& ids) {
    std::string out;
    for (const std::string& id : ids)
      out += (out.empty() ? "" : ",") + id;
    return out.empty() ? std::string("none") : out;
  };
  // TODO(reload): log_level, the HTTP client's connection limits and the proxy's proxy_*
  // settings are set at start; a reload does not change them (the proxy's companies it does).
  spdlog::info(
      "SIGHUP: configuration reloaded, {} companies (added: {}; removed: {}, their watches and "
      "events stay in the store)",
      config_.companies.size(), join(added), join(removed));
  return Status::Ok();
}

void Daemon::AddToSummary() {
  const Poller::Counters& polls = poller_->counters();
  summary_.polls.polls += polls.polls;
  summary_.polls.events += polls.events;
  summary_.polls.rate_limited += polls.rate_limited;
  summary_.polls.failed += polls.failed;
  const Dispatcher::Counters& deliveries = dispatcher_->counters();
  summary_.deliveries.delivered += deliveries.delivered;
  summary_.deliveries.failed_attempts += deliveries.failed_attempts;
  summary_.deliveries.throttled += deliveries.throttled;
  summary_.deliveries.dead += deliveries.dead;
  summary_.deliveries.superseded += deliveries.superseded;
  latency_.Merge(dispatcher_->latency());
}

Status Daemon::Drain() {
  if (spool_) spool_->Stop();
  // The ERP's requests in flight finish (the server waits for them); then their news is taken.
  StopProxy();
  if (Status news = TakeProxyNews(); !news.ok()) return news;
  int64_t deadline = clock_.MonotonicMs() + options_.drain_ms;
  while (http_.InFlight() > 0 && clock_.MonotonicMs() < deadline) {
    Status s = http_.Poll(100, nullptr);
    if (!s.ok()) return s;
  }
  Status s = poller_->Flush();
  if (!s.ok()) return s;
  s = poller_->Checkpoint();
  if (!s.ok()) return s;
  if (http_.InFlight() > 0) {
    spdlog::warn(
        "abandoned {} requests still in flight after {} ms; they will be repeated on "
        "the next start",
        http_.InFlight(), options_.drain_ms);
  }
  return Status::Ok();
}

void Daemon::ApplyStoreLimit() {
  std::optional<Config> loaded = ReloadedConfig();
  if (!loaded.has_value()) return;
  if (loaded->global.store_max_mib == config_.global.store_max_mib) return;
  store_.SetMaxMapBytes(StoreMaxBytes(loaded->global));
  spdlog::info(
      "SIGHUP: the store may now grow to {} MiB (store_max_mib); the rest of the "
      "configuration applies once the store takes writes again",
      loaded->global.store_max_mib);
}

void Daemon::NoteStoreHealth(const Status& status) {
  const int64_t now_mono = clock_.MonotonicMs();
  if (status.ok()) {
    if (store_failures_ == 0) return;
    if (store_ok_since_mono_ < 0) store_ok_since_mono_ = now_mono;
    // A full store still takes the odd small write in pages LMDB freed: only a store that kept
    // working for a while is announced as back, so a full disk is not a flood of ups and downs.
    if (now_mono - store_ok_since_mono_ < kStoreSteadyMs) return;
    store_ok_since_mono_ = -1;
    spdlog::info(
        "the store at {} accepts writes again after {} failed tries; polling and "
        "delivery go on",
        store_.dir(), store_failures_);
    store_failures_ = 0;
    store_failure_.clear();
    return;
  }
  ++store_failures_;
  store_ok_since_mono_ = -1;
  // A full disk fails every retry the same way: one line when it starts (or its cause changes),
  // not one every few seconds until an operator acts.
  std::string failure = status.ToString();
  if (failure == store_failure_) return;
  spdlog::error(
      "store error: {}; no new polls or deliveries start, what was committed stays, and the loop "
      "tries again every {} s. Free space on the disk, fix the permissions of {}, or raise "
      "store_max_mib",
      failure, kStoreRetryMs / 1000, store_.dir());
  store_failure_ = std::move(failure);
}

Status Daemon::Run() {
  spdlog::info("gatilho {} started: {} companies, store {}, {}", GATILHO_VERSION,
               config_.companies.size(), store_.dir(), options_.once ? "one pass" : "daemon");
  int64_t once_deadline = clock_.MonotonicMs() + options_.once_deadline_ms;
  bool stop = false;
  bool reload_pending = false;  // a SIGHUP that came while the store was failing
  while (!stop) {
    Result<int64_t> wake_at = Turn(/*start_new_work=*/true);
    NoteStoreHealth(wake_at.ok() ? Status::Ok() : wake_at.status());
    if (!wake_at.ok()) {
      if (options_.once) return wake_at.status();
      bool reload = false;
      Status s = Wait(clock_.WallMs() + kStoreRetryMs, &stop, &reload);
      if (!s.ok()) return s;
      // A SIGHUP now may be the operator's fix (a higher store_max_mib): that much applies at
      // once. The rest of a reload commits first, so it waits for the store to work again.
      if (reload) {
        ApplyStoreLimit();
        reload_pending = true;
      }
      continue;
    }
    // Until the store has proved steady again, look at it as often as while it failed.
    if (store_failures_ > 0) *wake_at = std::min(*wake_at, clock_.WallMs() + kStoreRetryMs);
    if (reload_pending && !stop) {
      reload_pending = false;
      if (Status reloaded = Reload(); !reloaded.ok()) return reloaded;
    }
    if (options_.once) {
      bool idle = http_.InFlight() == 0 && poller_->unflushed() == 0 && *wake_at > clock_.WallMs();
      if (idle) break;
      if (clock_.MonotonicMs() >= once_deadline) {
        spdlog::warn("one-pass run reached its {} s limit with work left; the next run goes on",
                     options_.once_deadline_ms / 1000);
        summary_.deadline_hit = true;
        break;
      }
    }
    bool reload = false;
    Status s = Wait(*wake_at, &stop, &reload);
    if (!s.ok()) return s;
    if (reload && !stop) {
      if (Status reloaded = Reload(); !reloaded.ok()) return reloaded;
    }
  }
  if (api_server_) {
    // First, so no request changes the store while what is in flight is committed.
    api_server_->Stop();
    spdlog::info("local API stopped");
  }
  Status s = Drain();
  AddToSummary();
  spdlog::info("gatilho stopped: {} polls, {} events, {} delivered, {} delivery failures, {} dead",
               summary_.polls.polls, summary_.polls.events, summary_.deliveries.delivered,
               summary_.deliveries.failed_attempts, summary_.deliveries.dead);
  return s;
}

}  // namespace gatilho
