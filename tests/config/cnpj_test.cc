#include "config/cnpj.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gatilho {
namespace {

using ::testing::HasSubstr;

TEST(NormalizeCnpj, StripsTheUsualPunctuation) {
  Result<std::string> cnpj = NormalizeCnpj("11.222.333/0001-81");
  ASSERT_TRUE(cnpj.ok()) << cnpj.status().ToString();
  EXPECT_EQ(*cnpj, "11222333000181");
}

TEST(NormalizeCnpj, AcceptsBareDigits) {
  Result<std::string> cnpj = NormalizeCnpj("12345678000195");
  ASSERT_TRUE(cnpj.ok()) << cnpj.status().ToString();
  EXPECT_EQ(*cnpj, "12345678000195");
}

TEST(NormalizeCnpj, RejectsWrongFirstCheckDigit) {
  Result<std::string> cnpj = NormalizeCnpj("12345678000185");
  ASSERT_FALSE(cnpj.ok());
  EXPECT_THAT(cnpj.status().message(), HasSubstr("wrong check digits"));
}

TEST(NormalizeCnpj, RejectsWrongSecondCheckDigit) {
  Result<std::string> cnpj = NormalizeCnpj("12345678000194");
  ASSERT_FALSE(cnpj.ok());
  EXPECT_THAT(cnpj.status().message(), HasSubstr("wrong check digits"));
}

TEST(NormalizeCnpj, RejectsTheWrongNumberOfDigits) {
  Result<std::string> cnpj = NormalizeCnpj("11.222.333/0001-8");
  ASSERT_FALSE(cnpj.ok());
  EXPECT_THAT(cnpj.status().message(), HasSubstr("has 13 digits; a CNPJ has 14"));
}

TEST(NormalizeCnpj, RejectsOtherCharacters) {
  Result<std::string> cnpj = NormalizeCnpj("11 222 333 0001 81");
  ASSERT_FALSE(cnpj.ok());
  EXPECT_THAT(cnpj.status().message(), HasSubstr("only digits and the punctuation . / -"));
}

TEST(NormalizeCnpj, RejectsARepeatedDigitThoughItsCheckDigitsMatch) {
  Result<std::string> cnpj = NormalizeCnpj("00000000000000");
  ASSERT_FALSE(cnpj.ok());
  EXPECT_THAT(cnpj.status().message(), HasSubstr("placeholder"));
}

}  // namespace
}  // namespace gatilho
