#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace gatilho {

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

namespace {

constexpr char kUserAgent[] = "gatilho/" GATILHO_VERSION;

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Replaces every occurrence of `secret` in `text` with "***".
std::string Redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

// The password in a proxy URL's user:password@, or "" when it carries none. libcurl quotes the
// whole proxy URL in some of its errors ("Unsupported proxy syntax in '...'").
std::string_view ProxyPassword(std::string_view proxy) {
  size_t scheme = proxy.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::string_view authority = proxy.substr(start, proxy.find_first_of("/?#", start) - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view userinfo = authority.substr(0, at);
  size_t colon = userinfo.find(':');
  return colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1);
}

Status GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(result));
  }
  return Status::Ok();
}

// One request from Start() until its callback has run.
struct Transfer {
  HttpRequest request;
  HttpClient::Callback done;
  HttpResponse response;
  curl_slist* header_list = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  bool too_large = false;
  std::chrono::steady_clock::time_point started;

  Transfer(HttpRequest r, HttpClient::Callback d) : request(std::move(r)), done(std::move(d)) {}
  ~Transfer() { curl_slist_free_all(header_list); }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  // libcurl hands us the headers of every response it reads (100 Continue, a proxy's CONNECT
  // answer, then the real one); only the last response's headers describe the body we return.
  if (line.starts_with("HTTP/")) {
    transfer->response.headers.clear();
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name = Lowercase(Trim(line.substr(0, colon)));
  const std::vector<std::string>& keep = transfer->request.keep_headers;
  if (!keep.empty() && std::find(keep.begin(), keep.end(), name) == keep.end()) {
    return line.size();
  }
  transfer->response.headers.emplace_back(std::move(name),
                                          std::string(Trim(line.substr(colon + 1))));
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->request.max_response_bytes) {
    transfer->too_large = true;
    // Aborting at the bound, not after reading the whole body, is what limits the memory a
    // broken or hostile peer can make us hold.
    return 0;
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(CURLM* multi, const Options& options) : multi_(multi), options_(options) {}

  ~CurlHttpClient() override {
    for (auto& [easy, transfer] : active_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
    }
    for (CURL* easy : idle_handles_)
      curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void Start(HttpRequest request, Callback done) override {
    queued_.push_back(std::make_unique<Transfer>(std::move(request), std::move(done)));
  }

  Status Poll(int timeout_ms, std::vector<WaitFd>* extra) override {
    size_t finished = 0;
    if (Status s = Advance(&finished); !s.ok()) return s;

    std::vector<curl_waitfd> wait_fds;
    if (extra != nullptr) {
      for (WaitFd& wait_fd : *extra) {
        wait_fd.ready = false;
        wait_fds.push_back(curl_waitfd{wait_fd.fd, CURL_WAIT_POLLIN, 0});
      }
    }
    // Callbacks that already ran are the activity the caller waits for, and a request they
    // started must not wait out the whole timeout before it is sent.
    int wait_ms = finished > 0 || !queued_.empty() ? 0 : std::max(timeout_ms, 0);
    CURLMcode rc = curl_multi_poll(multi_, wait_fds.data(), static_cast<unsigned>(wait_fds.size()),
                                   wait_ms, nullptr);
    if (rc != CURLM_OK) {
      return Status::Internal(std::string("curl_multi_poll: ") + curl_multi_strerror(rc));
    }
    if (extra != nullptr) {
      for (size_t i = 0; i < wait_fds.size(); ++i) {
        (*extra)[i].ready = (wait_fds[i].revents & CURL_WAIT_POLLIN) != 0;
      }
    }
    return Advance(&finished);
  }

  void Wakeup() override { curl_multi_wakeup(multi_); }

  size_t InFlight() const override { return queued_.size() + active_.size(); }

 private:
  // Adds the queued requests, moves every transfer forward and runs the callbacks of those that
  // finished, adding their number to *finished_count.
  Status Advance(size_t* finished_count) {
    std::vector<std::unique_ptr<Transfer>> finished = AddQueued();
    int running = 0;
    CURLMcode rc = curl_multi_perform(multi_, &running);
    if (rc != CURLM_OK) {
      return Status::Internal(std::string("curl_multi_perform: ") + curl_multi_strerror(rc));
    }
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      CURLcode result = message->data.result;
      auto it = active_.find(easy);
      std::unique_ptr<Transfer> transfer = std::move(it->second);
      active_.erase(it);
      Complete(*transfer, easy, result);
      curl_multi_remove_handle(multi_, easy);
      Release(easy);
      finished.push_back(std::move(transfer));
    }
    // Callbacks run only after the bookkeeping above is consistent, because they may Start().
    *finished_count += finished.size();
    for (auto& transfer : finished)
      transfer->done(std::move(transfer->response));
    return Status::Ok();
  }

  // Hands the queued transfers to the multi handle; returns those that could not be started,
  // already completed with an error.
  std::vector<std::unique_ptr<Transfer>> AddQueued() {
    std::vector<std::unique_ptr<Transfer>> failed;
    std::vector<std::unique_ptr<Transfer>> queued;
    queued.swap(queued_);
    for (auto& transfer : queued) {
      CURL* easy = Acquire();
      if (easy == nullptr) {
        transfer->response.error = "cannot create a libcurl handle";
        transfer->response.never_sent = true;
        failed.push_back(std::move(transfer));
        continue;
      }
      CURLcode result = Configure(*transfer, easy);
      if (result == CURLE_OK && curl_multi_add_handle(multi_, easy) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
      }
      if (result != CURLE_OK) {
        Complete(*transfer, easy, result);
        Release(easy);
        failed.push_back(std::move(transfer));
        continue;
      }
      active_.emplace(easy, std::move(transfer));
    }
    return failed;
  }

  CURLcode Configure(Transfer& transfer, CURL* easy) {
    const HttpRequest& request = transfer.request;
    transfer.started = std::chrono::steady_clock::now();
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
    };
    set(CURLOPT_ERRORBUFFER, transfer.error_buffer);
    set(CURLOPT_URL, request.url.c_str());
    // Configuration or a careless caller could hand us file:// or other schemes; we speak HTTP.
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_ms));
    // A redirect is an answer for the caller to judge; following one could carry credentials
    // to another host.
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    set(CURLOPT_USERAGENT, kUserAgent);
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, &transfer);
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, &transfer);
    // Options are set only when asked for: the handle comes from curl_easy_reset(), so what is
    // not set here is libcurl's default, never the previous request's value. libcurl reuses a
    // cached connection (or TLS session) only when its proxy and TLS settings match these.
    if (request.basic_user.has_value()) {
      set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      set(CURLOPT_USERNAME, request.basic_user->c_str());
      set(CURLOPT_PASSWORD, request.basic_password.c_str());
    }
    if (!request.client_cert.empty()) {
      set(CURLOPT_SSLCERTTYPE, "PEM");
      set(CURLOPT_SSLCERT, request.client_cert.c_str());
    }
    if (!request.client_key.empty()) {
      set(CURLOPT_SSLKEYTYPE, "PEM");
      set(CURLOPT_SSLKEY, request.client_key.c_str());
    }
    if (!request.ca_bundle.empty()) set(CURLOPT_CAINFO, request.ca_bundle.c_str());
    if (!request.proxy.empty()) {
      // CURLOPT_PROTOCOLS_STR above restricts the target's scheme, not the proxy's: the proxy
      // URL's own scheme (http, https, socks5, socks5h) picks the proxy type.
      set(CURLOPT_PROXY, request.proxy.c_str());
      // A proxy configured for this target is meant for it; no_proxy in the environment must not
      // quietly send the request direct.
      set(CURLOPT_NOPROXY, "");
    }

    if (request.method == "GET") {
      set(CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      // A custom HEAD would make libcurl wait for a body that never comes.
      set(CURLOPT_NOBODY, 1L);
    } else {
      if (request.method != "POST") set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.method == "POST" || !request.body.empty()) {
        // The body lives in the transfer until the callback, so libcurl need not copy it.
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        set(CURLOPT_POSTFIELDS, request.body.data());
      }
    }

    for (const auto& [name, value] : request.headers) {
      // "Name:" would tell libcurl to drop the header; "Name;" sends it empty.
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* grown = curl_slist_append(transfer.header_list, line.c_str());
      if (grown == nullptr) return CURLE_OUT_OF_MEMORY;
      transfer.header_list = grown;
    }
    if (!request.body.empty()) {
      // libcurl would otherwise send "Expect: 100-continue" for larger bodies and wait up to a
      // second for a go-ahead many servers never send.
      curl_slist* grown = curl_slist_append(transfer.header_list, "Expect:");
      if (grown == nullptr) return CURLE_OUT_OF_MEMORY;
      transfer.header_list = grown;
    }
    set(CURLOPT_HTTPHEADER, transfer.header_list);
    return rc;
  }

  void Complete(Transfer& transfer, CURL* easy, CURLcode result) {
    HttpResponse& response = transfer.response;
    response.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - transfer.started)
                               .count();
    if (result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      return;
    }
    std::string error;
    if (transfer.too_large) {
      error =
          "response larger than " + std::to_string(transfer.request.max_response_bytes) + " bytes";
    } else if (transfer.error_buffer[0] != '\0') {
      error = transfer.error_buffer;
    } else {
      error = curl_easy_strerror(result);
    }
    // libcurl's "SSL certificate problem: ..." does not say that it refused the server, which
    // is what the operator has to act on.
    const bool certificate_rejected = result == CURLE_PEER_FAILED_VERIFICATION;
    if (certificate_rejected) error = "TLS certificate verification failed: " + error;
    // A half-read answer is not an answer: callers see only the error.
    int64_t duration_ms = response.duration_ms;
    response = HttpResponse{};
    response.duration_ms = duration_ms;
    response.certificate_rejected = certificate_rejected;
    // libcurl reports a socket it could not open (the descriptor limit) as a failed connect.
    response.never_sent = result == CURLE_COULDNT_CONNECT || result == CURLE_COULDNT_RESOLVE_HOST ||
                          result == CURLE_COULDNT_RESOLVE_PROXY || result == CURLE_FAILED_INIT;
    // libcurl's messages are not written with our secrets in mind; make sure the credentials
    // that travelled with the request cannot leak through them.
    const HttpRequest& request = transfer.request;
    std::string_view secrets[] = {
        request.basic_user.has_value() ? std::string_view(*request.basic_user) : "",
        request.basic_password, ProxyPassword(request.proxy)};
    // The longest first, so a secret inside another cannot leave the rest of that one behind.
    std::sort(std::begin(secrets), std::end(secrets),
              [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
    for (std::string_view secret : secrets)
      error = Redact(std::move(error), secret);
    response.error = std::move(error);
  }

  CURL* Acquire() {
    if (idle_handles_.empty()) return curl_easy_init();
    CURL* easy = idle_handles_.back();
    idle_handles_.pop_back();
    return easy;
  }

  void Release(CURL* easy) {
    // Open connections belong to the multi handle's cache, so a reset handle loses nothing worth
    // keeping; the free list only saves the allocation, and is bounded like the connections.
    if (idle_handles_.size() >= options_.max_total_connections) {
      curl_easy_cleanup(easy);
      return;
    }
    curl_easy_reset(easy);
    idle_handles_.push_back(easy);
  }

  CURLM* multi_;
  Options options_;
  std::vector<std::unique_ptr<Transfer>> queued_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_handles_;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const Options& options) {
  if (Status s = GlobalInit(); !s.ok()) return s;
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return Status::Internal("curl_multi_init failed");
  CURLMcode rc = curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                   static_cast<long>(options.max_connections_per_host));
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                           static_cast<long>(options.max_total_connections));
  }
  // The default cache size follows the number of handles added at once, which would close idle
  // keep-alive connections whenever traffic is light.
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                           static_cast<long>(options.max_total_connections));
  }
  if (rc != CURLM_OK) {
    curl_multi_cleanup(multi);
    return Status::Internal(std::string("configuring libcurl: ") + curl_multi_strerror(rc));
  }
  return std::unique_ptr<HttpClient>(std::make_unique<CurlHttpClient>(multi, options));
}

}  // namespace gatilho
