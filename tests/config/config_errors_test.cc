#include "config/config_errors.h"

#include <gtest/gtest.h>

namespace gatilho {
namespace {

TEST(ConfigErrors, NothingRecordedIsOk) {
  ConfigErrors errors;
  EXPECT_TRUE(errors.ToStatus().ok());
  EXPECT_EQ(errors.size(), 0u);
}

TEST(ConfigErrors, MessagesAreJoinedOnePerLineInOrder) {
  ConfigErrors errors;
  errors.Add("a.conf:1: first");
  errors.Add("a.conf:2: second");

  Status status = errors.ToStatus();

  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), "a.conf:1: first\na.conf:2: second");
}

TEST(ConfigErrors, OneIoErrorMakesTheWholeLoadAnIoError) {
  ConfigErrors errors;
  errors.Add("a.conf:1: typo");
  errors.AddStatus(Status::IoError("cannot open /x"));

  Status status = errors.ToStatus();

  EXPECT_EQ(status.code(), Status::Code::kIoError);
  EXPECT_EQ(status.message(), "a.conf:1: typo\ncannot open /x");
  EXPECT_EQ(errors.size(), 2u);
}

}  // namespace
}  // namespace gatilho
