// raw_curl_loop: the ceiling of the HTTP layer. A bare libcurl multi loop that issues the same
// requests the daemon's poller issues (same URLs, Basic auth, Accept header, keep-alive, same
// concurrency), and nothing else: no store, no parsing, no scheduling. gatilho's throughput is
// reported as a share of this one's against the same simulator.
//
//   raw_curl_loop URL_TEMPLATE TOKEN PREFIX COUNT CONCURRENCY SECONDS [HOST_CONNECTIONS] [BODY]
//
// URL_TEMPLATE contains "{ref}", replaced by PREFIX + the index zero-padded to 7 digits (the
// refs seed_watches writes). Without BODY it GETs refs 0..COUNT-1 round and round until
// SECONDS have passed. With BODY it POSTs each ref once (how the benchmark emits documents into
// the simulator) and stops. HOST_CONNECTIONS caps connections to the host (default:
// CONCURRENCY), the way CURLMOPT_MAX_HOST_CONNECTIONS caps the daemon's.
// Prints one JSON object: requests, seconds, rate, and counts by status class.
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Slot {
  CURL* easy = nullptr;
  std::string url;
  curl_slist* headers = nullptr;
};

size_t Discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

std::string Ref(const std::string& prefix, long index) {
  char digits[24];
  std::snprintf(digits, sizeof(digits), "%07ld", index);
  return prefix + digits;
}

std::string UrlFor(const std::string& url_template, const std::string& ref) {
  std::string url = url_template;
  const size_t at = url.find("{ref}");
  if (at != std::string::npos) url.replace(at, 5, ref);
  return url;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: raw_curl_loop URL_TEMPLATE TOKEN PREFIX COUNT CONCURRENCY SECONDS "
                 "[HOST_CONNECTIONS] [BODY]\n");
    return 2;
  }
  const std::string url_template = argv[1];
  const std::string token = argv[2];
  const std::string prefix = argv[3];
  const long count = std::atol(argv[4]);
  const long concurrency = std::atol(argv[5]);
  const double seconds = std::atof(argv[6]);
  const long host_connections = argc > 7 ? std::atol(argv[7]) : concurrency;
  const bool post = argc > 8;
  const std::string body = post ? argv[8] : "";
  if (count <= 0 || concurrency <= 0 || host_connections <= 0) {
    std::fprintf(stderr, "raw_curl_loop: COUNT, CONCURRENCY and HOST_CONNECTIONS must be > 0\n");
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, host_connections);
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, concurrency);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, concurrency);

  long next_ref = 0;
  long requests = 0;
  long ok = 0;
  long client_errors = 0;
  long other = 0;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  auto more = [&] { return post ? next_ref < count : elapsed() < seconds; };

  // Sets a slot up for the next ref and hands it to the multi handle. The options mirror
  // net/http_client.cc's, so the difference measured is gatilho's own work.
  auto start = [&](Slot& slot) {
    slot.url = UrlFor(url_template, Ref(prefix, next_ref));
    next_ref = post ? next_ref + 1 : (next_ref + 1) % count;
    curl_easy_reset(slot.easy);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    curl_easy_setopt(slot.easy, CURLOPT_URL, slot.url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 20'000L);
    curl_easy_setopt(slot.easy, CURLOPT_USERAGENT, "raw_curl_loop");
    curl_easy_setopt(slot.easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(slot.easy, CURLOPT_USERNAME, token.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_PASSWORD, "");
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, slot.headers);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &Discard);
    if (post) {
      curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.data());
    } else {
      curl_easy_setopt(slot.easy, CURLOPT_HTTPGET, 1L);
    }
    curl_multi_add_handle(multi, slot.easy);
  };

  std::vector<Slot> slots(static_cast<size_t>(concurrency));
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    slot.headers = curl_slist_append(nullptr, "Accept: application/json");
    if (post) slot.headers = curl_slist_append(slot.headers, "Content-Type: application/json");
    if (more()) start(slot);
  }

  // Counted here rather than taken from curl_multi_perform's `running`, which drops to 0 when
  // every transfer finished inside one perform call, before the replacements were added.
  long in_flight = 0;
  for (Slot& slot : slots) {
    if (slot.url.empty()) continue;
    ++in_flight;
  }
  while (in_flight > 0) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      Slot* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&slot));
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      ++requests;
      if (message->data.result == CURLE_OK && status >= 200 && status < 300) {
        ++ok;
      } else if (message->data.result == CURLE_OK && status >= 400 && status < 500) {
        ++client_errors;
      } else {
        ++other;
      }
      curl_multi_remove_handle(multi, easy);
      --in_flight;
      if (more()) {
        start(*slot);
        ++in_flight;
      }
    }
    if (in_flight > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double took = elapsed();
  std::printf(
      "{\"requests\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"ok\":%ld,\"client_errors\":%ld,"
      "\"other\":%ld,\"concurrency\":%ld,\"host_connections\":%ld}\n",
      requests, took, static_cast<double>(requests) / took, ok, client_errors, other, concurrency,
      host_connections);

  for (Slot& slot : slots) {
    curl_easy_cleanup(slot.easy);
    curl_slist_free_all(slot.headers);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return other == 0 ? 0 : 1;
}
