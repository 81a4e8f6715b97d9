// IntakeInbox: the daemon's side of IntakeLink, a mailbox between the intakes' threads and the
// loop.
//
// The intakes (local API, proxy, spool folder) call the IntakeLink methods from their own
// threads; each stores the message under a mutex and wakes the loop's HttpClient::Poll(). The
// loop takes the messages at the start of a turn and acts on them on its own thread, and
// publishes its figures back with Publish(). Messages are held in memory only: what must not be
// lost (watches, events) the intakes write to the store before they tell the loop.
//
// Lifetime: created before the intakes start and destroyed after they stop; `http` must outlive
// it.
#pragma once

#include <mutex>
#include <vector>

#include "api/intake_link.h"
#include "net/http_client.h"

namespace gatilho {

class IntakeInbox : public IntakeLink {
 public:
  explicit IntakeInbox(HttpClient& http) : http_(http) {}

  void StoreChanged() override;
  void ErpRequest(ErpRequestSeen seen) override;
  void SyncAnswerSeen(SyncAnswer answer) override;
  RuntimeFigures Figures() const override;

  // The loop's side. Each Take* returns what arrived since the last call and empties it.
  bool TakeStoreChanged();
  std::vector<ErpRequestSeen> TakeErpRequests();
  std::vector<SyncAnswer> TakeSyncAnswers();
  void Publish(RuntimeFigures figures);

 private:
  HttpClient& http_;
  mutable std::mutex mu_;
  bool store_changed_ = false;
  std::vector<ErpRequestSeen> erp_requests_;
  std::vector<SyncAnswer> sync_answers_;
  RuntimeFigures figures_;
};

}  // namespace gatilho
