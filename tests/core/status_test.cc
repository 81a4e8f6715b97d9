#include "core/status.h"

#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/result.h"

namespace gatilho {
namespace {

TEST(Status, DefaultIsOk) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().ToString(), "OK");
}

TEST(Status, ToStringNamesCodeAndMessage) {
  EXPECT_EQ(Status::NotFound("watch acme/nfe/1").ToString(), "not found: watch acme/nfe/1");
}

TEST(Status, WithContextPrefixesTheMessageAndKeepsTheCode) {
  Status s = Status::IoError("disk full").WithContext("writing /var/lib/gatilho");
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.message(), "writing /var/lib/gatilho: disk full");
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status::InvalidArgument("no");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

TEST(Digest, Sha256HexMatchesKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, MaskSecretShowsOnlyTheLastFourCharacters) {
  EXPECT_EQ(MaskSecret("tok-1234567890abcd"), "********abcd");
  EXPECT_EQ(MaskSecret("short"), "********");
  EXPECT_EQ(MaskSecret(""), "");
}

}  // namespace
}  // namespace gatilho
