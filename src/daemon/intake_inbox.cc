#include "daemon/intake_inbox.h"

#include <utility>

namespace gatilho {

void IntakeInbox::StoreChanged() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    store_changed_ = true;
  }
  http_.Wakeup();
}

void IntakeInbox::ErpRequest(ErpRequestSeen seen) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    erp_requests_.push_back(std::move(seen));
  }
  http_.Wakeup();
}

void IntakeInbox::SyncAnswerSeen(SyncAnswer answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    sync_answers_.push_back(std::move(answer));
  }
  http_.Wakeup();
}

RuntimeFigures IntakeInbox::Figures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return figures_;
}

bool IntakeInbox::TakeStoreChanged() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(store_changed_, false);
}

std::vector<ErpRequestSeen> IntakeInbox::TakeErpRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(erp_requests_, {});
}

std::vector<SyncAnswer> IntakeInbox::TakeSyncAnswers() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(sync_answers_, {});
}

void IntakeInbox::Publish(RuntimeFigures figures) {
  std::lock_guard<std::mutex> lock(mu_);
  figures_ = std::move(figures);
}

}  // namespace gatilho
