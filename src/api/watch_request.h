// The checks every intake (the CLI's `watch`, the local API) applies to a watch the ERP asks
// for, and where its first poll goes, so that each intake accepts exactly the same watches.
// Messages name what is wrong and what to do; they never hold a token.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "core/document_type.h"
#include "core/result.h"
#include "store/store.h"

namespace gatilho {

// The configuration of company `id`, or NotFound naming it, the file it would need and the
// companies known.
Result<const CompanyConfig*> FindWatchCompany(const Config& config, std::string_view id);

// The type `name` names, when `company` watches it; InvalidArgument saying which names exist or
// where to enable the type otherwise.
Result<DocType> CheckWatchType(const CompanyConfig& company, std::string_view name);

// Where the first poll of a new watch of (company, type) goes at now_ms: where this company's
// documents of this type usually finish, as the daemon learned it and stored it; the type's
// default when the store holds no model. Never fails: an unreadable model gives the default.
int64_t FirstPollMs(Store& store, const std::string& company, DocType type, int64_t now_ms);

}  // namespace gatilho
