// Who besides gatilho may read or change a file that holds a secret (a company file with its
// token, a token file, a private key...). The config module asks this for every such file it
// loads: a file any user may change is refused, since whoever changes it can point the webhook
// at their own URL with their own secret; one others may read is a warning. Only the mode bits
// and the group are looked at, never the contents, so no message can carry a secret.
#pragma once

#include <string>
#include <string_view>

namespace gatilho {

struct SecretFileAccess {
  enum class Verdict {
    kPrivate,  // only its owner and groups this process runs with may read or change it
    kWarn,     // others may read it (or a group this process is not in may read or change it)
    kRefuse,   // any user may change it
  };
  Verdict verdict = Verdict::kPrivate;
  // For kWarn and kRefuse: what is wrong and the chmod that fixes it, naming the file and its
  // mode (e.g. "... any user may read it (mode 0644); run chmod 600 FILE ..."). Empty otherwise.
  std::string message;
};

// Judges the file at `path`, which holds `what` (a phrase such as "the API token"). A file
// that cannot be stat'ed is kPrivate here: whoever reads it reports that.
SecretFileAccess CheckSecretFileAccess(const std::string& path, std::string_view what);

}  // namespace gatilho
