#include "config/secret_file_access.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace gatilho {
namespace {

std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Whether this process runs with `gid`, as its effective group or a supplementary one: then a
// file of that group is gatilho's own (the packaged set-up is root:gatilho 0640).
bool RunsWithGroup(gid_t gid) {
  if (getegid() == gid) return true;
  int count = getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  count = getgroups(count, groups.data());
  for (int i = 0; i < count; ++i) {
    if (groups[static_cast<size_t>(i)] == gid) return true;
  }
  return false;
}

std::string GroupName(gid_t gid) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(4096);
  if (getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return std::string("'") + found->gr_name + "'";
  }
  return "gid " + std::to_string(gid);
}

}  // namespace

SecretFileAccess CheckSecretFileAccess(const std::string& path, std::string_view what) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return {};
  const std::string holds = path + " holds " + std::string(what);
  const std::string mode = " (mode " + OctalMode(info.st_mode) + ")";
  if ((info.st_mode & S_IWOTH) != 0) {
    return {SecretFileAccess::Verdict::kRefuse,
            holds + " and any user may change it" + mode +
                ", so gatilho refuses it: whoever changes it could send the events to a URL of "
                "their own; run chmod 600 " +
                path};
  }
  if ((info.st_mode & S_IROTH) != 0) {
    return {SecretFileAccess::Verdict::kWarn,
            holds + " and any user may read it" + mode + "; run chmod 600 " + path +
                ", or chmod 640 " + path + " with a group only the user gatilho runs as is in"};
  }
  const bool group_reads = (info.st_mode & S_IRGRP) != 0;
  const bool group_writes = (info.st_mode & S_IWGRP) != 0;
  if ((group_reads || group_writes) && !RunsWithGroup(info.st_gid)) {
    std::string may = group_reads && group_writes ? "read and change"
                      : group_reads               ? "read"
                                                  : "change";
    return {SecretFileAccess::Verdict::kWarn,
            holds + " and the members of group " + GroupName(info.st_gid) + " may " + may + " it" +
                mode + ", a group gatilho does not run with; run chmod 600 " + path +
                ", or chgrp it to the group gatilho runs as"};
  }
  return {};
}

}  // namespace gatilho
