#include "core/watch.h"

namespace gatilho {

std::string WatchKey::Encode() const {
  std::string out;
  out.reserve(company.size() + ref.size() + 3);
  out += company;
  out += '\0';
  out += static_cast<char>(type);
  out += '\0';
  out += ref;
  return out;
}

std::optional<WatchKey> WatchKey::Decode(std::string_view bytes) {
  size_t sep = bytes.find('\0');
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  if (bytes.size() < sep + 4 || bytes[sep + 2] != '\0') return std::nullopt;
  auto type = static_cast<uint8_t>(bytes[sep + 1]);
  bool known = false;
  for (DocType t : kAllDocTypes)
    known = known || static_cast<uint8_t>(t) == type;
  if (!known) return std::nullopt;
  WatchKey key;
  key.company = std::string(bytes.substr(0, sep));
  key.type = static_cast<DocType>(type);
  key.ref = std::string(bytes.substr(sep + 3));
  return key;
}

std::string WatchKey::ToString() const {
  std::string out = company;
  out += '/';
  out += DocTypeName(type);
  out += '/';
  out += ref;
  return out;
}

std::string_view WatchStateName(WatchState state) {
  switch (state) {
    case WatchState::kPending:
      return "pending";
    case WatchState::kFollowing:
      return "following";
    case WatchState::kDone:
      return "done";
    case WatchState::kPaused:
      return "paused";
  }
  return "unknown";
}

}  // namespace gatilho
