#include "sim/webhook_receiver.h"

#include <boost/json.hpp>
#include <chrono>
#include <ctime>

namespace gatilho::sim {
namespace {

namespace json = boost::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse Answer(int status, std::string body = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

std::string ClockTime(int64_t wall_ms) {
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm parts{};
  localtime_r(&seconds, &parts);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &parts);
  return text;
}

// What the delivery says happened: the daemon's event header, else the status inside the body
// (top level for the API's own payload, under "data" for the envelope).
std::string EventOf(const HttpRequest& request) {
  const std::string_view event = request.Header("x-gatilho-event");
  if (!event.empty()) return std::string(event);
  boost::system::error_code ec;
  const json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return "-";
  const json::object* object = &body.as_object();
  if (const json::value* data = object->if_contains("data"); data && data->is_object()) {
    object = &data->as_object();
  }
  const json::value* status = object->if_contains("status");
  return status && status->is_string() ? std::string(status->as_string()) : "-";
}

std::string OrDash(std::string_view text) {
  return text.empty() ? "-" : std::string(text);
}

}  // namespace

WebhookReceiver::WebhookReceiver(ReceiverSettings settings, std::ostream& out)
    : settings_(std::move(settings)),
      out_(out),
      status_(settings_.status),
      delay_ms_(settings_.delay_ms),
      fail_first_left_(settings_.fail_first),
      fail_rate_(settings_.fail_rate),
      hang_rate_(settings_.hang_rate),
      hang_ms_(settings_.hang_ms),
      rng_(std::random_device{}()) {}

bool WebhookReceiver::Open(std::string* error) {
  if (settings_.record_path.empty()) return true;
  record_.open(settings_.record_path, std::ios::app);
  if (!record_) {
    *error = "cannot open record file " + settings_.record_path;
    return false;
  }
  return true;
}

HttpResponse WebhookReceiver::Handle(const HttpRequest& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path.rfind("/__receiver/", 0) == 0) return Control(request, path);
  if (request.method != "POST") {
    return Answer(405, R"({"erro":"webhooks são entregues com POST"})");
  }
  return Deliver(request);
}

HttpResponse WebhookReceiver::Deliver(const HttpRequest& request) {
  // Verified before taking the lock: the HMAC is the costly part and needs no shared state.
  const bool checked = settings_.verifier.has_value();
  const bool signature_ok =
      checked &&
      settings_.verifier->Verify(request.Header("webhook-id"), request.Header("webhook-timestamp"),
                                 request.Header("webhook-signature"), request.body, NowMs() / 1000);

  std::lock_guard lock(mu_);
  ++received_;
  int status = status_;
  int delay_ms = delay_ms_;
  bool late = false;
  if (checked && !signature_ok) {
    ++rejected_signature_;
    status = 401;
  } else if (fail_first_left_ > 0) {
    --fail_first_left_;
    status = 503;
  } else if (fail_rate_ > 0 || hang_rate_ > 0) {
    const double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (roll < fail_rate_) {
      ++failures_injected_;
      // Without Retry-After, so the sender treats both as plain failures, not as a pause.
      status = failures_injected_ % 2 == 0 ? 500 : 503;
    } else if (roll < fail_rate_ + hang_rate_) {
      ++hangs_injected_;
      late = true;
      delay_ms += hang_ms_;
    }
  }
  Report(request, signature_ok, status, late);
  HttpResponse response = Answer(status);
  response.delay_ms = delay_ms;
  return response;
}

void WebhookReceiver::Report(const HttpRequest& request, bool signature_ok, int status, bool late) {
  const int64_t now_ms = NowMs();
  const bool accepted = status >= 200 && status < 300;
  const std::string id(request.Header("webhook-id"));
  if (accepted) {
    ++accepted_;
    if (!seen_ids_.insert(id).second) ++duplicates_;
    if (record_.is_open()) {
      const json::object line{{"received_ms", now_ms},
                              {"webhook_id", id},
                              {"timestamp", request.Header("webhook-timestamp")},
                              {"signature", request.Header("webhook-signature")},
                              {"event", request.Header("x-gatilho-event")},
                              {"company", request.Header("x-gatilho-company")},
                              {"document", request.Header("x-gatilho-document")},
                              {"signature_ok", signature_ok},
                              {"late", late},
                              {"body", request.body}};
      // Flushed per line so that a test or benchmark reading the file sees every delivery the
      // moment it was answered.
      record_ << json::serialize(line) << '\n' << std::flush;
    }
  }
  if (settings_.quiet) return;
  out_ << ClockTime(now_ms) << "  " << OrDash(request.Header("x-gatilho-company")) << "  "
       << OrDash(request.Header("x-gatilho-document")) << "  " << EventOf(request)
       << "  id=" << OrDash(id) << "  sig="
       << (!settings_.verifier ? "unchecked"
           : signature_ok      ? "ok"
                               : "bad");
  if (!accepted) out_ << "  answered=" << status;
  if (late) out_ << "  answer held " << hang_ms_ << " ms";
  out_ << std::endl;
}

HttpResponse WebhookReceiver::Control(const HttpRequest& request, const std::string& path) {
  if (path == "/__receiver/stats" && request.method == "GET") {
    std::lock_guard lock(mu_);
    return Answer(200, json::serialize(json::object{{"received", received_},
                                                    {"accepted", accepted_},
                                                    {"rejected_signature", rejected_signature_},
                                                    {"duplicates", duplicates_},
                                                    {"failures_injected", failures_injected_},
                                                    {"hangs_injected", hangs_injected_}}));
  }
  if (path == "/__receiver/mode" && request.method == "POST") {
    boost::system::error_code ec;
    const json::value body = json::parse(request.body, ec);
    const json::object* object = !ec && body.is_object() ? &body.as_object() : nullptr;
    const json::value* status = object ? object->if_contains("status") : nullptr;
    const json::value* delay = object ? object->if_contains("delay_ms") : nullptr;
    const json::value* fail_rate = object ? object->if_contains("fail_rate") : nullptr;
    const json::value* hang_rate = object ? object->if_contains("hang_rate") : nullptr;
    const json::value* hang = object ? object->if_contains("hang_ms") : nullptr;
    const auto whole = [](const json::value* v, int64_t min, int64_t max) {
      return !v || (v->is_int64() && v->as_int64() >= min && v->as_int64() <= max);
    };
    const auto probability = [](const json::value* v) {
      return !v || (v->is_number() && v->to_number<double>() >= 0 && v->to_number<double>() <= 1);
    };
    const bool valid = object && whole(status, 200, 599) && whole(delay, 0, 600000) &&
                       whole(hang, 0, 600000) && probability(fail_rate) && probability(hang_rate);
    if (!valid) {
      return Answer(400, R"({"erro":"esperado {\"status\":200..599,\"delay_ms\":0..600000,)"
                         R"(\"fail_rate\":0..1,\"hang_rate\":0..1,\"hang_ms\":0..600000}"})");
    }
    std::lock_guard lock(mu_);
    // Fields left out keep their current value, so a test can change the delay alone.
    if (status) status_ = static_cast<int>(status->as_int64());
    if (delay) delay_ms_ = static_cast<int>(delay->as_int64());
    if (fail_rate) fail_rate_ = fail_rate->to_number<double>();
    if (hang_rate) hang_rate_ = hang_rate->to_number<double>();
    if (hang) hang_ms_ = static_cast<int>(hang->as_int64());
    return Answer(200, json::serialize(json::object{{"status", status_},
                                                    {"delay_ms", delay_ms_},
                                                    {"fail_rate", fail_rate_},
                                                    {"hang_rate", hang_rate_},
                                                    {"hang_ms", hang_ms_}}));
  }
  return Answer(404, R"({"erro":"rota desconhecida"})");
}

}  // namespace gatilho::sim
