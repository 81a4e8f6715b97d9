// Proxy: the transparent proxy's request handler, for an ERP that can only change the base URL
// it sends its Focus NFe API calls to.
//
// Purpose: each request is forwarded unchanged to the API and its answer relayed unchanged, as
// it streams in; meanwhile the proxy learns from the exchange. The company is found by the
// request's token (HTTP Basic user, or the `token` query parameter): its requests go to its
// base_url, and afterwards every request that reached the API is reported to the loop
// (IntakeLink::ErpRequest) for the token's budget, a 2xx emission registers the document's
// watch in the store, and a synchronous answer (an NFC-e emission, a cancellation, a CC-e) is
// handed to the loop (IntakeLink::SyncAnswerSeen) to become an event without a poll. A request
// whose token is no company's goes to Options::upstream and teaches nothing. The proxy never
// stores or logs a token, nor a target's query (which may carry one).
//
// Threads: Handle() runs on the HttpServer's connection threads, several at once, and blocks
// for the upstream exchange. SetCompanies() may run on any thread (the loop, on reload).
// Lifetime: `store`, `link`, `forwarder` and `clock` must outlive it; it must outlive the
// HttpServer that calls Handle().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/intake_link.h"
#include "config/config.h"
#include "core/clock.h"
#include "net/http_forwarder.h"
#include "net/http_server.h"
#include "store/store.h"

namespace gatilho {

class Proxy {
 public:
  struct Options {
    std::string upstream = std::string(kProductionBaseUrl);  // for tokens of no company
    // Answers of requests that may be synchronous are kept up to this size to be read after
    // relaying; a larger one is relayed but not learned from.
    size_t max_learned_body_bytes = 1u << 20;
  };

  Proxy(Store& store, IntakeLink& link, HttpForwarder& forwarder, const Clock& clock,
        Options options);

  // Replaces the token -> company map (keeps SHA-256 digests of the tokens, never the tokens)
  // with the companies of `companies`.
  void SetCompanies(const std::map<std::string, CompanyConfig>& companies);

  // The HttpServer handler: forwards `request`, relays the answer through `writer` and learns
  // from it. An upstream that cannot be reached is answered 502 (504 on a timeout) with a JSON
  // error body naming the upstream host.
  void Handle(const ServerRequest& request, ResponseWriter& writer);

 private:
  struct Company {
    std::string id;
    std::string cnpj;
    std::string base_url;
  };
  using CompanyMap = std::map<std::string, std::vector<Company>>;  // by Sha256Hex(token)

  // The company whose token the request carries; nullptr for none. Several companies may share
  // a token: the one whose CNPJ the body names wins, else the first by id.
  const Company* FindCompany(const CompanyMap& companies, const std::string& token_digest,
                             const std::string& body) const;
  // Logs, once per token, that a token matched no company.
  void WarnUnknownToken(const std::string& token);

  Store& store_;
  IntakeLink& link_;
  HttpForwarder& forwarder_;
  const Clock& clock_;
  Options options_;
  std::mutex mu_;
  std::shared_ptr<const CompanyMap> companies_;  // replaced whole under mu_
  std::set<std::string> warned_handles_;         // under mu_
};

}  // namespace gatilho
