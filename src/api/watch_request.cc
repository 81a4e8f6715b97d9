#include "api/watch_request.h"

#include <string>

#include "schedule/learner.h"
#include "schedule/poll_policy.h"

namespace gatilho {

Result<const CompanyConfig*> FindWatchCompany(const Config& config, std::string_view id) {
  if (const CompanyConfig* company = config.Find(id)) return company;
  std::string known;
  for (const auto& [name, company] : config.companies) {
    if (!known.empty()) known += ", ";
    known += name;
  }
  const std::string name(id);
  return Status::NotFound("unknown company '" + name + "': no " + name + ".conf in " +
                          config.global.companies_dir + " (known: " + known + ")");
}

Result<DocType> CheckWatchType(const CompanyConfig& company, std::string_view name) {
  std::optional<DocType> type = ParseDocType(name);
  if (!type) {
    return Status::InvalidArgument("unknown document type '" + std::string(name) +
                                   "'; use one of " + std::string(DocTypeNames()));
  }
  if (company.types.count(*type) == 0) {
    return Status::InvalidArgument("company " + company.id + " does not watch " +
                                   std::string(DocTypeName(*type)) +
                                   " documents; add it to `types` in " + company.source_file);
  }
  return *type;
}

int64_t FirstPollMs(Store& store, const std::string& company, DocType type, int64_t now_ms) {
  PollPolicy policy = PollPolicy::Defaults();
  Learner learner(&policy, Learner::Options{});
  Result<std::vector<ModelRecord>> models = store.Models();
  if (models.ok()) {
    for (const ModelRecord& model : *models) {
      if (model.company == company && model.type == type) {
        learner.Load(model.company, model.type, model.bytes);
      }
    }
  }
  return policy.FirstPoll(company, type, now_ms);
}

}  // namespace gatilho
