#include "cli/cli_support.h"

#include <gtest/gtest.h>

namespace gatilho::cli {
namespace {

TEST(FormatTable, AlignsColumnsTwoSpacesApartAndNumbersToTheRight) {
  std::vector<std::string> lines =
      FormatTable({"COMPANY", "TYPE", "SEEN"},
                  {{"acme", "nfe", "15"}, {"beta-longer", "nfse", "7"}}, {2}, "  ");

  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "  COMPANY      TYPE  SEEN");
  EXPECT_EQ(lines[1], "  acme         nfe     15");
  EXPECT_EQ(lines[2], "  beta-longer  nfse     7");
}

TEST(FormatTable, CountsUtf8CharactersNotBytesAndDropsTrailingBlanks) {
  std::vector<std::string> lines =
      FormatTable({"STATUS", "NOTE"}, {{"não_encontrado", ""}, {"ok", "x"}});

  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "STATUS          NOTE");
  EXPECT_EQ(lines[1], "não_encontrado") << "no padding after the last non-empty cell";
  EXPECT_EQ(lines[2], "ok              x");
}

TEST(FormatTable, RowsWithoutHeaderAndRowsOfDifferentLengths) {
  std::vector<std::string> lines = FormatTable({}, {{"#1", "503"}, {"#2", "204", "12 ms"}});

  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "#1  503");
  EXPECT_EQ(lines[1], "#2  204  12 ms");
}

}  // namespace
}  // namespace gatilho::cli
