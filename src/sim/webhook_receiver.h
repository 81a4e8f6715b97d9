// WebhookReceiver: the request handler of `gatilho-sim receiver`, a stand-in for the ERP endpoint
// that the daemon delivers to.
//
// Any POST outside /__receiver/ is a delivery: its signature is checked when secrets are
// configured, then it is answered with the configured status (after the first `fail_first`
// deliveries, which get 503), optionally late. Faults can be drawn per delivery: a failure (500
// or 503) at fail_rate, and a hang at hang_rate: the delivery is accepted and recorded (marked
// "late") but its answer is held for hang_ms, past the sender's timeout, as an ERP that
// processes a request and then stalls. Accepted deliveries are counted, deduplicated by
// webhook-id, appended to a JSON-lines record file and printed as one human line. /__receiver/
// paths expose the counters and change the answer mode at run time.
//
// Threads: Handle() is called concurrently from the server's io threads; one mutex guards the
// counters, the mode and both outputs, which is plenty for webhook rates.
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <unordered_set>

#include "sim/http_server.h"
#include "sim/signature_verifier.h"

namespace gatilho::sim {

struct ReceiverSettings {
  std::optional<SignatureVerifier> verifier;  // nullopt: signatures are not checked
  std::string record_path;                    // empty: no record file
  bool quiet = false;                         // no human lines
  int fail_first = 0;
  int status = 204;
  int delay_ms = 0;      // added to every answer: the slow mode
  double fail_rate = 0;  // in [0, 1]
  double hang_rate = 0;  // in [0, 1]; drawn after fail_rate, exclusive with it
  int hang_ms = 60'000;
};

class WebhookReceiver {
 public:
  // Human lines go to `out`, which must outlive the receiver.
  WebhookReceiver(ReceiverSettings settings, std::ostream& out);

  // Opens the record file for appending, if one is configured. Returns false with a reason in
  // `error` when it cannot be opened.
  bool Open(std::string* error);

  // Answers one request. Never throws for any input.
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Deliver(const HttpRequest& request);
  HttpResponse Control(const HttpRequest& request, const std::string& path);
  // REQUIRES: mu_ held.
  void Report(const HttpRequest& request, bool signature_ok, int status, bool late);

  const ReceiverSettings settings_;
  std::ostream& out_;

  std::mutex mu_;
  std::ofstream record_;                      // GUARDED_BY(mu_)
  int status_;                                // GUARDED_BY(mu_)
  int delay_ms_;                              // GUARDED_BY(mu_)
  int fail_first_left_;                       // GUARDED_BY(mu_)
  double fail_rate_;                          // GUARDED_BY(mu_)
  double hang_rate_;                          // GUARDED_BY(mu_)
  int hang_ms_;                               // GUARDED_BY(mu_)
  std::minstd_rand rng_;                      // GUARDED_BY(mu_)
  int64_t failures_injected_ = 0;             // GUARDED_BY(mu_)
  int64_t hangs_injected_ = 0;                // GUARDED_BY(mu_)
  int64_t received_ = 0;                      // GUARDED_BY(mu_)
  int64_t accepted_ = 0;                      // GUARDED_BY(mu_)
  int64_t rejected_signature_ = 0;            // GUARDED_BY(mu_)
  int64_t duplicates_ = 0;                    // GUARDED_BY(mu_)
  std::unordered_set<std::string> seen_ids_;  // GUARDED_BY(mu_)
};

}  // namespace gatilho::sim
