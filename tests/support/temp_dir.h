// TempDir: a fresh directory under $TMPDIR (or /tmp) that is removed with everything in it when
// the object goes out of scope. Tests use real files and a real LMDB environment inside it.
#pragma once

#include <string>

namespace gatilho::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Writes `contents` to path()/name (creating parent folders) and returns the full path.
  std::string WriteFile(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

// The whole contents of a file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace gatilho::testing
