#include "config/config_file.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

namespace gatilho {
namespace {

namespace po = boost::program_options;

std::string Where(const std::string& path, int line) {
  return line > 0 ? path + ":" + std::to_string(line) : path;
}

// Where each key sits in the text, and the first line Boost will refuse. Boost does not report
// line numbers, so this walks the text with the same rules as its config file parser: a `#`
// starts a comment anywhere, blanks around names and values are dropped, `[name]` prefixes the
// keys after it with "name.", and any other non-blank line must hold a '='.
struct KeyLines {
  std::map<std::string, std::vector<int>, std::less<>> lines_of_key;
  int first_bad_line = 0;
};

KeyLines ScanKeyLines(std::string_view text) {
  KeyLines result;
  std::string section_prefix;
  int line_number = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    line = TrimBlanks(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      section_prefix = std::string(line.substr(1, line.size() - 2)) + ".";
      continue;
    }
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      if (result.first_bad_line == 0) result.first_bad_line = line_number;
      continue;
    }
    std::string key = section_prefix + std::string(TrimBlanks(line.substr(0, equals)));
    result.lines_of_key[key].push_back(line_number);
  }
  return result;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// A base64 secret or an authorization value written without its key still parses as a key
// (its '=' padding looks like an assignment), so an unknown key is only quoted when it looks
// like the name of a setting.
bool LooksLikeAKeyName(std::string_view key) {
  if (key.empty() || key.size() > 48) return false;
  if (key.find("whsec_") != std::string_view::npos) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string KnownKeyList(std::span<const ConfigKey> known_keys) {
  std::string list;
  for (const ConfigKey& known : known_keys) {
    if (!list.empty()) list += ", ";
    list += known.name;
  }
  return list;
}

// A key written to accept a certificate gatilho does not trust (verify_tls = false, insecure =
// true, ssl_verify_peer = 0...): no such switch exists, and the message must say what to do.
bool LooksLikeTlsSwitch(std::string_view key) {
  std::string lower(key);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  constexpr std::string_view kWords[] = {"verify", "insecure", "skip_tls", "skip_ssl",
                                         "no_tls", "no_ssl",   "tls_skip", "ssl_skip"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](std::string_view word) { return lower.find(word) != std::string::npos; });
}

std::string UnknownKeyMessage(std::string_view key, std::span<const ConfigKey> known_keys) {
  if (!LooksLikeAKeyName(key)) {
    return "this line is not a known setting (its text is not shown in case it is a secret); "
           "write settings as key = value, known keys: " +
           KnownKeyList(known_keys);
  }
  std::string message = "unknown key '" + std::string(key) + "'; ";
  if (LooksLikeTlsSwitch(key)) {
    return message +
           "TLS certificate verification cannot be turned off in gatilho. For an ERP whose "
           "certificate a private CA signs, set ca_bundle = <that CA's PEM file> in the "
           "company's [webhook] section; an API or operator_url must present a certificate the "
           "system's CAs trust";
  }
  // Every line after a [section] header belongs to that section, so a key can be right and
  // still land in the wrong place.
  for (const ConfigKey& known : known_keys) {
    size_t known_dot = known.name.find('.');
    size_t key_dot = key.find('.');
    if (known_dot == std::string_view::npos && key_dot != std::string_view::npos &&
        key.substr(key_dot + 1) == known.name) {
      return message + "'" + std::string(known.name) + "' must come before the [" +
             std::string(key.substr(0, key_dot)) + "] section";
    }
    if (known_dot != std::string_view::npos && key_dot == std::string_view::npos &&
        known.name.substr(known_dot + 1) == key) {
      return message + "'" + std::string(key) + "' belongs in the [" +
             std::string(known.name.substr(0, known_dot)) + "] section";
    }
  }
  const ConfigKey* closest = nullptr;
  size_t closest_distance = 3;
  for (const ConfigKey& known : known_keys) {
    size_t distance = EditDistance(key, known.name);
    if (distance < closest_distance) {
      closest = &known;
      closest_distance = distance;
    }
  }
  if (closest != nullptr) return message + "did you mean '" + std::string(closest->name) + "'?";
  // A right key under the wrong section: `dir` below [webhook] when it belongs in [file].
  if (size_t key_dot = key.find('.'); key_dot != std::string_view::npos) {
    std::string_view short_key = key.substr(key_dot + 1);
    for (const ConfigKey& known : known_keys) {
      size_t known_dot = known.name.find('.');
      if (known_dot != std::string_view::npos && known.name.substr(known_dot + 1) == short_key) {
        return message + "'" + std::string(short_key) + "' belongs in the [" +
               std::string(known.name.substr(0, known_dot)) + "] section";
      }
    }
  }
  return message + "known keys: " + KnownKeyList(known_keys);
}

bool IsRepeatable(std::string_view key, std::span<const ConfigKey> known_keys) {
  return std::any_of(known_keys.begin(), known_keys.end(), [key](const ConfigKey& known) {
    return known.name == key && known.repeatable;
  });
}

}  // namespace

Result<ConfigFile> ConfigFile::Read(const std::string& path, std::span<const ConfigKey> known_keys,
                                    ConfigErrors& errors) {
  Result<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  KeyLines key_lines = ScanKeyLines(*text);

  po::options_description description;
  for (const ConfigKey& known : known_keys) {
    description.add_options()(std::string(known.name).c_str(), po::value<std::string>());
  }
  std::vector<po::option> options;
  try {
    std::istringstream stream(*text);
    options = po::parse_config_file(stream, description, /*allow_unregistered=*/true).options;
  } catch (const po::error&) {
    // Boost's own message quotes the offending line, which may be a token pasted on its own.
    return Status::InvalidArgument(
        Where(path, key_lines.first_bad_line) +
        ": this line is not 'key = value', a [section] header or a # comment; fix or remove it");
  }

  std::map<std::string, int, std::less<>> occurrences;
  std::vector<ConfigEntry> entries;
  for (const po::option& option : options) {
    const std::string& key = option.string_key;
    int occurrence = occurrences[key]++;
    int line = 0;
    auto located = key_lines.lines_of_key.find(key);
    if (located != key_lines.lines_of_key.end() &&
        occurrence < static_cast<int>(located->second.size())) {
      line = located->second[occurrence];
    }
    if (option.unregistered) {
      errors.Add(Where(path, line) + ": " + UnknownKeyMessage(key, known_keys));
      continue;
    }
    if (occurrence > 0 && !IsRepeatable(key, known_keys)) {
      std::string first = located != key_lines.lines_of_key.end()
                              ? " (first at line " + std::to_string(located->second.front()) + ")"
                              : "";
      errors.Add(Where(path, line) + ": " + key + " is set more than once" + first +
                 "; keep only one");
      continue;
    }
    entries.push_back({key, option.value.empty() ? "" : option.value.front(), line});
  }
  return ConfigFile(path, std::move(entries));
}

const ConfigEntry* ConfigFile::Find(std::string_view key) const {
  for (const ConfigEntry& entry : entries_) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

std::vector<const ConfigEntry*> ConfigFile::FindAll(std::string_view key) const {
  std::vector<const ConfigEntry*> found;
  for (const ConfigEntry& entry : entries_) {
    if (entry.key == key) found.push_back(&entry);
  }
  return found;
}

std::string ConfigFile::Locate(const ConfigEntry& entry) const {
  return Where(path_, entry.line);
}

std::string_view TrimBlanks(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  size_t begin = text.find_first_not_of(kBlanks);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kBlanks) - begin + 1);
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  std::string contents;
  char buffer[4096];
  size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    contents.append(buffer, read);
  }
  if (std::ferror(file.get())) {
    return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  }
  return contents;
}

}  // namespace gatilho
