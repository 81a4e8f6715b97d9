#include "api/spool_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gatilho {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const SpoolCompanies kCompanies = {
    {"acme", {DocType::kNfe, DocType::kNfse}},
    {"beta", {DocType::kNfe}},
};

TEST(SpoolFile, ReadsOneWatchPerLineSkippingBlanksAndComments) {
  Result<std::vector<WatchKey>> keys = ParseSpoolFile(
      "# pedidos de hoje\n"
      "acme nfe 1234\n"
      "\n"
      "   \t\n"
      "  # indented comment\n"
      "acme\tnfse\tNF-99_a\r\n"
      "beta  nfe   X1",
      kCompanies);

  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::vector<WatchKey>{{"acme", DocType::kNfe, "1234"},
                                          {"acme", DocType::kNfse, "NF-99_a"},
                                          {"beta", DocType::kNfe, "X1"}}));
}

TEST(SpoolFile, SameWatchTwiceCountsOnce) {
  Result<std::vector<WatchKey>> keys =
      ParseSpoolFile("acme nfe 1\nacme nfe 2\nacme nfe 1\n", kCompanies);

  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->size(), 2u);
}

TEST(SpoolFile, ByteOrderMarkIsAllowed) {
  Result<std::vector<WatchKey>> keys = ParseSpoolFile(
      "\xEF\xBB\xBF"
      "acme nfe 1\n",
      kCompanies);

  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->front().company, "acme");
}

TEST(SpoolFile, UnknownCompanyRejectsTheWholeFileNamingTheLine) {
  Result<std::vector<WatchKey>> keys =
      ParseSpoolFile("acme nfe 1\nzeta nfe 2\nacme nfe 3\n", kCompanies);

  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(keys.status().message(), HasSubstr("nothing in the file was watched"));
  EXPECT_THAT(keys.status().message(),
              HasSubstr("line 2: unknown company 'zeta'; use the id of a company file (known: "
                        "acme, beta)"));
}

TEST(SpoolFile, UnknownTypeAndTypeTheCompanyDoesNotWatchAreRejected) {
  Result<std::vector<WatchKey>> keys = ParseSpoolFile("acme nfx 1\nbeta nfse 2\n", kCompanies);

  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("2 bad lines"));
  EXPECT_THAT(keys.status().message(),
              HasSubstr("line 1: unknown document type 'nfx'; use one of"));
  EXPECT_THAT(keys.status().message(),
              HasSubstr("line 2: company beta does not watch nfse documents (it watches nfe)"));
}

// Found reviewing fuzz/spool_file_fuzz.cc: the reason, which goes to the log and the .reason
// file, quoted a bad company or type as it came, escape sequences and megabytes included.
TEST(SpoolFile, AReasonQuotesABadFieldWithoutControlCharactersAndCutsItShort) {
  const std::string long_company(5000, 'z');
  Result<std::vector<WatchKey>> keys =
      ParseSpoolFile("ac\x1b[2Jme nfe 1\nacme n\rfe 2\n" + long_company + " nfe 3\n", kCompanies);

  ASSERT_FALSE(keys.ok());
  const std::string message = keys.status().message();
  EXPECT_THAT(message, HasSubstr("line 1: unknown company 'ac?[2Jme'"));
  EXPECT_THAT(message, HasSubstr("line 2: unknown document type 'n?fe'"));
  EXPECT_THAT(message, HasSubstr("line 3: unknown company '" + std::string(64, 'z') + "...'"));
  EXPECT_LT(message.size(), 1000u);
  for (char c : message) {
    if (c != '\n') EXPECT_GE(static_cast<unsigned char>(c), 0x20) << message;
  }
}

TEST(SpoolFile, InvalidRefIsRejectedWithTheCliRule) {
  Result<std::vector<WatchKey>> keys = ParseSpoolFile("acme nfe pedido/12\n", kCompanies);

  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("line 1: ref 'pedido/12'"));
}

TEST(SpoolFile, WrongNumberOfFieldsIsRejected) {
  Result<std::vector<WatchKey>> keys = ParseSpoolFile("acme nfe\nacme nfe 1 2\n", kCompanies);

  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(),
              HasSubstr("line 1: expected `<company> <type> <ref>` (3 fields separated by "
                        "spaces), found 2 fields"));
  EXPECT_THAT(keys.status().message(), HasSubstr("line 2: expected"));
}

TEST(SpoolFile, ManyBadLinesListTheFirstTenAndCountTheRest) {
  std::string text;
  for (int i = 0; i < 25; ++i)
    text += "nobody nfe " + std::to_string(i) + "\n";

  Result<std::vector<WatchKey>> keys = ParseSpoolFile(text, kCompanies);

  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("25 bad lines"));
  EXPECT_THAT(keys.status().message(), HasSubstr("line 10:"));
  EXPECT_THAT(keys.status().message(), Not(HasSubstr("line 11:")));
  EXPECT_THAT(keys.status().message(), HasSubstr("... and 15 more"));
}

TEST(SpoolFile, FileOverTheLimitsIsRejected) {
  SpoolLimits limits;
  limits.max_bytes = 30;
  limits.max_lines = 2;

  Result<std::vector<WatchKey>> big =
      ParseSpoolFile("acme nfe 1\nacme nfe 2\nacme nfe 3\n", kCompanies, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("33 bytes, more than the limit of 30"));

  Result<std::vector<WatchKey>> tall = ParseSpoolFile("acme nfe 1\n\n\n", kCompanies, limits);
  ASSERT_FALSE(tall.ok());
  EXPECT_THAT(tall.status().message(), HasSubstr("more than 2 lines"));
}

TEST(SpoolFile, FileWithoutWatchesOrWithNulBytesIsRejected) {
  Result<std::vector<WatchKey>> empty = ParseSpoolFile("# nothing today\n\n", kCompanies);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("holds no watch"));

  Result<std::vector<WatchKey>> binary =
      ParseSpoolFile(std::string("acme nfe 1\n\0\0", 13), kCompanies);
  ASSERT_FALSE(binary.ok());
  EXPECT_THAT(binary.status().message(), HasSubstr("NUL bytes"));
}

}  // namespace
}  // namespace gatilho
