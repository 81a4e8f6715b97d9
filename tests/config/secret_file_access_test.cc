#include "config/secret_file_access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/temp_dir.h"

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Verdict = SecretFileAccess::Verdict;

class SecretFileAccessTest : public ::testing::Test {
 protected:
  // A file holding a secret, with `mode`.
  std::string SecretFile(mode_t mode) {
    std::string path = dir_.WriteFile("acme.token", "tok-the-secret-itself\n");
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  testing::TempDir dir_;
};

TEST_F(SecretFileAccessTest, FileOnlyItsOwnerMayReadIsPrivate) {
  SecretFileAccess access = CheckSecretFileAccess(SecretFile(0600), "the API token");

  EXPECT_EQ(access.verdict, Verdict::kPrivate);
  EXPECT_EQ(access.message, "");
}

TEST_F(SecretFileAccessTest, GroupThisProcessRunsWithMayRead) {
  // The packaged set-up: root:gatilho 0640, read by the daemon through its group.
  std::string path = SecretFile(0640);
  ASSERT_EQ(chown(path.c_str(), static_cast<uid_t>(-1), getegid()), 0);

  EXPECT_EQ(CheckSecretFileAccess(path, "the API token").verdict, Verdict::kPrivate);
}

TEST_F(SecretFileAccessTest, FileAnyUserMayReadIsAWarningWithTheFix) {
  std::string path = SecretFile(0644);

  SecretFileAccess access = CheckSecretFileAccess(path, "the API token");

  EXPECT_EQ(access.verdict, Verdict::kWarn);
  EXPECT_EQ(access.message, path +
                                " holds the API token and any user may read it (mode 0644); "
                                "run chmod 600 " +
                                path + ", or chmod 640 " + path +
                                " with a group only the user gatilho runs as is in");
  EXPECT_THAT(access.message, Not(HasSubstr("tok-the-secret-itself")));
}

TEST_F(SecretFileAccessTest, FileAnyUserMayChangeIsRefused) {
  for (mode_t mode : {0666, 0602, 0622}) {
    std::string path = SecretFile(mode);

    SecretFileAccess access = CheckSecretFileAccess(path, "secrets (token)");

    EXPECT_EQ(access.verdict, Verdict::kRefuse) << std::oct << mode;
    EXPECT_THAT(access.message, HasSubstr(path + " holds secrets (token) and any user may change "
                                                 "it"));
    EXPECT_THAT(access.message, HasSubstr("gatilho refuses it"));
    EXPECT_THAT(access.message, HasSubstr("run chmod 600 " + path));
  }
}

TEST_F(SecretFileAccessTest, GroupThisProcessIsNotInIsAWarningNamingTheGroup) {
  std::string path = SecretFile(0660);
  // A group this process does not run with; changing a file's group to it needs privileges.
  constexpr gid_t kForeignGroup = 65534;
  if (getegid() == kForeignGroup ||
      chown(path.c_str(), static_cast<uid_t>(-1), kForeignGroup) != 0) {
    GTEST_SKIP() << "cannot give the file a group this process is not in";
  }

  SecretFileAccess access = CheckSecretFileAccess(path, "the ERP's bearer token");

  EXPECT_EQ(access.verdict, Verdict::kWarn);
  EXPECT_THAT(access.message, HasSubstr(path + " holds the ERP's bearer token and the members of "
                                               "group "));
  EXPECT_THAT(access.message, HasSubstr("may read and change it (mode 0660), a group gatilho "
                                        "does not run with; run chmod 600 " +
                                        path));
}

TEST_F(SecretFileAccessTest, MissingFileIsLeftToWhoeverReadsIt) {
  EXPECT_EQ(CheckSecretFileAccess(dir_.Sub("absent"), "the API token").verdict, Verdict::kPrivate);
}

}  // namespace
}  // namespace gatilho
