#include "api/spool_file.h"

#include <algorithm>

#include "fiscal/api_paths.h"

namespace gatilho {
namespace {

// A file with hundreds of bad lines needs the first few to show what is wrong, not all of them.
constexpr size_t kMaxProblemsListed = 10;
// A field quoted in a reason is cut here: a line may be as long as the file.
constexpr size_t kMaxFieldShown = 64;

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i]))
      ++i;
    size_t start = i;
    while (i < line.size() && !IsBlank(line[i]))
      ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// A field of the file as a reason quotes it: the reason goes to the log and the .reason file,
// where control characters would garble the operator's terminal, so they show as '?'.
std::string Shown(std::string_view field) {
  bool cut = field.size() > kMaxFieldShown;
  if (cut) {
    size_t end = kMaxFieldShown;
    while (end > 0 && (static_cast<unsigned char>(field[end]) & 0xC0) == 0x80)
      --end;
    field = field.substr(0, end);
  }
  std::string out;
  for (char c : field) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
  }
  if (cut) out += "...";
  return out;
}

std::string KnownCompanies(const SpoolCompanies& companies) {
  std::string out;
  for (const auto& [id, types] : companies) {
    if (!out.empty()) out += ", ";
    out += id;
  }
  return out.empty() ? "none" : out;
}

std::string TypesOf(const std::set<DocType>& types) {
  std::string out;
  for (DocType type : types) {
    if (!out.empty()) out += ", ";
    out += DocTypeName(type);
  }
  return out;
}

// What is wrong with one non-blank, non-comment line, or "" when it names a watch (*key).
std::string LineProblem(std::string_view line, const SpoolCompanies& companies, WatchKey* key) {
  std::vector<std::string_view> fields = SplitFields(line);
  if (fields.size() != 3) {
    return "expected `<company> <type> <ref>` (3 fields separated by spaces), found " +
           std::to_string(fields.size()) + " field" + (fields.size() == 1 ? "" : "s");
  }
  auto company = companies.find(std::string(fields[0]));
  if (company == companies.end()) {
    return "unknown company '" + Shown(fields[0]) +
           "'; use the id of a company file (known: " + KnownCompanies(companies) + ")";
  }
  std::optional<DocType> type = ParseDocType(fields[1]);
  if (!type) {
    return "unknown document type '" + Shown(fields[1]) + "'; use one of " +
           std::string(DocTypeNames());
  }
  if (company->second.count(*type) == 0) {
    return "company " + company->first + " does not watch " + std::string(DocTypeName(*type)) +
           " documents (it watches " + TypesOf(company->second) +
           "); add the type to its `types` or fix the line";
  }
  std::string problem = RefProblem(fields[2]);
  if (!problem.empty()) return problem;
  *key = WatchKey{company->first, *type, std::string(fields[2])};
  return "";
}

}  // namespace

Result<std::vector<WatchKey>> ParseSpoolFile(std::string_view text, const SpoolCompanies& companies,
                                             const SpoolLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidArgument(
        "the file has " + std::to_string(text.size()) + " bytes, more than the limit of " +
        std::to_string(limits.max_bytes) + "; split it into smaller files");
  }
  if (text.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(
        "the file holds NUL bytes, so it is not a text file; write one `<company> <type> <ref>` "
        "per line in UTF-8");
  }
  // Editors on Windows start UTF-8 files with a byte-order mark.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  std::vector<WatchKey> keys;
  std::set<WatchKey> seen;
  std::vector<std::string> problems;
  size_t bad_lines = 0;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    if (line_number > limits.max_lines) {
      return Status::InvalidArgument("the file has more than " + std::to_string(limits.max_lines) +
                                     " lines; split it into smaller files");
    }
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);

    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    WatchKey key;
    std::string problem = LineProblem(line, companies, &key);
    if (!problem.empty()) {
      if (++bad_lines <= kMaxProblemsListed) {
        problems.push_back("line " + std::to_string(line_number) + ": " + problem);
      }
      continue;
    }
    if (seen.insert(key).second) keys.push_back(std::move(key));
  }
  if (!problems.empty()) {
    std::string message = std::to_string(bad_lines) + " bad line" + (bad_lines == 1 ? "" : "s") +
                          ", so nothing in the file was watched; fix " +
                          (bad_lines == 1 ? "it" : "them") + " and drop the file again:";
    for (const std::string& problem : problems)
      message += "\n  " + problem;
    if (bad_lines > problems.size()) {
      message += "\n  ... and " + std::to_string(bad_lines - problems.size()) + " more";
    }
    return Status::InvalidArgument(message);
  }
  if (keys.empty()) {
    return Status::InvalidArgument(
        "the file holds no watch (only blank lines and comments); write one "
        "`<company> <type> <ref>` per line");
  }
  return keys;
}

}  // namespace gatilho
