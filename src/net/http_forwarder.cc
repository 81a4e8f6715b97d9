#include "net/http_forwarder.h"

#include <curl/curl.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <set>
#include <utility>

namespace gatilho {

namespace {

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// The names a Connection header lists are hop-by-hop for that message too.
std::set<std::string> ConnectionListed(const HeaderList& headers) {
  std::set<std::string> out;
  for (const auto& [name, value] : headers) {
    if (Lowercase(name) != "connection") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = Trim(rest.substr(0, comma));
      if (!item.empty()) out.insert(Lowercase(item));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return out;
}

// One exchange's state, reached from libcurl's callbacks.
struct Exchange {
  const HttpForwarder::OnHead* on_head = nullptr;
  const HttpForwarder::OnBody* on_body = nullptr;
  ForwardResult* result = nullptr;
  HeaderList pending;  // headers of the answer being read, until its blank line
  int pending_status = 0;
  Status stopped_by;  // a callback's error, which aborts the transfer
};

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new status line: an interim 1xx answer's headers (or a previous answer's) are dropped.
    exchange->pending.clear();
    size_t space = line.find(' ');
    exchange->pending_status = space == std::string_view::npos
                                   ? 0
                                   : std::atoi(std::string(line.substr(space + 1, 3)).c_str());
    return size * count;
  }
  if (Trim(line).empty()) {
    if (exchange->pending_status >= 100 && exchange->pending_status < 200) return size * count;
    ForwardResult& result = *exchange->result;
    if (result.answered) return size * count;  // trailers after a chunked body
    std::set<std::string> listed = ConnectionListed(exchange->pending);
    for (auto& [name, value] : exchange->pending) {
      std::string lower = Lowercase(name);
      if (IsHopByHopHeader(lower) || listed.count(lower) != 0) continue;
      result.headers.emplace_back(std::move(name), std::move(value));
    }
    exchange->pending.clear();
    result.http_status = exchange->pending_status;
    result.answered = true;
    Status s = (*exchange->on_head)(result.http_status, result.headers);
    if (!s.ok()) {
      exchange->stopped_by = s;
      return 0;
    }
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  exchange->pending.emplace_back(std::string(Trim(line.substr(0, colon))),
                                 std::string(Trim(line.substr(colon + 1))));
  return size * count;
}

size_t OnBodyChunk(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view chunk(data, size * count);
  exchange->result->body_bytes += chunk.size();
  Status s = (*exchange->on_body)(chunk);
  if (!s.ok()) {
    exchange->stopped_by = s;
    return 0;  // libcurl aborts with CURLE_WRITE_ERROR
  }
  return size * count;
}

}  // namespace

// Idle upstream connections, DNS answers and TLS sessions shared by every Forward(), under one
// mutex per kind of data, as libcurl's share interface asks.
struct HttpForwarder::Shared {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Shared*>(user)->locks.at(data).lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Shared*>(user)->locks.at(data).unlock();
  }
  ~Shared() {
    if (share != nullptr) curl_share_cleanup(share);
  }
};

Result<std::unique_ptr<HttpForwarder>> HttpForwarder::Create(Options options) {
  static std::once_flag once;
  static CURLcode init = CURLE_OK;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(init));
  }
  auto shared = std::make_unique<Shared>();
  shared->share = curl_share_init();
  if (shared->share == nullptr) return Status::Internal("curl_share_init failed");
  CURLSHcode rc = curl_share_setopt(shared->share, CURLSHOPT_LOCKFUNC, &Shared::Lock);
  if (rc == CURLSHE_OK)
    rc = curl_share_setopt(shared->share, CURLSHOPT_UNLOCKFUNC, &Shared::Unlock);
  if (rc == CURLSHE_OK) rc = curl_share_setopt(shared->share, CURLSHOPT_USERDATA, shared.get());
  for (curl_lock_data data :
       {CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION, CURL_LOCK_DATA_CONNECT}) {
    if (rc == CURLSHE_OK) rc = curl_share_setopt(shared->share, CURLSHOPT_SHARE, data);
  }
  if (rc != CURLSHE_OK) {
    return Status::Internal(std::string("curl_share_setopt failed: ") + curl_share_strerror(rc));
  }
  return std::unique_ptr<HttpForwarder>(new HttpForwarder(std::move(options), std::move(shared)));
}

HttpForwarder::HttpForwarder(Options options, std::unique_ptr<Shared> shared)
    : options_(std::move(options)), shared_(std::move(shared)) {}

HttpForwarder::~HttpForwarder() = default;

std::string HttpForwarder::HostOf(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::string_view authority = url.substr(start, url.find_first_of("/?#", start) - start);
  // Credentials in the URL are nobody's business in a message.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  return std::string(authority);
}

ForwardResult HttpForwarder::Forward(std::string_view base_url, const ForwardRequest& request,
                                     const OnHead& on_head, const OnBody& on_body) {
  ForwardResult result;
  const std::string host = HostOf(base_url);
  std::string url(base_url);
  if (url.ends_with('/') && request.target.starts_with('/')) url.pop_back();
  url += request.target;

  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    result.status = Status::Internal("cannot create a libcurl handle");
    return result;
  }
  Exchange exchange{&on_head, &on_body, &result, {}, 0, Status::Ok()};
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_slist* header_list = nullptr;

  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_SHARE, shared_->share);
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout_ms));
  // A redirect is the ERP's to follow: the proxy relays it as it came.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle.empty()) set(CURLOPT_CAINFO, options_.ca_bundle.c_str());
  // The request goes to the API, never through an environment proxy the ERP did not choose.
  set(CURLOPT_NOPROXY, "*");
  // No CURLOPT_ACCEPT_ENCODING: the bytes travel compressed or not, as the API sent them.
  set(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  set(CURLOPT_HTTP_TRANSFER_DECODING, 1L);
  set(CURLOPT_HEADERFUNCTION, &OnHeaderLine);
  set(CURLOPT_HEADERDATA, &exchange);
  set(CURLOPT_WRITEFUNCTION, &OnBodyChunk);
  set(CURLOPT_WRITEDATA, &exchange);

  if (request.method == "GET" && request.body.empty()) {
    set(CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else {
    set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "POST" || !request.body.empty()) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      set(CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  std::set<std::string> listed = ConnectionListed(request.headers);
  bool has_accept = false;
  auto append = [&](const std::string& line) {
    if (curl_slist* grown = curl_slist_append(header_list, line.c_str())) {
      header_list = grown;
    } else if (rc == CURLE_OK) {
      rc = CURLE_OUT_OF_MEMORY;
    }
  };
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lowercase(name);
    // libcurl writes Host (the upstream's) and Content-Length (of the body it sends) itself;
    // Expect was settled between the ERP and our server.
    if (IsHopByHopHeader(lower) || listed.count(lower) != 0 || lower == "host" ||
        lower == "content-length" || lower == "expect") {
      continue;
    }
    if (lower == "accept") has_accept = true;
    // "Name:" would tell libcurl to drop the header; "Name;" sends it empty.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  // libcurl's own defaults would add to what the ERP sent.
  if (!has_accept) append("Accept:");
  append("Expect:");
  set(CURLOPT_HTTPHEADER, header_list);

  if (rc == CURLE_OK) rc = curl_easy_perform(easy);
  curl_slist_free_all(header_list);
  curl_easy_cleanup(easy);

  if (rc == CURLE_OK) {
    result.status = Status::Ok();
    return result;
  }
  if (!exchange.stopped_by.ok()) {
    result.status = exchange.stopped_by;
    return result;
  }
  result.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  // libcurl's own words name the host, the port and the system's reason; they never quote the
  // URL's path or query, but the target is scrubbed anyway since its query may hold a token.
  std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  if (size_t at = reason.find(request.target); !request.target.empty() && at != std::string::npos) {
    reason.replace(at, request.target.size(), "/...");
  }
  result.status = Status::Unavailable("upstream " + host + ": " + reason);
  return result;
}

}  // namespace gatilho
