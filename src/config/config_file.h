// ConfigFile: one INI file as gatilho reads it, parsed by Boost.Program_options, with the line
// of every setting so that errors can point at it. It checks which keys exist and how often they
// appear; what the values mean is for the caller to validate.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_errors.h"
#include "core/result.h"

namespace gatilho {

// A key a config file may hold.
struct ConfigKey {
  std::string_view name;    // "cnpj", or "webhook.url" for `url` under a [webhook] section
  bool repeatable = false;  // may appear more than once, e.g. webhook.secret for rotation
};

// One `key = value` setting.
struct ConfigEntry {
  std::string key;    // with its section: "webhook.url"
  std::string value;  // without surrounding blanks and without a trailing `# comment`
  int line = 0;       // 1-based; 0 when it could not be located in the text
};

class ConfigFile {
 public:
  // Reads and parses the file at `path`. Fails with IoError naming the path when it cannot be
  // read, and with InvalidArgument naming the line when a line is not `key = value`,
  // `[section]`, a comment or blank. Unknown keys (with a suggestion when one is close) and
  // repeated keys that are not `repeatable` are added to `errors` and left out of the entries;
  // their text is never echoed when it might be a secret written without its key.
  static Result<ConfigFile> Read(const std::string& path, std::span<const ConfigKey> known_keys,
                                 ConfigErrors& errors);

  const std::string& path() const { return path_; }

  // The setting of `key`, or nullptr when the file does not set it. For a repeatable key, the
  // first occurrence.
  const ConfigEntry* Find(std::string_view key) const;

  // Every setting of `key`, in file order.
  std::vector<const ConfigEntry*> FindAll(std::string_view key) const;

  // "path:line" for `entry`, or just the path when its line is unknown; the prefix of every
  // message about that setting.
  std::string Locate(const ConfigEntry& entry) const;

 private:
  ConfigFile(std::string path, std::vector<ConfigEntry> entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}

  std::string path_;
  std::vector<ConfigEntry> entries_;
};

// `text` without the blanks (space, tab, CR, LF) around it, trimmed as the parser trims values.
std::string_view TrimBlanks(std::string_view text);

// The whole contents of the file at `path`, or IoError naming the path and the reason.
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace gatilho
