// SpoolFile: reads one file an ERP dropped into the spool folder into the watches it asks for.
//
// The format, for ERPs that can only write files:
//   - UTF-8 text (a leading byte-order mark is allowed), lines ending in LF or CRLF;
//   - one watch per line: `<company> <type> <ref>`, separated by spaces or tabs, e.g.
//     `acme nfe 1234`; the company is the id of a loaded company file, the type one the company
//     watches (its `types`), the ref as `gatilho watch` accepts it;
//   - blank lines and lines whose first non-blank character is `#` are ignored;
//   - at most SpoolLimits::max_bytes bytes and max_lines lines.
// A file is all or nothing: any bad line rejects the whole file, with a reason naming each bad
// line (up to a few) and what to fix. The same watch twice in one file counts once.
//
// Pure: no I/O, no clock; safe to call from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/document_type.h"
#include "core/result.h"
#include "core/watch.h"

namespace gatilho {

struct SpoolLimits {
  size_t max_bytes = 1u << 20;  // 1 MiB
  size_t max_lines = 50'000;    // lines of any kind, comments included
};

// The companies the spool may register watches for: id -> the document types it watches.
using SpoolCompanies = std::map<std::string, std::set<DocType>>;

// The watches `text` asks for, in file order without repeats; InvalidArgument whose message
// says which lines are wrong and how, or that the file is too large or holds no watch.
Result<std::vector<WatchKey>> ParseSpoolFile(std::string_view text, const SpoolCompanies& companies,
                                             const SpoolLimits& limits = {});

}  // namespace gatilho
